"""Validation split carved from training identities, val-best weights, training curve."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import build, make_rows, tiny_cfg

from agreid_core.engine.checkpoint import load_weights
from agreid_core.engine.curves import plot_training_curve
from agreid_core.engine.trainer import BEST_NAME, Trainer
from agreid_core.engine.validation import VAL_GALLERY, VAL_QUERY, split_validation

CPU = torch.device("cpu")


def test_split_holds_out_whole_identities_by_platform(tmp_path: Path) -> None:
    rows = make_rows(
        tmp_path / "img", n_ids=10, per_platform=2, platforms=("aerial", "cctv", "wearable")
    )
    split = split_validation(rows, 0.2, seed=3)
    held = set(split.index["pid"].to_list())
    assert len(held) == 2
    assert held.isdisjoint(split.train["pid"].to_list())
    assert split.train.height + split.index.height == rows.height
    assert split.query_platform == "aerial"
    assert set(split.query["platform"].to_list()) == {"aerial"}
    assert set(split.gallery["platform"].to_list()) == {"cctv", "wearable"}
    assert set(split.index["subset"].to_list()) == {VAL_QUERY, VAL_GALLERY}
    assert split_validation(rows, 0.2, seed=3).index.equals(split.index)
    others = {
        frozenset(split_validation(rows, 0.2, seed=s).index["pid"].to_list()) for s in range(6)
    }
    assert len(others) > 1
    with pytest.raises(ValueError, match="platform"):
        split_validation(rows.drop("platform"), 0.2)


def test_trainer_validates_keeps_best_and_plots(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img", n_ids=6, per_platform=3)
    model, crit = build(rows)
    cfg = tiny_cfg(val_fraction=0.34, eval_every=1, report_checkpoint="val-best")
    log = tmp_path / "train_log.jsonl"
    result = Trainer(model, crit, cfg, device=CPU, log_path=log).fit(rows, checkpoint_dir=tmp_path)
    vals = [json.loads(line) for line in log.read_text().splitlines() if "val_mAP" in line]
    assert [v["epoch"] for v in vals] == [0, 1]
    assert all(0 <= v["val_R1"] <= 100 and 0 < v["val_mAP"] <= 100 for v in vals)
    assert result.val_history == vals
    assert result.checkpoint == "val-best"
    assert result.best_path == tmp_path / BEST_NAME
    assert result.best_val_mAP == max(v["val_mAP"] for v in vals)
    load_weights(model, result.best_path)  # loads into the same architecture
    # only 4 training identities are left: the classifier targets stay < 4
    assert result.steps == 2 * (4 * 6 // 2 // 2)  # 4 ids × 6 images, K=2, P=2

    png = plot_training_curve(log, tmp_path / "training_curve.png", size=(8.0, 5.0), dpi=50)
    with Image.open(png) as img:
        img.load()
        assert img.size == (400, 250)
        assert img.format == "PNG"


def test_last_is_reported_without_validation(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img", n_ids=4, per_platform=2)
    model, crit = build(rows)
    cfg = tiny_cfg(report_checkpoint="val-best")
    log = tmp_path / "log.jsonl"
    result = Trainer(model, crit, cfg, device=CPU, log_path=log).fit(rows)
    assert result.checkpoint == "last" and result.best_path is None
    png = plot_training_curve(log, tmp_path / "curve.png")
    with Image.open(png) as img:
        assert img.size == (1000, 600)
