"""The training log: JSON lines always, TensorBoard scalars when tensorboard is installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from agreid_core.engine.metric_log import MetricLog


def test_json_lines_are_appended_and_flushed(tmp_path: Path) -> None:
    log = MetricLog(tmp_path / "run" / "train_log.jsonl", tensorboard=False)
    log.write({"epoch": 0, "step": 1, "loss": 2.5})
    assert json.loads((tmp_path / "run" / "train_log.jsonl").read_text()) == {
        "epoch": 0,
        "step": 1,
        "loss": 2.5,
    }
    log.write({"epoch": 0, "step": 2, "loss": 2.0})
    log.close()
    assert len((tmp_path / "run" / "train_log.jsonl").read_text().splitlines()) == 2
    assert not log.tensorboard and not (tmp_path / "run" / "tensorboard").exists()


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="needs tensorboard")
def test_scalars_are_mirrored_to_tensorboard(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = MetricLog(tmp_path / "train_log.jsonl")
    assert log.tensorboard
    for step, loss in ((1, 3.0), (2, 1.5)):
        log.write({"epoch": 0, "step": step, "loss": loss, "lr": 0.1})
    log.write({"epoch": 0, "step": 2, "val_mAP": 42.0})
    log.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["loss", "lr", "val_mAP"]
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(1, 3.0), (2, 1.5)]
    assert events.Scalars("val_mAP")[0].value == 42.0
