"""The accelerator paths on a CUDA GPU: packed BiLSTM, log-space CRF, batches moved with
`lengths` left on the CPU, a Lightning run with accelerator=gpu. Each is checked against the CPU
path, which the rest of the suite covers. Skipped where there is no GPU (CI, the dev boxes); on a
GPU box: `pytest tests/test_cuda.py`."""

import copy
import json

import pytest
import torch

from bioner_pl.models.module import TaggerModule
from bioner_pl.models import ARCHITECTURES
from helpers import SMALL_VECTORS, TINY, batch_of, run_cli

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture
def full_float32():
    """cuDNN would run the LSTM and the char CNN in TF32 (10-bit mantissa); compare in float32."""
    saved = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = saved


def loss_and_decode(module: TaggerModule, batch: dict, task: int):
    module.zero_grad()
    loss = module.net(batch)["loss"]
    loss.backward()
    with torch.no_grad():
        tags = module.net.decode(batch, task=task)
    return loss.item(), tags.cpu()


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_loss_gradients_and_decode_on_cuda_match_the_cpu(three_datasets, full_float32, name):
    dm = three_datasets
    tasks = 1 if name == "stm" else 2
    arch = {"_target_": f"bioner_pl.models.{ARCHITECTURES[name].__name__}", "dropout": 0.0}
    torch.manual_seed(0)
    cpu = TaggerModule(arch, dm.names[:tasks], dm.tag_sets[:tasks], dm.words.items, dm.chars.items, 20)
    gpu = copy.deepcopy(cpu).cuda()
    for task in range(tasks):
        batch = batch_of(dm, task)
        moved = gpu.transfer_batch_to_device(batch, torch.device("cuda"), 0)
        assert moved["words"].is_cuda and not moved["lengths"].is_cuda
        cpu_loss, cpu_tags = loss_and_decode(cpu, batch, task)
        gpu_loss, gpu_tags = loss_and_decode(gpu, moved, task)
        assert gpu_loss == pytest.approx(cpu_loss, rel=1e-4), (name, task)
        assert torch.equal(gpu_tags, cpu_tags), (name, task)
        for (param, p), q in zip(cpu.named_parameters(), gpu.parameters()):
            if p.grad is None:
                assert q.grad is None or not q.grad.any(), param
            else:
                torch.testing.assert_close(q.grad.cpu(), p.grad, rtol=1e-3, atol=1e-5, msg=f"{name} {param}")


@pytest.mark.slow
def test_training_run_on_the_gpu(tmp_path):
    """One small multi-task run through the CLI on the GPU: it trains, validates, tests and
    resumes there (Lightning's own report says the GPU was used)."""
    common = ["model=cs", "main=ncbi", "aux=bionlp09", "trainer.accelerator=gpu", *TINY, *SMALL_VECTORS,
              "trainer.limit_train_batches=4", f"hydra.run.dir={tmp_path}"]
    first = run_cli("bioner_pl.train", *common)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "GPU available: True (cuda), used: True" in first.stderr + first.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert 0 <= metrics["test"]["f1"] <= 1 and metrics["epochs"] >= 1
    longer = run_cli("bioner_pl.train", *common, "resume=true", f"trainer.max_epochs={metrics['epochs'] + 1}")
    assert longer.returncode == 0, longer.stderr[-3000:]
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == metrics["epochs"] + 1


def test_tagging_on_the_gpu_matches_the_cpu(trained, full_float32):
    """Tagger(device="cuda"): cuDNN's packed LSTM and the CRF's log-space recursion on the GPU give
    the CPU's entities, with the same confidences to float precision."""
    from bioner_pl import Tagger

    ckpt = trained / "checkpoints" / "best.ckpt"
    texts = ["Germline APC mutations cause familial adenomatous polyposis and colon cancer.",
             "Ataxia-telangiectasia (A-T) is a recessive disorder. Breast cancer risk rises in carriers."] * 40
    cpu = Tagger.load(ckpt, device="cpu").predict(texts)
    gpu_tagger = Tagger.load(ckpt)
    assert gpu_tagger.device.type == "cuda"  # device="auto" takes the GPU
    gpu = gpu_tagger.predict(texts)
    assert any(doc.entities for doc in cpu)
    for ours, theirs in zip(gpu, cpu):
        assert [(e.start, e.end, e.type) for e in ours.entities] == [(e.start, e.end, e.type) for e in theirs.entities]
        assert [e.confidence for e in ours.entities] == pytest.approx([e.confidence for e in theirs.entities], abs=1e-4)
