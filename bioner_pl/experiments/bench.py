"""Benchmark: python -m bioner_pl.bench [repeats=20] [out=bench.json] [skip=[crf,...]]

Reports, on this machine in one run (medians of repeated measurements):
  * training step time and sentences/s of the five models (batch 16, NCBI-disease + BioNLP09),
    beside the bare BiLSTM forward+backward on the same batch, and their ratio;
  * training time per sentence on the same sentences in shuffled and in by-length batches
    (`batching=by_length`), which differ only in padding;
  * CRF NLL forward+backward and Viterbi against pytorch-crf (`pip install -e .[bench]`);
  * tagging throughput (sentences/s) on the NCBI-disease test split;
  * reading: documents/s through every format's reader, as tagging and training read them.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from bioner_pl.config import group, listed, whole
from bioner_pl.errors import InputError
from bioner_pl.data.batching import length_grouped
from bioner_pl.data.datamodule import MultiTaskDataModule
from bioner_pl.data.embeddings import glove_6b_50d
from bioner_pl.data.encoding import collate
from bioner_pl.models import ARCHITECTURES
from bioner_pl.models.crf import CRF
from bioner_pl.models.module import TaggerModule
from bioner_pl.tagging.checkpoint import TaggerNet
from bioner_pl.tagging.tagger import Tagger
from bioner_pl.tagging.tagger_file import TaggerFile


def interleaved(fns: dict, repeats: int, warmup: int = 3) -> dict[str, list[float]]:
    """Times (ms) of each function, run in turn within every repetition, so that drift of a
    shared machine hits all of them alike; compare them through per-repetition ratios."""
    times = {name: [] for name in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if i >= warmup:
                times[name].append(1000 * (time.perf_counter() - start))
    return times


def ratio(slow: list[float], fast: list[float]) -> float:
    return statistics.median(s / f for s, f in zip(slow, fast))


def train_steps(dm: MultiTaskDataModule, repeats: int, warmup: int = 3) -> list[dict]:
    """One optimizer step as Lightning runs it (forward, backward, clip to 5.0, RMSprop step) for
    each model, interleaved with a bare BiLSTM forward+backward on the very same main-dataset
    batch, so the ratios are per batch and machine drift cancels out. Two bare references: the
    fused one (nn.LSTM over the padded batch, oneDNN on the CPU: the least recurrent work this
    batch can cost) and the packed one (nn.LSTM over packed sequences, the usual way)."""
    loader = iter(dm.train_dataloader())
    main_batches = [b for b in (next(loader) for _ in range(2 * (repeats + warmup))) if b["task"] == 0]
    steps = trainable_models(dm)
    lstm = torch.nn.LSTM(dm.vectors.dim + 30, 256, batch_first=True, bidirectional=True)

    def bare_step(batch, packed: bool):
        x = torch.randn(*batch["words"].shape, dm.vectors.dim + 30, requires_grad=True)
        if packed:
            x = pack_padded_sequence(x, batch["lengths"], batch_first=True, enforce_sorted=False)
        out, _ = lstm(x)
        (out.data if packed else out).sum().backward()

    times = {name: [] for name in ["fused", "packed", *ARCHITECTURES]}
    for batch in main_batches:
        fns = {"fused": lambda: bare_step(batch, False), "packed": lambda: bare_step(batch, True)}
        fns.update({name: lambda m=module, o=optimizer: model_step(m, o, batch) for name, (module, optimizer) in steps.items()})
        for name, measured in interleaved(fns, repeats=1, warmup=0).items():
            times[name] += measured
    times = {k: v[warmup:] for k, v in times.items()}
    return [{"model": name, "step_ms": statistics.median(times[name]),
             "sentences_per_s": 16 / statistics.median(times[name]) * 1000,
             **{f"{ref}_bilstm_ms": statistics.median(times[ref]) for ref in ("fused", "packed")},
             **{f"ratio_to_{ref}_bilstm": ratio(times[name], times[ref]) for ref in ("fused", "packed")},
             "params": sum(p.numel() for p in module.parameters())}
            for name, (module, _) in steps.items()]


def trainable_models(dm: MultiTaskDataModule) -> dict[str, tuple]:
    """The five models on dm's vocabularies, each with its optimizer: name -> (module, optimizer)."""
    steps = {}
    for name in ARCHITECTURES:
        tasks = 1 if name == "stm" else 2
        torch.manual_seed(0)
        module = TaggerModule({"name": name}, dm.names[:tasks], dm.tag_sets[:tasks],
                              dm.words.items, dm.chars.items, dm.vectors.dim, optimizer=group("optimizer", "rmsprop"),
                              scheduler=group("scheduler", "exponential")).train()
        steps[name] = (module, module.configure_optimizers()["optimizer"])
    return steps


