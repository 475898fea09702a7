"""Tagging with a trained checkpoint: output with shards and resume (collection), checkpoint loading,
and the Tagger API. Documents, readers and writers are bioner_pl.formats."""

from bioner_pl.formats.document import Document, Entity  # noqa: F401
from bioner_pl.tagging.tagger import Tagger  # noqa: F401
