"""Tiny data, model and configs shared by the ``test_trainer_*`` files and their subprocesses.

Run as a script it trains once (settings from environment variables) so that a test can
kill it mid-epoch or launch it under ``torchrun``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import Tensor, nn

from agreid_core.config import (
    AugmentConfig,
    InputConfig,
    OptimConfig,
    SamplerConfig,
    ScheduleConfig,
    TrainingConfig,
)
from agreid_core.engine.trainer import Trainer, label_map
from agreid_core.method import Criterion, LossTerm

PLATFORMS = {"aerial": 0, "cctv": 3, "wearable": 2}


def make_rows(
    root: Path,
    n_ids: int = 6,
    per_platform: int = 3,
    platforms: tuple[str, ...] = ("aerial", "cctv"),
) -> pl.DataFrame:
    """Write small random PNGs (32×16) and return their index rows."""
    root.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(0)
    for pid in range(1, n_ids + 1):
        base = rng.integers(0, 255, 3)
        for platform in platforms:
            for j in range(per_platform):
                path = root / f"p{pid}_{platform}_{j}.png"
                noise = rng.integers(0, 60, (32, 16, 3))
                img = np.clip(base[None, None, :] + noise, 0, 255).astype(np.uint8)
                Image.fromarray(img).save(path)
                rows.append(
                    {
                        "path": str(path),
                        "pid": 100 + pid,
                        "camid": PLATFORMS[platform],
                        "platform": platform,
                    }
                )
    return pl.DataFrame(rows)


class TinyNet(nn.Module):
    """conv → ReLU → global pool → 4-d feature (→ dropout → classifier)."""

    def __init__(self, num_classes: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(4, num_classes)

    def forward(self, x: Tensor, camids: Tensor) -> dict[str, Tensor]:
        f = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return {"features": f, "embedding": f, "logits": self.classifier(self.drop(f))}


def tiny_cfg(**kw: Any) -> TrainingConfig:
    """A config for 32×16 inputs, P=2 × K=2, two epochs, no workers."""
    cfg = TrainingConfig(
        input=InputConfig(height=32, width=16),
        sampler=SamplerConfig(ids_per_batch=2, instances_per_id=2),
        augment=AugmentConfig(flip=0.5, pad=2, random_erasing=0.5),
        optim=OptimConfig(name="adam", lr=1e-2),
        schedule=ScheduleConfig(epochs=2, milestones=(1,), warmup_iters=3),
        num_workers=0,
    )
    return replace(cfg, **kw)


def build(rows: pl.DataFrame, seed: int = 0, dropout: float = 0.2) -> tuple[TinyNet, Criterion]:
    """A seeded tiny model and a cross-entropy criterion."""
    torch.manual_seed(seed)
    model = TinyNet(len(label_map(rows["pid"].to_list())), dropout)
    return model, Criterion([LossTerm("ce", nn.CrossEntropyLoss(), "logits")])


def state_of(model: nn.Module) -> dict[str, Tensor]:
    """A detached CPU copy of ``model``'s weights."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _kill_main() -> None:
    """Train from ``AGREID_TEST_ROWS``; SIGKILL itself after step ``AGREID_TEST_KILL_AT``."""
    torch.set_num_threads(int(os.environ.get("AGREID_TEST_THREADS", "1")))
    rows = pl.read_parquet(os.environ["AGREID_TEST_ROWS"])
    kill_at = int(os.environ["AGREID_TEST_KILL_AT"])
    run_dir = Path(os.environ["AGREID_TEST_RUN_DIR"])
    model, criterion = build(rows)
    trainer = Trainer(
        model,
        criterion,
        tiny_cfg(checkpoint_every=2),
        device=torch.device("cpu"),
        log_path=run_dir / "train_log.jsonl",
    )

    def on_step(epoch: int, step: int, loss: float) -> None:
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    trainer.fit(rows, on_step, checkpoint_dir=run_dir, run_info={"who": "subprocess"})
    raise SystemExit("not killed")


def _ddp_main() -> None:
    """Train under torchrun with augmentation and dropout off; write per-rank results."""
    torch.set_num_threads(1)
    rows = pl.read_parquet(os.environ["AGREID_TEST_ROWS"])
    out = Path(os.environ["AGREID_TEST_OUT"])
    model, criterion = build(rows, dropout=0.0)
    cfg = tiny_cfg(augment=AugmentConfig(flip=0.0, pad=0, random_erasing=0.0), checkpoint_every=1)
    trainer = Trainer(model, criterion, cfg, device=torch.device("cpu"), log_path=out / "log.jsonl")
    seen: list[list[int]] = []
    trainer.fit(
        rows,
        on_batch=lambda e, s, idx: seen.append([int(i) for i in idx]),
        checkpoint_dir=out,
    )
    rank = trainer.dist.rank
    save_file(state_of(model), str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(
        json.dumps({"world_size": trainer.dist.world_size, "batches": seen})
    )


if __name__ == "__main__":
    {"kill": _kill_main, "ddp": _ddp_main}[sys.argv[1]]()
