"""``agreid tune`` (MFHO) end to end with the third-party ``toy-cnn``: the search is killed after
its first trial, resumed, and ends with every trial recorded exactly once, a validation-mAP
value per epoch, and a best profile that ``agreid run`` overrides can use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from .conftest import agreid

optuna = pytest.importorskip("optuna")

SPACE = [
    "--space",
    "training.optim.lr=loguniform(1e-4,1e-2)",
    "--space",
    "training.optim.weight_decay=choice(0.0,0.0005)",
]
FINISHED = ("COMPLETE", "PRUNED")


def _finished_trials(out: Path) -> int:
    path = out / "trials.csv"
    if not path.is_file():
        return 0
    try:
        table = pl.read_csv(path)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError):
        return 0  # being rewritten
    return int(table["state"].is_in(FINISHED).sum())


@pytest.mark.slow
def test_tune_is_killed_resumed_and_records_every_trial_once(
    installed_example_plugins: dict[str, Path], small_synthetic_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "search"
    args = [
        "tune", "--method", "toy-cnn", "--data", str(small_synthetic_tree), *SPACE,
        "--trials", "3", "--min-epochs", "1", "--max-epochs", "2", "--reduction-factor", "2",
        "--val-fraction", "0.25", "--seed", "5", "--output", str(out),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agreid_cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while _finished_trials(out) < 1 and proc.poll() is None:
        assert time.monotonic() < deadline, "the first trial did not finish"
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _finished_trials(out) < 3

    again = agreid("tune", *args[-2:], "--resume", timeout=300)  # settings from tune.json
    assert again.returncode == 0, again.stderr[-3000:] + again.stdout[-3000:]
    assert "MFHO trials" in again.stdout

    table = pl.read_csv(out / "trials.csv")
    assert table["trial"].to_list() == [0, 1, 2]  # each trial exactly once, none lost
    assert set(table["state"].to_list()) <= set(FINISHED), table
    assert ((table["epochs"] >= 1) & (table["epochs"] <= 2)).all()
    lr = table["training.optim.lr"]
    assert ((lr >= 1e-4) & (lr <= 1e-2)).all() and lr.n_unique() == 3
    stored = pl.read_parquet(out / "trials.parquet")
    assert stored["trial"].to_list() == [0, 1, 2] and stored["state"].equals(table["state"])

    # the study: one validation mAP per trained epoch; completed trials reached max epochs
    study = optuna.load_study(study_name="mfho", storage=f"sqlite:///{out / 'study.db'}")
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in trials] == [0, 1, 2]
    for t in trials:
        assert sorted(t.intermediate_values) == list(range(1, (t.last_step or 0) + 1))
        if t.state.name == "COMPLETE":
            assert t.last_step == 2 and t.value == t.intermediate_values[2]
            assert (out / "trials" / f"{t.number:04d}" / "model.safetensors").is_file()
        row = table.filter(pl.col("trial") == t.number).row(0, named=True)
        assert row["best_val_mAP"] == pytest.approx(max(t.intermediate_values.values()))
    assert not list((out / "trials").rglob("checkpoint.safetensors"))
    assert not list((out / "trials").rglob("results.csv"))  # the test set is never evaluated

    # the best configuration, as a profile file for `agreid run`
    from agreid_core.tuning.search import load_profile

    best = study.best_trial
    profile = load_profile(out / "best.toml")
    assert profile.method == "toy-cnn"
    assert profile.overrides == [
        f"training.optim.lr={best.params['training.optim.lr']!r}",
        f"training.optim.weight_decay={best.params['training.optim.weight_decay']!r}",
    ]
    command = (out / "best_command.txt").read_text()
    assert command.startswith("agreid run --method toy-cnn") and profile.overrides[0] in command