def model_step(module, optimizer, batch) -> None:
    optimizer.zero_grad(set_to_none=True)
    module.net(batch)["loss"].backward()
    torch.nn.utils.clip_grad_norm_(module.parameters(), 5.0)
    optimizer.step()


def batching_cost(dm: MultiTaskDataModule, passes: int, n_batches: int = 20) -> list[dict]:
    """Training time per sentence in shuffled and in by-length batches of the same sentences, for
    each model: the sentences of `n_batches` by-length batches as training draws them from the whole
    main dataset (`length_grouped`), and the same sentences shuffled into as many batches; one pass
    over both groupings per model in turn, medians over passes."""
    rng = random.Random(0)
    order = list(range(dm.train_sizes[0]))  # the main dataset comes first in train_items
    rng.shuffle(order)
    lengths = [len(e.words) for e in dm.train_items]
    by_length = length_grouped(order, lengths, 16, rng)[:n_batches]
    sample = [i for b in by_length for i in b]
    rng.shuffle(sample)
    groupings = {"shuffled": [sample[i : i + 16] for i in range(0, len(sample), 16)], "by_length": by_length}
    collated = {name: [collate([(i, dm.train_items[i]) for i in b]) for b in grouping]
               for name, grouping in groupings.items()}
    real = {name: sum(lengths[i] for b in g for i in b) / sum(len(b) * max(lengths[i] for i in b) for b in g)
            for name, g in groupings.items()}  # real tokens / padded batch cells
    rows = []
    for model, (module, optimizer) in trainable_models(dm).items():
        model_step(module, optimizer, collated["shuffled"][0])  # warm-up
        fns = {name: lambda g=g: [model_step(module, optimizer, b) for b in g] for name, g in collated.items()}
        times = interleaved(fns, passes, warmup=0)
        rows.append({"model": model, "sentences": len(sample),
                     **{f"{name}_ms_per_sentence": statistics.median(times[name]) / len(sample) for name in collated},
                     **{f"{name}_real_tokens": real[name] for name in collated},
                     "by_length_speedup": ratio(times["shuffled"], times["by_length"])})
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
                nll = {"ours": lambda: ours.nll_from_scores(emissions, trans, tags, mask).sum().backward()}
                viterbi = {"ours": lambda: ours.decode_from_scores(emissions, trans, mask)}
                if TorchCRF is not None and not bigram:  # pytorch-crf has classic transitions only
                    theirs = TorchCRF(labels, batch_first=True)
                    nll["theirs"] = lambda: (-theirs(emissions, tags, mask=mask, reduction="sum")).backward()
                    viterbi["theirs"] = torch.no_grad()(lambda: theirs.decode(emissions, mask=mask))
                row = {"crf": "bigram" if bigram else "classic", "labels": labels, "length": length}
                for task, fns in (("nll", nll), ("viterbi", viterbi)):
                    times = interleaved(fns, repeats)
                    row[f"ours_{task}_ms"] = statistics.median(times["ours"])
                    if "theirs" in times:
                        row[f"pytorch_crf_{task}_ms"] = statistics.median(times["theirs"])
                        row[f"{task}_speedup"] = ratio(times["theirs"], times["ours"])
                rows.append(row)
    return rows


