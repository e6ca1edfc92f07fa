"""Two-process data parallel training (torchrun, gloo) against one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import build, make_rows, tiny_cfg

from agreid_core.config import AugmentConfig
from agreid_core.data.augment import build_train_augmentation
from agreid_core.data.decode import read_image
from agreid_core.data.samplers import PKSampler
from agreid_core.engine.distributed import init_distributed
from agreid_core.engine.optim import build_optimizer, build_scheduler
from agreid_core.engine.trainer import label_map

HELPERS = Path(__file__).parent / "_trainer_helpers.py"


def test_single_process_context_without_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    ctx = init_distributed(torch.device("cpu"))
    assert (ctx.rank, ctx.world_size, ctx.is_main, ctx.enabled) == (0, 1, True, False)


def test_two_ranks_match_one_process_with_the_global_batch(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img", n_ids=6, per_platform=3)
    rows.write_parquet(tmp_path / "rows.parquet")
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "AGREID_TEST_ROWS": str(tmp_path / "rows.parquet"),
        "AGREID_TEST_OUT": str(out),
        "OMP_NUM_THREADS": "1",
    }
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--standalone",
        str(HELPERS),
        "ddp",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    seen = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    assert all(s["world_size"] == 2 for s in seen)
    per_rank = [{i for b in s["batches"] for i in b} for s in seen]
    steps = len(seen[0]["batches"])
    assert steps == len(seen[1]["batches"]) == 2 * 4  # 9 plan batches → 4 per rank, 2 epochs
    # disjoint within each step (each epoch's plan is split between the ranks)
    for b0, b1 in zip(seen[0]["batches"], seen[1]["batches"], strict=True):
        assert not set(b0) & set(b1)
    assert per_rank[0] and per_rank[1]
    w0, w1 = load_file(str(out / "rank0.safetensors")), load_file(str(out / "rank1.safetensors"))
    for key in w0:
        assert torch.equal(w0[key], w1[key]), key
    # only rank 0 wrote the log: one line per step
    assert len((out / "log.jsonl").read_text().splitlines()) == steps
    assert (out / "checkpoint.safetensors").is_file()

    # one process, global batch = rank 0's batch + rank 1's batch of the same plan
    torch.set_num_threads(1)
    model, crit = build(rows, dropout=0.0)
    cfg = tiny_cfg(augment=AugmentConfig(flip=0.0, pad=0, random_erasing=0.0))
    pids = rows["pid"].to_list()
    mapping = label_map(pids)
    labels = [mapping[p] for p in pids]
    images = torch.stack([read_image(p, 32, 16) for p in rows["path"].to_list()])
    cams = torch.as_tensor(rows["camid"].to_list())
    y_all = torch.as_tensor(labels)
    augment = build_train_augmentation(cfg.augment, cfg.input)
    sampler = PKSampler(labels, 2, 2, seed=0)
    iters = 4
    optimizer = build_optimizer(nn.ModuleList([model, crit]), cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.schedule, iters, cfg.optim.lr)
    step = 0
    for epoch in range(cfg.schedule.epochs):
        sampler.set_epoch(epoch)
        plan = sampler.plan()
        for s in range(iters):
            idx = plan[2 * s] + plan[2 * s + 1]
            assert idx == seen[0]["batches"][step] + seen[1]["batches"][step]
            out_ = model(augment(images[idx]), cams[idx])
            loss = crit(out_, {"pids": y_all[idx], "camids": cams[idx]}).total
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
    for key, value in model.state_dict().items():
        assert torch.allclose(value, w0[key], atol=1e-5, rtol=1e-4), key
