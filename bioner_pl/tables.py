"""Entry point of bioner_pl.experiments.tables (the same command: python -m bioner_pl.tables --help)."""

from bioner_pl.experiments.tables import main

if __name__ == "__main__":
    main()