def tagging(dm: MultiTaskDataModule, repeats: int, batch_size: int = 128) -> dict:
    """What `bioner_pl.predict` does after tokenizing: encode, length-sorted batches, decode."""
    torch.manual_seed(0)
    model = TaggerNet.build(TaggerFile(arch={"name": "stm"}, datasets=dm.names[:1], tag_sets=dm.tag_sets[:1],
                                       words=dm.words.items, chars=dm.chars.items, word_dim=dm.vectors.dim))
    sentences = [list(s.tokens) for s in dm.sentences["test"]]
    tagger = Tagger(model, batch_size=batch_size, confidences=False, device="cpu")  # a CPU bench, like the rest
    runs = interleaved({"tag": lambda: tagger.tag_sentences(sentences)}, max(3, repeats // 4), warmup=1)
    ms = statistics.median(runs["tag"])
    return {"sentences": len(sentences), "batch_size": batch_size, "ms": ms,
            "sentences_per_s": len(sentences) / ms * 1000}


def reading(dm: MultiTaskDataModule, repeats: int) -> list[dict]:
    """Documents per second through each reader (bioner_pl.formats): NCBI-disease's test split as
    10-sentence documents (title, abstract, its gold mentions as entities) written by our writers
    in every format, read back as tagging reads them, and the standoff ones as training does."""
    import tempfile

    from bioner_pl import formats
    from bioner_pl.data import standoff
    from bioner_pl.data.schemes import spans
    from bioner_pl.formats.document import titled

    sentences = dm.sentences["test"]
    docs = []
    for n in range(0, len(sentences), 10):
        part = sentences[n:n + 10]
        title, abstract = " ".join(part[0].tokens), " ".join(" ".join(s.tokens) for s in part[1:])
        doc, start = titled(str(n), title, abstract), 0
        for number, s in enumerate(part):
            offsets = [start + sum(len(t) + 1 for t in s.tokens[:i]) for i in range(len(s.tokens) + 1)]
            for kind, first, last in spans(list(s.tags), "iob2"):
                doc.entities.append(formats.Entity(" ".join(s.tokens[first:last + 1]), kind, offsets[first],
                                                   offsets[last + 1] - 1))
            start = offsets[-1]
        docs.append(doc)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (write, extension) in formats.WRITERS.items():
            if name in ("brat", "conll"):
                continue  # a folder; CoNLL is read as one document per file
            path = Path(tmp) / f"in{extension}"
            with open(path, "wb") as out:
                formats.assemble(name, (write(doc, i).encode() for i, doc in enumerate(docs)), out)
            fns = {"tagging": lambda: sum(1 for _ in formats.read(str(path)))}
            if name in ("pubtator", "bioc_xml", "bioc_json"):
                fns["training"] = lambda: standoff.read(path, "bioc" if name.startswith("bioc") else name)
            runs = interleaved(fns, max(3, repeats // 4), warmup=1)
            for side, times in runs.items():
                ms = statistics.median(times)
                rows.append({"format": name, "reader": side, "documents": len(docs), "ms": ms,
                             "documents_per_s": len(docs) / ms * 1000})
    return rows


# The report's sections in order, each measured from the data and the number of repeats.
SECTIONS = {
    "train": train_steps,
    "batching": lambda dm, repeats: batching_cost(dm, passes=max(1, repeats // 10)),
    "crf": lambda dm, repeats: crf_versus_pytorch_crf(repeats),
    "tagging": tagging,
    "reading": reading,
}


def run(cfg) -> dict:
    """The sections of the report cfg keeps (bioner_pl/conf/bench.yaml), written to cfg.out and printed."""
    skip = set(listed(cfg.skip))
    if skip - set(SECTIONS):
        raise InputError(f"skip: unknown section(s) {', '.join(sorted(map(str, skip - set(SECTIONS))))}; "
                         f"the sections are {', '.join(SECTIONS)}")
    repeats = whole(cfg, "repeats", 1)
    dm = MultiTaskDataModule("ncbi", ["bionlp09"], glove_6b_50d(), cfg.data.dir)
    dm.prepare()
    report = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpus": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads()},
              "repeats": repeats}
    for section, measure in SECTIONS.items():
        if section not in skip:
            report[section] = measure(dm, repeats)
    Path(cfg.out).write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"\nwritten to {cfg.out}")
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
        print(_table(report["train"], ["model", "step_ms", "sentences_per_s", "fused_bilstm_ms", "ratio_to_fused_bilstm",
                                       "packed_bilstm_ms", "ratio_to_packed_bilstm"]))
    if "batching" in report:
        print(f"\ntraining ms per sentence, the same {report['batching'][0]['sentences']} NCBI-disease sentences "
              "in shuffled and in by-length batches (medians of passes)")
        print(_table(report["batching"], ["model", "shuffled_ms_per_sentence", "by_length_ms_per_sentence",
                                          "by_length_speedup", "shuffled_real_tokens", "by_length_real_tokens"]))
    if "crf" in report:
        print("\nCRF, batch 16: NLL forward+backward and Viterbi (ms)")
        print(_table(report["crf"], ["crf", "labels", "length", "ours_nll_ms", "pytorch_crf_nll_ms", "nll_speedup",
                                     "ours_viterbi_ms", "pytorch_crf_viterbi_ms", "viterbi_speedup"]))
    if "tagging" in report:
        t = report["tagging"]
        print(f"\ntagging NCBI-disease test: {t['sentences']} sentences in {t['ms']:.0f} ms = "
              f"{t['sentences_per_s']:.0f} sentences/s (batch {t['batch_size']})")
    if "reading" in report:
        print("\nreading NCBI-disease test as 10-sentence documents, every format (bioner_pl.formats)")
        print(_table(report["reading"], ["format", "reader", "documents", "ms", "documents_per_s"]))
