"""The data side: corpora (configs and folders: corpus), standoff mentions turned into tagged
sentences (standoff), tag schemes, the tokenizer; vocabularies, word vectors (embeddings),
sentences as ids (encoding), batches (batching) and the Lightning DataModule (datamodule). File
formats are bioner_pl.formats. The names below load on first use, so that importing one module
of this package (the tokenizer, from the formats) does not import them all."""

import importlib

_NAMES = {
    "bioner_pl.formats.conll": ("Sentence", "read_column_corpus", "read_columns", "read_iob"),
    "bioner_pl.data.corpus": ("DATA_DIR_ENV", "SPLITS", "UPSTREAM_URL", "Corpus", "download", "known_corpora",
                              "load_split", "resolve", "split_path", "subsample"),
}
_HOME = {name: module for module, names in _NAMES.items() for name in names}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'bioner_pl.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


__all__ = sorted(_HOME)
