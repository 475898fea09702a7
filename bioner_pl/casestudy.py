"""Entry point of bioner_pl.experiments.casestudy (python -m bioner_pl.casestudy --help)."""

from bioner_pl.experiments.casestudy import main

if __name__ == "__main__":
    main()
