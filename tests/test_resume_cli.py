"""``agreid run --resume DIR`` after the process was killed mid-epoch reaches the same weights
as an uninterrupted run with the same seed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from .conftest import agreid

ARGS = [
    "--method",
    "toy-cnn",
    "--epochs",
    "4",
    "--seed",
    "7",
    "--set",
    "training.checkpoint_every=1",
]


def _log_lines(run: Path) -> int:
    log = run / "train_log.jsonl"
    return len(log.read_text().splitlines()) if log.is_file() else 0


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(
    installed_example_plugins: dict[str, Path], small_synthetic_tree: Path, tmp_path: Path
) -> None:
    data = ["--data", str(small_synthetic_tree)]
    whole = tmp_path / "whole"
    done = agreid("run", *ARGS, *data, "--output", str(whole))
    assert done.returncode == 0, done.stderr[-2000:]
    steps = _log_lines(whole)
    assert steps >= 8

    killed = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agreid_cli", "run", *ARGS, *data, "--output", str(killed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while _log_lines(killed) < steps // 2 + 1 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "model.safetensors").exists(), "the run finished before it was killed"
    assert (killed / "checkpoint.safetensors").is_file()

    resumed = agreid("run", "--resume", str(killed))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming toy-cnn" in resumed.stdout
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), key
    assert _log_lines(killed) == steps
    assert (killed / "results.csv").is_file()


def test_resume_needs_an_earlier_run(tmp_path: Path) -> None:
    result = agreid("run", "--resume", str(tmp_path))
    assert result.returncode == 2
    assert "config.json" in result.stderr and str(tmp_path) in result.stderr
