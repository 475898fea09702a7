"""bioner-pl: multi-task biomedical NER with cross-sharing structure (Wang et al. 2019)."""

from bioner_pl.errors import InputError

__all__ = ["InputError", "Tagger"]


def __getattr__(name):  # `from bioner_pl import Tagger` without importing torch for everything else
    if name == "Tagger":
        from bioner_pl.tagging import Tagger

        return Tagger
    raise AttributeError(f"module 'bioner_pl' has no attribute {name!r}")
