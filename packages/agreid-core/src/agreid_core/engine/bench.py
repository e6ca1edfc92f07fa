"""``agreid bench``: several registered methods on one dataset, as one leaderboard.

Each method runs exactly as ``agreid run`` would (its own output folder under the bench
folder); :func:`leaderboard` then lays the results out like the papers' tables: one row per
method, an ``R1`` and ``mAP`` column per protocol (and per altitude where the dataset has
altitudes) plus ``overall``, with training and inference throughput beside them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from agreid_core.engine.run import RunOutcome
from agreid_core.evaluation.protocol_eval import ALL, FULL


def _column(protocol: str, altitude: str, metric: str) -> str:
    return f"{protocol} {metric}" if altitude == ALL else f"{protocol} {altitude} {metric}"


def leaderboard(outcomes: Sequence[tuple[str, str, RunOutcome]]) -> pl.DataFrame:
    """One row per ``(method, profile, outcome)``: R1/mAP per protocol (full gallery) and
    altitude, ``overall``, train images/s, inference items/s, data-wait share, oracle flag."""
    rows: list[dict[str, object]] = []
    for method, profile, outcome in outcomes:
        row: dict[str, object] = {"method": method, "profile": profile}
        table = outcome.results.filter(pl.col("gallery") == FULL)
        for r in table.iter_rows(named=True):
            for metric in ("R1", "mAP"):
                row[_column(str(r["protocol"]), str(r["altitude"]), metric)] = r[metric]
        train = outcome.train
        row["train img/s"] = train.images_per_second
        row["data wait %"] = 100 * train.data_wait_fraction
        row["train s"] = train.seconds
        ev = outcome.evaluation
        row["infer items/s"] = ev.items_per_second if ev is not None else None
        row["oracle"] = bool(outcome.results["oracle"].any())
        rows.append(row)
    frame = pl.DataFrame(rows, infer_schema_length=None)
    metric_cols = [c for c in frame.columns if c.endswith((" R1", " mAP"))]
    overall = [c for c in metric_cols if c.startswith("overall ")]
    ordered = [c for c in metric_cols if c not in overall] + overall
    rest = [c for c in frame.columns if c not in metric_cols and c not in ("method", "profile")]
    return frame.select(["method", "profile", *ordered, *rest])
