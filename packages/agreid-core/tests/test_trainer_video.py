"""Training on video tracklets: clips of ``clip_length`` frames, clip-consistent
augmentation, video loss-memory refresh and validation from tracklet features."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import polars as pl
import torch
from torch import Tensor, nn

from agreid_core.config import SamplerConfig
from agreid_core.data.decode import ClipSamples
from agreid_core.engine.trainer import Trainer, label_map
from agreid_core.method import Criterion, LossTerm

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import make_rows, tiny_cfg


def tracklet_rows(root: Path) -> pl.DataFrame:
    """Group the helper's images into 2-3 frame tracklets (one per identity and platform)."""
    images = make_rows(root, n_ids=4, per_platform=3)
    return (
        images.group_by(["pid", "platform"], maintain_order=True)
        .agg(pl.col("path").alias("frames"), pl.col("camid").first())
        .with_columns(pl.col("frames").list.first().alias("path"))
    )


class TinyVideoNet(nn.Module):
    """Per-frame conv features averaged over time; records the clip shapes it saw."""

    input_kind = "video"

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.classifier = nn.Linear(4, num_classes)
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x: Tensor, camids: Tensor) -> dict[str, Tensor]:
        self.shapes.append(tuple(x.shape))
        b, t = x.shape[:2]
        f = torch.relu(self.conv(x.flatten(0, 1))).mean(dim=(2, 3)).view(b, t, -1).mean(dim=1)
        return {"features": f, "embedding": f, "logits": self.classifier(f)}


class MemoryProbe(nn.Module):
    """A loss with a feature memory: records what the trainer refreshes it with."""

    def __init__(self) -> None:
        super().__init__()
        self.refreshed: list[tuple[int, int]] = []

    def refresh_from_features(self, features: Tensor, labels: Tensor, camids: Tensor) -> None:
        self.refreshed.append((features.shape[0], features.shape[1]))

    def forward(self, features: Tensor, pids: Tensor) -> Tensor:
        return features.sum() * 0.0


def test_clip_samples_draw_one_frame_per_chunk(tmp_path: Path) -> None:
    rows = tracklet_rows(tmp_path)
    frames = rows["frames"].to_list()
    ds = ClipSamples(frames, [0] * len(frames), [0] * len(frames), 32, 16, 4)
    clip, _, _, i = ds[0]
    assert clip.shape == (4, 3, 32, 16) and clip.dtype == torch.uint8 and i == 0
    even = ClipSamples(frames, [0] * len(frames), [0] * len(frames), 32, 16, 3, "evenly-spaced")
    assert even[0][0].shape == (3, 3, 32, 16)


def test_trainer_trains_on_clips_and_refreshes_video_memories(tmp_path: Path) -> None:
    rows = tracklet_rows(tmp_path)
    torch.manual_seed(0)
    model = TinyVideoNet(len(label_map(rows["pid"].to_list())))
    probe = MemoryProbe()
    criterion = Criterion(
        [
            LossTerm("ce", nn.CrossEntropyLoss(), "logits"),
            LossTerm("memory", probe, "features"),
        ]
    )
    cfg = replace(
        tiny_cfg(), sampler=SamplerConfig(ids_per_batch=2, instances_per_id=2, clip_length=3)
    )
    result = Trainer(model, criterion, cfg, device=torch.device("cpu")).fit(rows)
    assert result.steps > 0 and torch.isfinite(torch.tensor(result.final_loss))
    train_shapes = [s for s in model.shapes if s[0] == 4]  # P×K = 4 clips per batch
    assert train_shapes and all(s[1:] == (3, 3, 32, 16) for s in train_shapes)
    # one refresh per epoch with one feature per tracklet
    assert probe.refreshed == [(rows.height, 4)] * cfg.schedule.epochs
