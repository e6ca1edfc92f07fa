"""Attribute columns of the training rows reach the criterion as the ``attributes`` target."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import build, make_rows, tiny_cfg

from agreid_core.engine.trainer import Trainer, attribute_targets
from agreid_core.method import Criterion, LossTerm


class AttributeProbe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Tensor] = []

    def forward(self, features: Tensor, attributes: Tensor) -> Tensor:
        self.seen.append(attributes.clone())
        return features.sum() * 0.0


def test_attribute_targets_table() -> None:
    rows = pl.DataFrame({"pid": [1, 2], "attr_gender": [1, None], "attr_age": [0, 3]})
    assert attribute_targets(rows).tolist() == [[1, 0], [-1, 3]]  # type: ignore[union-attr]
    assert attribute_targets(rows.select("pid")) is None


def test_batches_carry_their_rows_attributes(tmp_path: Path) -> None:
    rows = make_rows(tmp_path, n_ids=4, per_platform=2)
    rows = rows.with_columns(
        (pl.col("pid") % 2).alias("attr_gender"), (pl.col("pid") * 10).alias("attr_code")
    )
    model, ce = build(rows)
    probe = AttributeProbe()
    criterion = Criterion([*ce.terms, LossTerm("attr", probe, "features", "attributes")])
    Trainer(model, criterion, tiny_cfg(), device=torch.device("cpu")).fit(rows)
    assert probe.seen
    for batch in probe.seen:
        assert batch.shape == (4, 2)
        for gender, code in batch.tolist():
            assert gender == (code // 10) % 2  # each row's own attributes, in column order
