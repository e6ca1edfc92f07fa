"""``agreid evaluate --json`` against hand-computed CMC / mAP / mINP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from agreid_cli.app import app

runner = CliRunner()


def _write_case(path: Path) -> None:
    """1-D features with euclidean distance |q - g|.

    Gallery (x, pid, cam): g0 (1, 1, 1), g1 (2, 2, 1), g2 (0.5, 1, 0), g3 (3, 1, 1), g4 (1, 4, 1)
    Queries all at x = 0, cam 0, pids 1, 2, 3.
    q0 (pid 1): stable order g2, g0, g4, g1, g3; g2 is junk (same pid and camera) → g0 g4 g1 g3,
        matches 1 0 0 1: R1 hit (g0 wins the tie with g4 by gallery order), AP = (1/1 + 2/4)/2 = 0.75,
        INP = 2 / 4 = 0.5.
    q1 (pid 2): order g2 g0 g4 g1 g3, matches 0 0 0 1 0: first hit at rank 4, AP = 1/4, INP = 1/4.
    q2 (pid 3): no gallery match → skipped and counted.
    """
    np.savez(
        path,
        query_features=np.zeros((3, 1), dtype=np.float32),
        gallery_features=np.array([[1.0], [2.0], [0.5], [3.0], [1.0]], dtype=np.float32),
        query_pids=np.array([1, 2, 3]),
        gallery_pids=np.array([1, 2, 1, 1, 4]),
        query_camids=np.array([0, 0, 0]),
        gallery_camids=np.array([1, 1, 0, 1, 1]),
    )


def test_evaluate_json_matches_hand_computed_values(tmp_path: Path) -> None:
    npz = tmp_path / "feats.npz"
    _write_case(npz)
    result = runner.invoke(
        app, ["evaluate", "--features", str(npz), "--metric", "euclidean", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["num_valid_queries"] == 2
    assert out["num_skipped_queries"] == 1
    assert out["rank1"] == pytest.approx(0.5)
    assert out["rank5"] == pytest.approx(1.0)
    assert out["rank10"] == pytest.approx(1.0)
    assert out["mAP"] == pytest.approx((0.75 + 0.25) / 2)
    assert out["mINP"] == pytest.approx((0.5 + 0.25) / 2)
    assert out["cmc"][:5] == pytest.approx([0.5, 0.5, 0.5, 1.0, 1.0])


def test_evaluate_human_output(tmp_path: Path) -> None:
    npz = tmp_path / "feats.npz"
    _write_case(npz)
    result = runner.invoke(app, ["evaluate", "--features", str(npz), "--metric", "euclidean"])
    assert result.exit_code == 0
    assert "Rank-1 50.00" in result.stdout and "1 without a valid match skipped" in result.stdout


def test_evaluate_reports_missing_arrays_and_files(tmp_path: Path) -> None:
    npz = tmp_path / "bad.npz"
    np.savez(npz, query_features=np.zeros((2, 3)))
    result = runner.invoke(app, ["evaluate", "--features", str(npz)])
    assert result.exit_code == 2
    assert "missing array(s) gallery_features" in result.output
    result = runner.invoke(app, ["evaluate", "--features", str(tmp_path / "nope.npz")])
    assert result.exit_code == 2 and "no such file" in result.output
