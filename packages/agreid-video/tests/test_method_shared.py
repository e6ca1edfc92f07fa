"""Shared parts of the CLIP video recipes (losses, camera views, identity memory), plus the
tiny-data helpers the ``test_method_*`` files import."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch
from PIL import Image
from torch import Tensor

from agreid_core.config import EvalConfig, InputConfig, SamplerConfig, TrainingConfig
from agreid_core.engine.trainer import Trainer
from agreid_core.method import Criterion, DataInfo, Recipe
from agreid_video.methods.camera_views import camera_view_table, parse_camera_views
from agreid_video.methods.clip_video_net import IdentityMemory
from agreid_video.methods.losses import (
    AttributeCrossEntropy,
    FrameLoss,
    MemoryLinkedLoss,
    MemoryToVideoContrast,
)

sys.path.insert(0, str(Path(__file__).parent))

CAMS = torch.tensor([0, 1, 4, 5, 0, 1, 4, 5])
PIDS = torch.arange(4).repeat_interleave(2)


def info(num_classes: int = 4, attributes: tuple[str, ...] = ()) -> DataInfo:
    """A toy DataInfo with the AG-VPReID camera range (0..5)."""
    return DataInfo(num_classes, 6, 2 * num_classes, attributes)


def clips(batch: int = 8, t: int = 4, h: int = 64, w: int = 32) -> Tensor:
    """Random normalised clips (B, T, 3, H, W)."""
    torch.manual_seed(0)
    return torch.randn(batch, t, 3, h, w)


def refresh(recipe: Recipe, x: Tensor, pids: Tensor, cams: Tensor) -> None:
    """What the trainer does at epoch start: eval-mode features into every loss hook."""
    recipe.model.eval()
    with torch.no_grad():
        out = recipe.model(x, cams)
    for term in recipe.losses:
        for m in term.loss.modules():
            hook = getattr(m, "refresh_from_features", None)
            if callable(hook):
                hook(out[str(getattr(m, "feature_key", "features"))], pids, cams)


def train_step(recipe: Recipe, x: Tensor, extra: dict[str, Tensor] | None = None) -> dict[str, Any]:
    """Refresh, one training forward + backward; returns the loss parts."""
    refresh(recipe, x, PIDS, CAMS)
    recipe.model.train()
    targets = {"pids": PIDS, "camids": CAMS, **(extra or {})}
    result = Criterion(recipe.losses)(recipe.model(x, CAMS), targets)
    assert torch.isfinite(result.total)
    result.total.backward()
    return dict(result.parts)


def tracklet_rows(root: Path, n_ids: int = 4, cams: tuple[int, ...] = (0, 4)) -> pl.DataFrame:
    """Tiny tracklets (4 PNG frames of 32×16) — one per identity and camera."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for pid in range(n_ids):
        base = rng.integers(0, 255, 3)
        for cam in cams:
            frames = []
            for f in range(4):
                path = root / f"p{pid}_c{cam}_{f}.png"
                noise = rng.integers(0, 60, (32, 16, 3))
                Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path)
                frames.append(str(path))
            rows.append(
                {
                    "path": frames[0],
                    "frames": frames,
                    "pid": 100 + pid,
                    "camid": cam,
                    "platform": "aerial" if cam >= 4 else "cctv",
                    "attr_gender": pid % 2,
                    "attr_age": -1 if pid == 0 else pid,
                }
            )
    return pl.DataFrame(rows)


def tiny_training(cfg: TrainingConfig, epochs: int = 1) -> TrainingConfig:
    """``cfg`` shrunk for a unit test: P2×K2 clips of 4 frames, 1 epoch."""
    return replace(
        cfg,
        sampler=replace(cfg.sampler, ids_per_batch=2, instances_per_id=2, clip_length=4),
        schedule=replace(cfg.schedule, epochs=epochs, warmup_iters=1),
        eval=replace(cfg.eval, clip_length=4),
        num_workers=0,
    )


def fit(recipe: Recipe, cfg: TrainingConfig, rows: pl.DataFrame) -> float:
    """Train ``recipe`` with the real trainer on ``rows``; returns the final loss."""
    result = Trainer(
        recipe.model,
        Criterion(recipe.losses),
        cfg,
        device=torch.device("cpu"),
        head_prefixes=tuple(recipe.head_parameter_prefixes),
    ).fit(rows)
    assert result.steps > 0
    return float(result.final_loss)


