"""Entry point of bioner_pl.experiments.results (the same command: python -m bioner_pl.results --help)."""

from bioner_pl.experiments.results import main

if __name__ == "__main__":
    main()
