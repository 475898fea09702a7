"""Entry point of bioner_pl.experiments.bench (the same command: python -m bioner_pl.bench --help)."""

from bioner_pl.experiments.bench import main

if __name__ == "__main__":
    main()
