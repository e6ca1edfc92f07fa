"""Dotted-path config overrides and their type conversion."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from agreid_core.config import TrainingConfig, apply_overrides, override, to_dict


@dataclass(frozen=True)
class Cfg:
    training: TrainingConfig = field(default_factory=TrainingConfig)
    depth: int = 50
    weights: str | None = None
    margin: float | None = 0.3


def test_nested_override_converts_types() -> None:
    cfg = apply_overrides(
        Cfg(),
        [
            "training.schedule.epochs=3",
            "training.optim.lr=1e-3",
            "training.amp=true",
            "training.schedule.milestones=2,5",
            "training.eval.metric=euclidean",
            "weights=/tmp/w.safetensors",
            "margin=none",
        ],
    )
    assert cfg.training.schedule.epochs == 3
    assert cfg.training.optim.lr == pytest.approx(1e-3)
    assert cfg.training.amp is True
    assert cfg.training.schedule.milestones == (2, 5)
    assert cfg.training.eval.metric == "euclidean"
    assert cfg.weights == "/tmp/w.safetensors"
    assert cfg.margin is None
    assert Cfg().training.schedule.epochs == 120  # the original is untouched


def test_override_with_typed_value() -> None:
    assert override(Cfg(), "depth", 101).depth == 101


def test_unknown_field_names_valid_ones() -> None:
    with pytest.raises(KeyError, match="valid: .*input.*sampler"):
        override(Cfg(), "training.nope", "1")


def test_bad_values_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="training.schedule.epochs: 'three' is not a valid int"):
        override(Cfg(), "training.schedule.epochs", "three")
    with pytest.raises(ValueError, match="not one of cosine, euclidean"):
        override(Cfg(), "training.eval.metric", "manhattan")
    with pytest.raises(ValueError, match="not a boolean"):
        override(Cfg(), "training.amp", "maybe")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        apply_overrides(Cfg(), ["depth"])


def test_to_dict_round_trips_values() -> None:
    d = to_dict(Cfg())
    assert d["training"]["sampler"]["ids_per_batch"] == 16
    assert d["depth"] == 50
