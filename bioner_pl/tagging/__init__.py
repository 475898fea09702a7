"""Tagging with a trained checkpoint: documents and entities (the shared data model), readers and
writers, output with shards and resume (collection), checkpoint loading, and the Tagger API."""

from bioner_pl.tagging.documents import Document, Entity  # noqa: F401
from bioner_pl.tagging.tagger import Tagger  # noqa: F401
