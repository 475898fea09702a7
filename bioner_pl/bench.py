"""Benchmark: python -m bioner_pl.bench [--repeats 20] [--out bench.json]

Reports, on this machine in one run (medians of repeated measurements):
  * training step time and sentences/s of the five models (batch 16, NCBI-disease + BioNLP09),
    beside the bare BiLSTM forward+backward on the same batch, and their ratio;
  * CRF NLL forward+backward and Viterbi against pytorch-crf (`pip install -e .[bench]`);
  * tagging throughput (sentences/s) on the NCBI-disease test split.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from bioner_pl.crf import CRF
from bioner_pl.datamodule import MultiTaskDataModule
from bioner_pl.embeddings import glove_6b_50d
from bioner_pl.module import TaggerModule

ARCHS = {"stm": "SingleTask", "fs": "FullyShared", "sp": "SharedPrivate", "adv": "Adversarial",
         "cs": "CrossSharing"}
FIELDS = ("words", "chars", "tags", "mask", "lengths")


def median_ms(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def cycle(items):
    while True:
        yield from items


def train_steps(dm: MultiTaskDataModule, repeats: int) -> list[dict]:
    """One optimizer step as Lightning runs it: forward, backward, clip to 5.0, RMSprop step."""
    loader = dm.train_dataloader()
    batches = []
    for batch in loader:  # turns: main, aux, main, aux, ...
        batches.append(batch)
        if len(batches) == 2 * (repeats + 3):
            break
    main_batches = batches[::2]
    rows = []
    for name, cls in ARCHS.items():
        tasks = 1 if name == "stm" else 2
        torch.manual_seed(0)
        module = TaggerModule({"_target_": f"bioner_pl.models.{cls}"}, dm.names[:tasks], dm.tag_sets[:tasks],
                              dm.words.items, dm.chars.items, dm.vectors.dim)
        module.train()
        optimizer = module.configure_optimizers()["optimizer"]
        stream = cycle(main_batches if tasks == 1 else batches)

        def step():
            batch = next(stream)
            optimizer.zero_grad(set_to_none=True)
            module.net(*(batch[k] for k in FIELDS), batch["task"])["loss"].backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 5.0)
            optimizer.step()

        ms = median_ms(step, repeats)
        rows.append({"model": name, "step_ms": ms, "sentences_per_s": 16 / ms * 1000,
                     "params": sum(p.numel() for p in module.parameters())})

    lstm = torch.nn.LSTM(dm.vectors.dim + 30, 256, batch_first=True, bidirectional=True)
    main_stream = cycle(main_batches)

    def bare():
        batch = next(main_stream)
        x = torch.randn(*batch["words"].shape, dm.vectors.dim + 30, requires_grad=True)
        out, _ = lstm(pack_padded_sequence(x, batch["lengths"], batch_first=True, enforce_sorted=False))
        out.data.sum().backward()

    bare_ms = median_ms(bare, repeats)
    for row in rows:
        row["bare_bilstm_ms"] = bare_ms
        row["ratio_to_bare_bilstm"] = row["step_ms"] / bare_ms
    return rows


def crf_versus_pytorch_crf(repeats: int) -> list[dict]:
    try:
        from torchcrf import CRF as TorchCRF
    except ImportError:
        TorchCRF = None
    rows = []
    batch = 16
    for labels in (3, 11):
        for length in (30, 120):
            torch.manual_seed(0)
            emissions = torch.randn(batch, length, labels, requires_grad=True)
            tags = torch.randint(0, labels, (batch, length))
            lengths = torch.randint(length // 2, length + 1, (batch,))
            lengths[0] = length
            mask = torch.arange(length) < lengths[:, None]
            for bigram in (False, True):
                ours = CRF(labels, labels, bigram=bigram)
                trans = (torch.randn(batch, length - 1, labels, labels, requires_grad=True) if bigram
                         else ours.transition)
                row = {"crf": "bigram" if bigram else "classic", "labels": labels, "length": length,
                       "ours_nll_ms": median_ms(lambda: ours.nll_from_scores(emissions, trans, tags, mask).sum().backward(), repeats),
                       "ours_viterbi_ms": median_ms(lambda: ours.decode_from_scores(emissions, trans, mask), repeats)}
                if TorchCRF is not None and not bigram:
                    theirs = TorchCRF(labels, batch_first=True)
                    row["pytorch_crf_nll_ms"] = median_ms(
                        lambda: (-theirs(emissions, tags, mask=mask, reduction="sum")).backward(), repeats)
                    with torch.no_grad():
                        row["pytorch_crf_viterbi_ms"] = median_ms(lambda: theirs.decode(emissions, mask=mask), repeats)
                    row["nll_speedup"] = row["pytorch_crf_nll_ms"] / row["ours_nll_ms"]
                    row["viterbi_speedup"] = row["pytorch_crf_viterbi_ms"] / row["ours_viterbi_ms"]
                rows.append(row)
    return rows


def tagging(dm: MultiTaskDataModule, repeats: int) -> dict:
    torch.manual_seed(0)
    module = TaggerModule({"_target_": "bioner_pl.models.SingleTask"}, dm.names[:1], dm.tag_sets[:1],
                          dm.words.items, dm.chars.items, dm.vectors.dim).eval()
    loader = dm.test_dataloader()
    count = len(dm.eval_items["test"])

    def tag_all():
        with torch.inference_mode():
            for batch in loader:
                module.net.decode(batch["words"], batch["chars"], batch["mask"], batch["lengths"])

    ms = median_ms(tag_all, max(3, repeats // 4), warmup=1)
    return {"sentences": count, "batch_size": dm.eval_batch_size, "ms": ms, "sentences_per_s": count / ms * 1000}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("BIONER_DATA_DIR", "data"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default="bench.json")
    parser.add_argument("--skip", nargs="*", default=[], choices=["train", "crf", "tagging"])
    args = parser.parse_args(argv)

    dm = MultiTaskDataModule("ncbi", ["bionlp09"], glove_6b_50d(), args.data_dir)
    dm.prepare()
    report = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpus": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads()},
              "repeats": args.repeats}
    if "train" not in args.skip:
        report["train"] = train_steps(dm, args.repeats)
    if "crf" not in args.skip:
        report["crf"] = crf_versus_pytorch_crf(args.repeats)
    if "tagging" not in args.skip:
        report["tagging"] = tagging(dm, args.repeats)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"\nwritten to {args.out}")
    return report


def _table(rows: list[dict], columns: list[str]) -> str:
    def fmt(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def print_report(report: dict) -> None:
    m = report["machine"]
    print(f"machine: {m['platform']}, {m['cpus']} CPUs, torch {m['torch']}, {m['threads']} threads; "
          f"medians of {report['repeats']}")
    if "train" in report:
        print("\ntraining step, batch 16 (NCBI-disease + BioNLP09)")
        print(_table(report["train"], ["model", "step_ms", "sentences_per_s", "bare_bilstm_ms", "ratio_to_bare_bilstm"]))
    if "crf" in report:
        print("\nCRF, batch 16: NLL forward+backward and Viterbi (ms)")
        print(_table(report["crf"], ["crf", "labels", "length", "ours_nll_ms", "pytorch_crf_nll_ms", "nll_speedup",
                                     "ours_viterbi_ms", "pytorch_crf_viterbi_ms", "viterbi_speedup"]))
    if "tagging" in report:
        t = report["tagging"]
        print(f"\ntagging NCBI-disease test: {t['sentences']} sentences in {t['ms']:.0f} ms = "
              f"{t['sentences_per_s']:.0f} sentences/s (batch {t['batch_size']})")


if __name__ == "__main__":
    main()
