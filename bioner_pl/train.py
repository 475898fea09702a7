"""Train one tagger: python -m bioner_pl.train model=cs main=ncbi aux=bionlp09 [overrides]
(python -m bioner_pl.train --help). The job itself is bioner_pl.training.runner.train."""

from __future__ import annotations

import logging
import os
import sys
import traceback
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from bioner_pl import cluster, config  # noqa: F401  (config: registers the resolvers the configs use)
from bioner_pl.paper import run_f1

# Lightning's own noise: our module (not the DataModule) deliberately keeps `lengths` on the CPU,
# and Lightning 2.6 trips over a torch deprecation inside its own pytree helper.
warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
# A frozen transformer stays in eval mode while the rest trains: that is the point of it.
warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode at the start of training.*")
# A resumed run's checkpoint folder is not empty by design; a fresh job into one is refused before Lightning looks.
warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
# Outside a SLURM job, Lightning's advice to start the run with srun is about nothing the user did
# (it fires wherever SLURM is installed); inside one it may be a real mistake, so it stays.
if not os.environ.get("SLURM_JOB_ID"):
    warnings.filterwarnings("ignore", message=".*The `srun` command is available on your system but is not used.*")


class NoAdvertisements(logging.Filter):
    """Lightning's tips about products to install are not about the run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


for name in ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero"):  # the one in use
    logging.getLogger(name).addFilter(NoAdvertisements())


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> dict | None:
    # Here, not above: Lightning takes seconds to import, which --help and a mistyped option need not wait for.
    from bioner_pl.training.runner import honour_omp_num_threads, input_error, train

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    honour_omp_num_threads()
    cluster.watch_for_termination()
    try:
        return train(cfg, out_dir, run_f1)
    except Exception as err:
        if cluster.requeue_under_way(err):  # no error.txt, no result: the next attempt has them
            raise SystemExit(f"bioner-pl: SLURM took this attempt away ({err}); the requeued job continues") from err
        # A failed job leaves error.txt beside its outputs, so `make tables` can mark it.
        (out_dir / "error.txt").write_text("".join(traceback.format_exception(err)))
        user_error = input_error(err)
        if user_error is not None and HydraConfig.get().mode == RunMode.RUN:
            print(f"bioner-pl: error: {user_error}", file=sys.stderr)
            sys.exit(2)
        raise  # multirun: Hydra records the failure and runs the other jobs


if __name__ == "__main__":
    main()
