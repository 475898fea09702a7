"""Tagging with a trained checkpoint: the Python API (Tagger), and streams of documents in and out."""

from bioner_pl.tagging.tagger import Document, Entity, Tagger  # noqa: F401
