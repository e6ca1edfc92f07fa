"""The README's main job: ``agreid run`` with no arguments trains BoT (cpu) on the embedded
data and beats chance by a wide margin. Takes a few minutes on two cores."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from agreid_core.data.dataset import LoadOptions
from agreid_core.data.datasets.agreid_v1 import load_agreid_v1

from .conftest import agreid


@pytest.mark.slow
def test_default_run_beats_chance(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "run"
    result = agreid("run", "--output", str(out), env={"AGREID_CACHE": str(cache)}, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "overall" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert (config["method"], config["profile"], config["dataset"]) == ("bot", "cpu", "embedded")

    [tree] = (cache / "embedded").iterdir()
    data = load_agreid_v1(tree, LoadOptions(strict=True))
    results = pl.read_csv(out / "results.csv")
    for proto in data.protocols:
        q = data.rows_of(proto.query_subsets)["pid"].to_list()
        g = data.rows_of(proto.gallery_subsets)["pid"].value_counts()
        counts = dict(zip(g["pid"].to_list(), g["count"].to_list(), strict=True))
        gallery_size = sum(counts.values())
        chance_r1 = 100 * sum(counts.get(pid, 0) for pid in q) / (len(q) * gallery_size)
        row = results.filter(pl.col("protocol") == proto.name).row(0, named=True)
        assert row["R1"] > 10 * chance_r1, (proto.name, row["R1"], chance_r1)
        assert row["mAP"] > 5 * chance_r1
        assert row["queries"] == len(q) and row["skipped"] == 0
