"""Entry point of bioner_pl.experiments.compare (the same command: python -m bioner_pl.compare --help)."""

from bioner_pl.experiments.compare import main

if __name__ == "__main__":
    main()
