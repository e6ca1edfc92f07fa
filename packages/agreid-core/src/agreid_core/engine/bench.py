"""``agreid bench``: several registered methods on one dataset, as one leaderboard.

With ``--ablate KEY`` (a boolean config field, repeatable) every method also runs once with
that field flipped, so an ablation table is one command. Flipping an evaluation option
(``training.eval.*``: re-ranking, centroid gallery, flip, …) does not retrain: the variant
re-evaluates the base run's trained weights.

Each method runs exactly as ``agreid run`` would (its own output folder under the bench
folder); :func:`leaderboard` then lays the results out like the papers' tables: one row per
method, an ``R1`` and ``mAP`` column per protocol (and per altitude where the dataset has
altitudes) plus ``overall``, with training and inference throughput beside them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from agreid_core.config import apply_overrides, get_field
from agreid_core.engine.run import RunOutcome
from agreid_core.evaluation.protocol_eval import ALL, FULL
from agreid_core.plugins.host import PluginHost


def _column(protocol: str, altitude: str, metric: str) -> str:
    return f"{protocol} {metric}" if altitude == ALL else f"{protocol} {altitude} {metric}"


def leaderboard(
    outcomes: Sequence[tuple[str, str, RunOutcome]], kind: Literal["image", "video"] = "image"
) -> pl.DataFrame:
    """One row per ``(method, profile, outcome)``: R1/mAP per protocol (full gallery) and
    altitude, ``overall``, training and inference throughput, data-wait share, oracle flag.

    Throughput columns are ``train img/s`` / ``infer items/s`` on image data and
    ``train clips/s`` / ``infer tracklets/s`` on video data (``kind``).
    """
    train_col, infer_col = (
        ("train img/s", "infer items/s")
        if kind == "image"
        else ("train clips/s", "infer tracklets/s")
    )
    rows: list[dict[str, object]] = []
    for method, profile, outcome in outcomes:
        row: dict[str, object] = {"method": method, "profile": profile}
        table = outcome.results.filter(pl.col("gallery") == FULL)
        for r in table.iter_rows(named=True):
            for metric in ("R1", "mAP"):
                row[_column(str(r["protocol"]), str(r["altitude"]), metric)] = r[metric]
        train = outcome.train
        trained = train.steps > 0  # 0: weights re-evaluated or reloaded, nothing measured
        row[train_col] = train.images_per_second if trained else None
        row["data wait %"] = 100 * train.data_wait_fraction if trained else None
        row["train s"] = train.seconds if trained else None
        ev = outcome.evaluation
        row[infer_col] = ev.items_per_second if ev is not None else None
        row["oracle"] = bool(outcome.results["oracle"].any())
        rows.append(row)
    frame = pl.DataFrame(rows, infer_schema_length=None)
    metric_cols = [c for c in frame.columns if c.endswith((" R1", " mAP"))]
    overall = [c for c in metric_cols if c.startswith("overall ")]
    ordered = [c for c in metric_cols if c not in overall] + overall
    rest = [c for c in frame.columns if c not in metric_cols and c not in ("method", "profile")]
    return frame.select(["method", "profile", *ordered, *rest])


def altitude_tables(results: Sequence[tuple[str, pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    """The AG-VPReID2025 report's layout for ``(method label, results table)`` pairs.

    Key ``all``: Table 3 (R1/R5/R10/mAP of every protocol and ``overall``, all altitudes);
    one key per altitude (``80 m``, ``120 m``): Tables 4–5 (R1/mAP per protocol and the
    altitude's ``overall``). Full galleries only; an ``oracle`` column where a row is oracle.
    Empty when the results have no altitude rows (image datasets: the leaderboard is the
    papers' layout there).
    """
    altitudes: list[str] = []
    for _, table in results:
        for a in table.filter(pl.col("gallery") == FULL)["altitude"].to_list():
            if a != ALL and a not in altitudes:
                altitudes.append(a)
    if not altitudes:
        return {}
    out: dict[str, pl.DataFrame] = {}
    for altitude in [ALL, *altitudes]:
        metrics = ("R1", "R5", "R10", "mAP") if altitude == ALL else ("R1", "mAP")
        rows: list[dict[str, object]] = []
        for label, table in results:
            part = table.filter((pl.col("gallery") == FULL) & (pl.col("altitude") == altitude))
            row: dict[str, object] = {"method": label}
            for r in part.iter_rows(named=True):
                for metric in metrics:
                    row[f"{r['protocol']} {metric}"] = r[metric]
            row["oracle"] = bool(part["oracle"].any())
            rows.append(row)
        frame = pl.DataFrame(rows, infer_schema_length=None)
        if not frame["oracle"].any():
            frame = frame.drop("oracle")
        out[altitude] = frame
    return out


def check_same_run(folder: Path, expected: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless the run saved in ``folder`` (its config.json) was started
    with the ``expected`` ``method``, ``profile``, ``dataset``, ``seed``, ``epochs`` and
    ``overrides``: resuming it under other settings would mix two experiments."""
    from agreid_core.engine.run import resume_arguments

    saved = resume_arguments(folder)
    saved["dataset"] = saved["dataset"] or saved["data"]  # a generated dataset's name is its data
    diff = [
        f"{key} {saved.get(key)!r} (asked: {value!r})"
        for key, value in expected.items()
        if saved.get(key) != value
    ]
    if diff:
        raise ValueError(
            f"{folder}: this run was started with other settings: {'; '.join(diff)}; "
            "resume it with the same options, or bench into a new --output folder"
        )


@dataclass(frozen=True)
class Variant:
    """One bench row to produce: a method with extra overrides.

    ``reuses`` names the variant whose trained weights this one only re-evaluates (set when
    the overrides change evaluation options only).
    """

    label: str
    method: str
    overrides: tuple[str, ...] = ()
    reuses: str | None = None

    @property
    def folder(self) -> str:
        """A file-name-safe folder name for the variant's run."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.label).strip("_")


def plan_variants(
    host: PluginHost,
    methods: Sequence[str],
    profile: str,
    ablate: Sequence[str] = (),
    overrides: Sequence[str] = (),
) -> list[Variant]:
    """Each method, then one variant per ablated boolean field it has, flipped.

    Raises ``ValueError`` when an ablated field is not boolean, and when no method has it.
    """
    out: list[Variant] = []
    used = dict.fromkeys(ablate, False)
    for method in methods:
        cfg = apply_overrides(
            host.methods.get(method, host.failed_hint()).config(profile), list(overrides)
        )
        out.append(Variant(method, method))
        for key in ablate:
            try:
                current = get_field(cfg, key)
            except KeyError:
                continue  # a part this method does not have
            if not isinstance(current, bool):
                raise ValueError(
                    f"--ablate {key}: only boolean config fields can be ablated, "
                    f"{method}'s is {current!r}"
                )
            used[key] = True
            name = key.rsplit(".", 1)[-1]
            out.append(
                Variant(
                    f"{method} [{name}={'off' if current else 'on'}]",
                    method,
                    (f"{key}={str(not current).lower()}",),
                    method if key.startswith("training.eval.") else None,
                )
            )
    unused = [k for k, hit in used.items() if not hit]
    if unused:
        raise ValueError(f"--ablate: no benched method has the field(s) {unused}")
    return out