# ---------------------------------------------------------------------------- shared tests


def test_v2m_fixture_of_the_card() -> None:
    """Card §6: V = [1,0],[.8,.6],[0,1],[-.6,.8]; y [0,0,1,1]; M0 [.96,.28] → 1.024395 for
    identity 0 (with M1 far from every video, only id 0's term is checked)."""
    v = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    m0 = torch.tensor([0.96, 0.28])
    sims = torch.stack([v @ m0, torch.zeros(4)], dim=1)
    loss = MemoryToVideoContrast()(sims[:, :1], torch.tensor([0, 0, 0, 0]))
    # all four are positives of id 0 → log-softmax over the batch sums to the full row
    assert float(loss) > 0
    only0 = MemoryToVideoContrast()(sims, torch.tensor([0, 0, 1, 1]))
    per_id0 = -torch.log_softmax(v @ m0, dim=0)[:2].mean()
    per_id1 = -torch.log_softmax(torch.zeros(4), dim=0)[2:].mean()
    assert torch.isclose(per_id0, torch.tensor(1.024395), atol=1e-5)
    assert torch.isclose(only0, (per_id0 + per_id1) / 2, atol=1e-6)


def test_frame_loss_repeats_clip_labels() -> None:
    logits = torch.randn(2, 3, 5)
    y = torch.tensor([1, 4])
    ce = torch.nn.CrossEntropyLoss()
    expected = ce(logits.flatten(0, 1), torch.tensor([1, 1, 1, 4, 4, 4]))
    assert torch.isclose(FrameLoss(ce)(logits, y), expected)
    with pytest.raises(ValueError):
        FrameLoss(ce)(logits[0], y)


def test_memory_linked_loss_builds_the_owner_memory_once() -> None:
    memory = IdentityMemory(3, 2, "once")

    class Owner:
        def build_memory(self, features: Tensor, labels: Tensor) -> bool:
            return memory.build(features, labels)

    loss = MemoryLinkedLoss(torch.nn.CrossEntropyLoss(), Owner(), "proj_features")
    assert loss.feature_key == "proj_features" and not list(loss.children())[1:]
    f = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    loss.refresh_from_features(f, torch.tensor([0, 0, 1, 2]))
    assert torch.equal(memory.memory, torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, 5.0]]))
    loss.refresh_from_features(f * 10, torch.tensor([0, 0, 1, 2]))  # "once": unchanged
    assert torch.equal(memory.memory[0], torch.tensor([2.0, 0.0]))
    every = IdentityMemory(3, 2, "every-epoch")
    every.build(f, torch.tensor([0, 0, 1, 2]))
    assert every.build(f * 10, torch.tensor([0, 0, 1, 2]))
    assert torch.equal(every.memory[0], torch.tensor([20.0, 0.0]))


def test_attribute_ce_ignores_unknown() -> None:
    logits = torch.randn(3, 5, requires_grad=True)  # attrs with 3 and 2 classes
    targets = torch.tensor([[0, 9, 1], [2, 9, -1], [-1, 9, 0]])  # data columns 0 and 2
    loss = AttributeCrossEntropy([3, 2], [0, 2], [2, None])
    value = loss(logits, targets)
    ce = torch.nn.functional.cross_entropy
    expected = (
        ce(logits[:1, :3], torch.tensor([0])) + ce(logits[[0, 2], 3:], targets[[0, 2], 2])
    ) / 2
    assert torch.isclose(value, expected)
    value.backward()
    assert logits.grad is not None and logits.grad[1, :3].abs().sum() == 0  # unknown class


def test_camera_views_mapping() -> None:
    assert parse_camera_views(["0:cctv", "4:aerial", "2:wearable"]) == {0: 1, 4: 0, 2: 2}
    table = camera_view_table(["4:aerial"], 6, "cctv")
    assert table.tolist() == [1, 1, 1, 1, 0, 1]
    with pytest.raises(ValueError):
        parse_camera_views(["0:drone"])


def test_tiny_training_helper_keeps_input() -> None:
    base = TrainingConfig(input=InputConfig(64, 32), sampler=SamplerConfig(clip_length=8))
    cfg = tiny_training(replace(base, eval=EvalConfig(clip_length=8)))
    assert cfg.sampler.clip_length == 4 and cfg.input.height == 64 and cfg.eval.clip_length == 4
