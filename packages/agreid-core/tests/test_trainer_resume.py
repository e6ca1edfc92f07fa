"""Resumable checkpoints: a run SIGKILLed mid-epoch resumes to the uninterrupted weights."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import build, make_rows, state_of, tiny_cfg

from agreid_core.config import ScheduleConfig
from agreid_core.engine.state import CHECKPOINT_NAME, load_training_state
from agreid_core.engine.trainer import Trainer, TrainingDivergedError, TrainingInterrupted
from agreid_core.method import Criterion, LossTerm

HELPERS = Path(__file__).parent / "_trainer_helpers.py"
CPU = torch.device("cpu")


@pytest.fixture
def single_thread() -> object:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield None
    torch.set_num_threads(before)


def test_killed_run_resumes_to_the_same_weights(tmp_path: Path, single_thread: object) -> None:
    rows = make_rows(tmp_path / "img")
    rows.write_parquet(tmp_path / "rows.parquet")
    run_dir = tmp_path / "run"
    env = {
        **os.environ,
        "AGREID_TEST_ROWS": str(tmp_path / "rows.parquet"),
        "AGREID_TEST_KILL_AT": "13",  # epoch 1 (9 steps per epoch), last checkpoint at step 12
        "AGREID_TEST_RUN_DIR": str(run_dir),
        "AGREID_TEST_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, str(HELPERS), "kill"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    saved = load_training_state(run_dir / CHECKPOINT_NAME)
    assert (saved.counters.step, saved.counters.epoch, saved.counters.position) == (12, 1, 3)
    assert saved.run_info == {"who": "subprocess"}
    # the log holds step 13, written after the checkpoint: resuming must drop it
    assert json.loads((run_dir / "train_log.jsonl").read_text().splitlines()[-1])["step"] == 13

    # reference: the same training, uninterrupted, in this process
    ref_model, ref_crit = build(rows)
    ref = Trainer(ref_model, ref_crit, tiny_cfg(checkpoint_every=2), device=CPU).fit(
        rows, checkpoint_dir=tmp_path / "ref"
    )

    model, crit = build(rows, seed=123)  # different init: everything must come from the file
    torch.manual_seed(999)  # and so must the RNG state
    trainer = Trainer(
        model, crit, tiny_cfg(checkpoint_every=2), device=CPU, log_path=run_dir / "train_log.jsonl"
    )
    res = trainer.fit(rows, checkpoint_dir=run_dir, resume=True)
    assert res.resumed_from_step == 12
    assert res.steps == ref.steps == 18
    for key, value in state_of(ref_model).items():
        assert torch.allclose(state_of(model)[key], value, atol=1e-6, rtol=0), key
    assert [r["loss"] for r in res.history] == pytest.approx([r["loss"] for r in ref.history])
    steps = [
        json.loads(line)["step"] for line in (run_dir / "train_log.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(1, 19))
    final = load_training_state(run_dir / CHECKPOINT_NAME)
    assert (final.counters.epoch, final.counters.position, final.counters.step) == (2, 0, 18)


def test_resume_without_a_checkpoint_starts_fresh_and_finished_run_is_a_no_op(
    tmp_path: Path,
) -> None:
    rows = make_rows(tmp_path / "img", n_ids=4, per_platform=2)
    model, crit = build(rows)
    cfg = tiny_cfg(schedule=ScheduleConfig(epochs=1, warmup_iters=0))
    first = Trainer(model, crit, cfg, device=CPU).fit(rows, checkpoint_dir=tmp_path, resume=True)
    assert first.resumed_from_step is None and first.checkpoint_path is not None
    weights = state_of(model)
    again = Trainer(model, crit, cfg, device=CPU).fit(rows, checkpoint_dir=tmp_path, resume=True)
    assert again.resumed_from_step == first.steps
    assert all(torch.equal(v, state_of(model)[k]) for k, v in weights.items())


class NaNAt(nn.Module):
    """Cross-entropy that returns NaN on its ``at``-th call (0-based)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.calls = at, 0
        self.ce = nn.CrossEntropyLoss()

    def forward(self, logits: Tensor, y: Tensor) -> Tensor:
        self.calls += 1
        value: Tensor = self.ce(logits, y)
        return value * math.nan if self.calls - 1 == self.at else value


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img")
    model, _ = build(rows)
    crit = Criterion(
        [LossTerm("ce", NaNAt(5), "logits"), LossTerm("aux", nn.CrossEntropyLoss(), "logits")]
    )
    trainer = Trainer(model, crit, tiny_cfg(checkpoint_every=2), device=CPU)
    ckpt = tmp_path / CHECKPOINT_NAME
    with pytest.raises(TrainingDivergedError) as err:
        trainer.fit(rows, checkpoint_dir=tmp_path)
    msg = str(err.value)
    assert "epoch 0, step 5" in msg
    assert "'ce': nan" in msg and "'aux'" in msg
    assert str(ckpt) in msg and "step 4" in msg
    good = load_training_state(ckpt)
    assert good.counters.step == 4
    assert all(math.isfinite(r["loss"]) for r in good.counters.history)


def test_sigterm_saves_the_state_at_the_step_boundary(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img", n_ids=4, per_platform=2)
    model, crit = build(rows)
    before = signal.getsignal(signal.SIGTERM)

    def on_step(epoch: int, step: int, loss: float) -> None:
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted, match="step 3"):
        Trainer(model, crit, tiny_cfg(), device=CPU).fit(rows, on_step, checkpoint_dir=tmp_path)
    assert load_training_state(tmp_path / CHECKPOINT_NAME).counters.step == 3
    assert signal.getsignal(signal.SIGTERM) is before
