"""`make results`: finished runs into the repository, with their dev curves."""

import json

from bioner_pl.experiments import results

HEADER = "epoch,lr-RMSprop,step,train/loss,val/f1,val/precision,val/recall\n"  # as Lightning's CSVLogger writes it


def test_dev_curve_joins_a_resumed_runs_logs_and_leaves_out_the_final_revalidation(tmp_path):
    run = tmp_path / "runs" / "stm" / "seed1"
    for version, rows in [(0, ["0,,10,0.9,,,", "0,,10,,0.5,0.4,0.6", "1,,20,,0.6,0.5,0.7"]),  # killed in epoch 3
                          (1, ["1,,20,,0.61,0.51,0.71",  # epoch 2 again: the resumed run's own
                               "2,,30,,0.7,0.6,0.8", "3,,30,,0.7,0.6,0.8"])]:  # epoch index 3: best.ckpt re-validated
        (run / f"logs/version_{version}").mkdir(parents=True)
        (run / f"logs/version_{version}/metrics.csv").write_text(HEADER + "\n".join(rows) + "\n")
    (run / "metrics.json").write_text(json.dumps({"epochs": 3, "best_epoch": 3}))
    (run / "test_predictions.tsv").write_text("a\tO\tO\n")
    assert results.collect(tmp_path / "runs", tmp_path / "results") == 1
    assert (tmp_path / "results/stm/seed1/dev_curve.csv").read_text() == \
        "epoch,precision,recall,f1\n1,0.4,0.6,0.5\n2,0.51,0.71,0.61\n3,0.6,0.8,0.7\n"
