"""The trainer builds the batch sampler ``training.sampler.name`` names."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import build, make_rows, tiny_cfg

from agreid_core.config import SamplerConfig
from agreid_core.engine.trainer import Trainer


def test_platform_pk_batches_hold_every_platform_of_each_identity(tmp_path: Path) -> None:
    rows = make_rows(tmp_path, n_ids=4, per_platform=2)
    model, criterion = build(rows)
    cfg = replace(
        tiny_cfg(), sampler=SamplerConfig(name="platform-pk", ids_per_batch=2, instances_per_id=2)
    )
    batches: list[list[int]] = []
    Trainer(model, criterion, cfg, device=torch.device("cpu")).fit(
        rows, on_batch=lambda e, s, idx: batches.append(idx.tolist())
    )
    assert batches
    platforms = rows["platform"].to_list()
    pids = rows["pid"].to_list()
    for batch in batches:
        assert len(batch) == 2 * 2 * 2  # P ids × 2 platforms × K
        for pid in {pids[i] for i in batch}:
            seen = [platforms[i] for i in batch if pids[i] == pid]
            assert sorted(seen) == ["aerial"] * 2 + ["cctv"] * 2


def test_unknown_sampler_and_missing_platform_are_named(tmp_path: Path) -> None:
    rows = make_rows(tmp_path, n_ids=4, per_platform=2)
    model, criterion = build(rows)
    trainer = Trainer(
        model,
        criterion,
        replace(tiny_cfg(), sampler=SamplerConfig(name="nope")),
        device=torch.device("cpu"),
    )
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        trainer.fit(rows)
    trainer = Trainer(
        model,
        criterion,
        replace(tiny_cfg(), sampler=SamplerConfig(name="platform-pk", ids_per_batch=2)),
        device=torch.device("cpu"),
    )
    with pytest.raises(ValueError, match="needs a platform"):
        trainer.fit(rows.with_columns(pl.lit(None, dtype=pl.String).alias("platform")))
