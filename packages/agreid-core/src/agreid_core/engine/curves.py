"""The training curve: loss parts and learning rate per step, validation metrics per epoch."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

_STEP_KEYS = ("epoch", "step", "lr")
_VAL_PREFIX = "val_"


def read_log(log_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The step records and the validation records of a ``train_log.jsonl``."""
    steps: list[dict[str, Any]] = []
    vals: list[dict[str, Any]] = []
    for line in log_path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if any(k.startswith(_VAL_PREFIX) for k in rec):
            vals.append(rec)
        elif "loss" in rec:
            steps.append(rec)
    return steps, vals


def plot_training_curve(
    log_path: Path,
    out_path: Path,
    *,
    size: tuple[float, float] = (10.0, 6.0),
    dpi: int = 100,
) -> Path:
    """Write ``out_path`` (PNG, ``size × dpi`` pixels) from the JSONL log at ``log_path``.

    Top: every loss part and the total per step (log scale when all positive), LR on a
    second axis. Bottom: validation metrics per epoch (empty when there were none).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps, vals = read_log(log_path)
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    ax_loss, ax_val = fig.subplots(2, 1)
    x = [r["step"] for r in steps]
    parts = sorted({k for r in steps for k in r if k not in _STEP_KEYS})
    positive = True
    for key in parts:
        y = [float(r.get(key, math.nan)) for r in steps]
        positive = positive and all(v > 0 for v in y if math.isfinite(v))
        ax_loss.plot(x, y, label=key, linewidth=1.5 if key == "loss" else 0.8)
    if steps and positive:
        ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    if parts:
        ax_loss.legend(loc="upper right", fontsize="small")
    if steps:
        ax_lr = ax_loss.twinx()
        ax_lr.plot(x, [r["lr"] for r in steps], color="black", linestyle="--", linewidth=0.8)
        ax_lr.set_ylabel("learning rate")
    metrics = sorted({k for r in vals for k in r if k.startswith(_VAL_PREFIX)})
    for key in metrics:
        pts = [(r["epoch"] + 1, float(r[key])) for r in vals if key in r]
        ax_val.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=key)
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel("validation (%)")
    if metrics:
        ax_val.legend(loc="lower right", fontsize="small")
    else:
        ax_val.text(0.5, 0.5, "no validation", ha="center", va="center")
    fig.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    fig.savefig(str(tmp), format="png", dpi=dpi)
    tmp.replace(out_path)
    return out_path
