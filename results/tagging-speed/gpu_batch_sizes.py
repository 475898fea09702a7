"""Tagging throughput and peak GPU memory by batch size, for a GPU session (issue #22: "on a GPU,
batch sizes that fill it"). Not yet run: no session with this issue has had a GPU.

    python results/tagging-speed/gpu_batch_sizes.py CKPT pubmed1000.xml.gz [precision]

Each batch size tags the whole input once after a warm-up pass (the input from make_pubmed.py);
documents_per_batch grows with the batch so that every pass has full batches to fill."""
import sys, time
from itertools import islice
import torch
from bioner_pl.tagging import readers
from bioner_pl.tagging.tagger import Tagger

ckpt, source = sys.argv[1:3]
precision = sys.argv[3] if len(sys.argv) > 3 else "32-true"
docs = list(readers.read(source, "auto", "lines", "text"))
sentences = sum(len(d.sentences) for d in docs)
tagger = Tagger.load(ckpt, precision=precision)  # the GPU; on a CPU only to check the script itself
cuda = tagger.device.type == "cuda"
print(f"{torch.cuda.get_device_name() if cuda else 'CPU'}, {len(docs)} documents, {sentences} sentences, {precision}")
for batch_size in (256, 512, 1024, 2048, 4096, 8192):
    tagger.batch_size = batch_size
    per_call = max(512, 4 * batch_size // 10)  # ~10 sentences an abstract: four batches a call
    def run():
        it = iter(docs)
        while chunk := list(islice(it, per_call)):
            tagger.tag(chunk)
        if cuda:
            torch.cuda.synchronize()
    run()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter(); run(); seconds = time.perf_counter() - start
    print(f"batch_size {batch_size:5d} documents_per_batch {per_call:5d}: {sentences / seconds:8.0f} sentences/s, "
          f"peak {torch.cuda.max_memory_allocated() / 2**30 if cuda else 0:.2f} GiB")
