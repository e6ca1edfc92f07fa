"""Evaluate a model on every protocol of a dataset; results as a polars table.

The ``overall`` row pools the queries of all protocols: each metric is the query-weighted
mean of the protocol rows (every metric is a per-query mean, so this equals evaluating the
pooled query set against its own protocol's gallery).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import torch
from torch import nn

from agreid_core.config import EvalConfig, InputConfig
from agreid_core.data.dataset import ReIDData
from agreid_core.evaluation.extract import extract_features
from agreid_core.evaluation.metrics import RankingMetrics, evaluate_features

RESULT_COLUMNS = [
    "method",
    "dataset",
    "protocol",
    "R1",
    "R5",
    "R10",
    "mAP",
    "mINP",
    "queries",
    "skipped",
]


def metrics_row(method: str, dataset: str, protocol: str, m: RankingMetrics) -> dict[str, object]:
    """One results-table row, metrics in percent."""
    return {
        "method": method,
        "dataset": dataset,
        "protocol": protocol,
        "R1": 100 * m.rank(1),
        "R5": 100 * m.rank(5),
        "R10": 100 * m.rank(10),
        "mAP": 100 * m.mAP,
        "mINP": 100 * m.mINP,
        "queries": m.num_valid,
        "skipped": m.num_skipped,
    }


def overall_row(rows: list[dict[str, object]]) -> dict[str, object]:
    """The query-weighted mean of protocol rows."""
    total = sum(int(r["queries"]) for r in rows)  # type: ignore[call-overload]
    out: dict[str, object] = {k: rows[0][k] for k in ("method", "dataset")}
    out["protocol"] = "overall"
    for key in ("R1", "R5", "R10", "mAP", "mINP"):
        out[key] = sum(float(r[key]) * int(r["queries"]) for r in rows) / max(total, 1)  # type: ignore[arg-type, call-overload]
    out["queries"] = total
    out["skipped"] = sum(int(r["skipped"]) for r in rows)  # type: ignore[call-overload]
    return out


def evaluate_model(
    model: nn.Module,
    data: ReIDData,
    inp: InputConfig,
    cfg: EvalConfig,
    *,
    method: str,
    device: torch.device,
    num_workers: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """Embed the test images once and evaluate every protocol of ``data``."""
    subsets = sorted({s for p in data.protocols for s in (*p.query_subsets, *p.gallery_subsets)})
    test = data.rows_of(subsets).with_row_index("row")
    feats = extract_features(
        model,
        test["path"].to_list(),
        test["camid"].to_list(),
        inp,
        device=device,
        batch_size=cfg.batch_size,
        flip=cfg.flip,
        num_workers=num_workers,
        on_batch=on_batch,
    )
    rows: list[dict[str, object]] = []
    for proto in data.protocols:
        q = test.filter(pl.col("subset").is_in(list(proto.query_subsets)))
        g = test.filter(pl.col("subset").is_in(list(proto.gallery_subsets)))
        qi = torch.as_tensor(q["row"].to_numpy().astype("int64"))
        gi = torch.as_tensor(g["row"].to_numpy().astype("int64"))
        m = evaluate_features(
            feats[qi],
            feats[gi],
            q["pid"].to_numpy(),
            g["pid"].to_numpy(),
            q["camid"].to_numpy(),
            g["camid"].to_numpy(),
            metric=cfg.metric,
        )
        rows.append(metrics_row(method, data.name, proto.name, m))
    if len(rows) > 1:
        rows.append(overall_row(rows))
    return pl.DataFrame(rows).select(RESULT_COLUMNS)
