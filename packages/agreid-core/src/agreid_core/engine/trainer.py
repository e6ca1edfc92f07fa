"""The trainer: one loop that every method recipe configures, never copies.

Per step: a P×K batch is decoded in DataLoader workers, augmented on the device, passed
through the model, scored by the recipe's :class:`~agreid_core.method.Criterion`, and the
optimiser and per-iteration LR schedule step. A non-finite loss stops the run with
:class:`TrainingDivergedError` before the weights are touched.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from agreid_core.config import TrainingConfig
from agreid_core.data.augment import build_train_augmentation
from agreid_core.data.decode import ImageSamples
from agreid_core.data.samplers import PKSampler
from agreid_core.engine.optim import build_optimizer, build_scheduler
from agreid_core.method import Criterion


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class TrainResult:
    """What a finished training run reports."""

    epochs: int
    steps: int
    seconds: float
    images_per_second: float
    data_wait_fraction: float
    final_loss: float
    history: list[dict[str, Any]] = field(default_factory=list)


def label_map(pids: list[int]) -> dict[int, int]:
    """Published identity → contiguous class index, in sorted identity order."""
    return {pid: i for i, pid in enumerate(sorted(set(pids)))}


class Trainer:
    """Trains ``model`` with ``criterion`` under ``cfg`` on the rows of a sample index."""

    def __init__(
        self,
        model: nn.Module,
        criterion: Criterion,
        cfg: TrainingConfig,
        *,
        device: torch.device,
        seed: int = 0,
        head_prefixes: tuple[str, ...] = (),
        log_path: Path | None = None,
    ) -> None:
        self.model = model.to(device)
        self.criterion = criterion.to(device)
        self.cfg, self.device, self.seed = cfg, device, seed
        self.head_prefixes = head_prefixes
        self.log_path = log_path
        self.augment = build_train_augmentation(cfg.augment, cfg.input).to(device)

    def fit(
        self,
        train_rows: pl.DataFrame,
        on_step: Callable[[int, int, float], None] | None = None,
    ) -> TrainResult:
        """Train on ``train_rows`` (index rows with ``path``, ``pid``, ``camid``)."""
        cfg = self.cfg
        pids = train_rows["pid"].to_list()
        mapping = label_map(pids)
        labels = [mapping[p] for p in pids]
        sampler = PKSampler(
            labels, cfg.sampler.ids_per_batch, cfg.sampler.instances_per_id, seed=self.seed
        )
        dataset = ImageSamples(
            train_rows["path"].to_list(),
            labels,
            train_rows["camid"].to_list(),
            cfg.input.height,
            cfg.input.width,
        )
        loader = DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=cfg.num_workers,
            persistent_workers=cfg.num_workers > 0,
        )
        iters = cfg.schedule.iters_per_epoch or len(sampler)
        if iters < 1:
            raise ValueError("the training split is too small for one P×K batch")
        optimizer = build_optimizer(
            nn.ModuleList([self.model, self.criterion]), cfg.optim, self.head_prefixes
        )
        scheduler = build_scheduler(optimizer, cfg.schedule, iters, cfg.optim.lr)
        log = self.log_path.open("a") if self.log_path is not None else None
        history: list[dict[str, Any]] = []
        step, images, wait, last_loss = 0, 0, 0.0, math.nan
        start = time.perf_counter()
        self.model.train()
        try:
            for epoch in range(cfg.schedule.epochs):
                sampler.set_epoch(epoch)
                t_wait = time.perf_counter()
                for i, (batch, y, cams, _) in enumerate(loader):
                    if i >= iters:
                        break
                    wait += time.perf_counter() - t_wait
                    x = self.augment(batch.to(self.device, non_blocking=True))
                    y, cams = y.to(self.device), cams.to(self.device)
                    with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cfg.amp):
                        outputs = self.model(x, cams)
                        result = self.criterion(outputs, {"pids": y, "camids": cams})
                    loss = result.total.float()
                    if not torch.isfinite(loss):
                        parts = {k: float(v) for k, v in result.parts.items()}
                        raise TrainingDivergedError(
                            f"non-finite loss at epoch {epoch}, step {step}: {parts}; "
                            "weights were not updated (lower the learning rate or enable grad clipping)"
                        )
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.grad_clip is not None:
                        nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                    optimizer.step()
                    scheduler.step()
                    step += 1
                    images += len(batch)
                    last_loss = float(loss.detach())
                    record = {
                        "epoch": epoch,
                        "step": step,
                        "lr": optimizer.param_groups[0]["lr"],
                        "loss": last_loss,
                        **{k: float(v.detach()) for k, v in result.parts.items()},
                    }
                    history.append(record)
                    if log is not None:
                        log.write(json.dumps(record) + "\n")
                    if on_step is not None:
                        on_step(epoch, step, last_loss)
                    t_wait = time.perf_counter()
        finally:
            if log is not None:
                log.close()
        seconds = time.perf_counter() - start
        return TrainResult(
            epochs=cfg.schedule.epochs,
            steps=step,
            seconds=seconds,
            images_per_second=images / seconds if seconds > 0 else 0.0,
            data_wait_fraction=wait / seconds if seconds > 0 else 0.0,
            final_loss=last_loss,
            history=history,
        )
