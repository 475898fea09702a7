"""Experiment analysis: the paper's tables (tables), runs into the repository (results), paired
bootstrap comparisons (compare), the partner search (partners), the benchmark (bench)."""
