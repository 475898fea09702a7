"""bioner-pl: multi-task biomedical NER with cross-sharing structure (Wang et al. 2019)."""

from bioner_pl.errors import InputError

__all__ = ["InputError"]
