"""Entry point of bioner_pl.experiments.corpus_stats (python -m bioner_pl.corpus_stats --help)."""

from bioner_pl.experiments.corpus_stats import main

if __name__ == "__main__":
    main()
