"""Entry point of bioner_pl.experiments.partners (the same command: python -m bioner_pl.partners --help)."""

from bioner_pl.experiments.partners import main

if __name__ == "__main__":
    main()
