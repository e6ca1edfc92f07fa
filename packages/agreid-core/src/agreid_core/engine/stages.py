"""Multi-stage and ensemble methods: stages trained in order, each checkpointed on its own.

A method whose :class:`~agreid_core.method.MethodSpec` has ``stages`` is trained stage by
stage; each :class:`Stage` builds its recipe from a :class:`StageContext` that holds the
models of the stages before it (pseudo-labelling, two-stage schedules, ensemble members).
Every stage trains into ``<run>/stages/<name>/`` with its own resumable checkpoint; a stage
whose ``model.safetensors`` exists is complete and only reloaded, so ``agreid run --resume``
continues at the stage it reached. ``MethodSpec.assemble`` turns the trained stages into the
model that is evaluated (an ensemble's fused features, the last stage by default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import torch
from torch import nn

from agreid_core.config import TrainingConfig
from agreid_core.data.dataset import ReIDData
from agreid_core.data.index import ATTRIBUTE_PREFIX, attribute_columns
from agreid_core.method import DataInfo, Recipe

#: ``StageContext.notes`` key: set it (to a short reason) when a stage trains on the test
#: images without their labels (pseudo-labels, clustering); every result row then says so.
TRANSDUCTIVE = "transductive"


@dataclass
class StageContext:
    """What a stage may read: the method config, the data, and the earlier stages' models."""

    config: Any
    data: ReIDData
    device: torch.device
    seed: int
    num_cameras: int
    models: dict[str, nn.Module] = field(default_factory=dict)
    recipes: dict[str, Recipe] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def info(self, rows: pl.DataFrame) -> DataInfo:
        """The :class:`DataInfo` of training rows ``rows``."""
        return DataInfo(
            num_classes=rows["pid"].n_unique(),
            num_cameras=self.num_cameras,
            num_train_samples=rows.height,
            attribute_names=tuple(c[len(ATTRIBUTE_PREFIX) :] for c in attribute_columns(rows)),
        )


@dataclass(frozen=True)
class Stage:
    """One trained part of a method.

    ``build(ctx, info)`` returns the stage's recipe; ``training(cfg)`` adapts the method's
    training config for this stage (epochs, learning rate, …; default unchanged);
    ``train_rows(ctx)`` chooses its training rows (default: the dataset's train split, e.g.
    a pseudo-labelled union for a retraining stage).
    """

    name: str
    build: Callable[[StageContext, DataInfo], Recipe]
    training: Callable[[TrainingConfig], TrainingConfig] | None = None
    train_rows: Callable[[StageContext], pl.DataFrame] | None = None
    summary: str = ""


def stage_dir(output_dir: Path, name: str) -> Path:
    """Where stage ``name`` of a run in ``output_dir`` keeps its files."""
    return output_dir / "stages" / name
