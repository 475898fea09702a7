"""The data side: corpora (configs and folders: corpus), file formats (columns, standoff), tag
schemes, the tokenizer; vocabularies, word vectors (embeddings), sentences as ids (encoding),
batches (batching) and the Lightning DataModule (datamodule), which import torch and are not
imported here."""

from bioner_pl.data.columns import Sentence, read_column_corpus, read_columns, read_iob  # noqa: F401
from bioner_pl.data.corpus import (  # noqa: F401
    DATA_DIR_ENV, SPLITS, UPSTREAM_URL, Corpus, download, known_corpora, load_split, resolve, split_path, subsample,
)
