"""Smoke runs of the benchmark scripts (``--quick``): they must keep working as the code
changes. Timings are not checked here; the benchmarks print them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLIBC = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"


def _run(script: str, *args: str, tmp_path: Path) -> str:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GLIBC_TUNABLES": GLIBC,
        "AGREID_CACHE": os.environ.get("AGREID_CACHE", str(tmp_path / "cache")),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "script", ["bench_metrics.py", "bench_rerank.py", "bench_large_gallery.py"]
)
def test_evaluation_benchmarks_run(script: str, tmp_path: Path) -> None:
    assert _run(script, tmp_path=tmp_path).strip()


@pytest.mark.slow
def test_throughput_benchmark_covers_image_and_video_methods(tmp_path: Path) -> None:
    out = tmp_path / "throughput.csv"
    _run("bench_throughput.py", "--methods", "bot,tf-clip", "--csv", str(out), tmp_path=tmp_path)
    table = pl.read_csv(out)
    assert table["method"].to_list() == ["bot", "tf-clip"]
    assert table["infer unit"].to_list() == ["images", "tracklets"]
    assert (table["train items/s"] > 0).all() and (table["infer items/s"] > 0).all()
    assert ((table["data wait %"] >= 0) & (table["data wait %"] <= 100)).all()
