"""Evaluate test features under every protocol of a dataset, with every slice it supports.

For each :class:`~agreid_core.data.dataset.ProtocolSpec` one pass over the query-gallery
distances (see :mod:`agreid_core.evaluation.scoring`) feeds several exact metric
accumulators at once:

- ``altitude="all", gallery="full"``: the protocol as published (distractors included);
- ``altitude="80 m"``, ``"120 m"``, …: the queries of each flight altitude (``altitude_m``)
  against the same full gallery, when the dataset states altitudes (AG-VPReID);
- ``gallery="no-distractors"``: the gallery without identities that no query has (the
  distractor gallery's effect is the difference between the two rows).

It also keeps each query's top-k gallery list (submission files, ranked-list figures) and,
where the protocol names distractor subsets, the top-1 that skips them (AG-ReID 2023's
submission rule). An ``overall`` row pools the protocols' queries as the papers' tables do,
and, on datasets with altitudes, one ``overall`` row per altitude (AG-VPReID2025 Tables 4–5).

Anything that reads test ground truth (``centroid_gallery``: gallery identity labels;
``attribute_mask="oracle"``: annotated test attributes) raises unless ``EvalConfig.oracle``
is set, and every row it reaches has ``oracle = True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
import torch
from torch import Tensor

from agreid_core.config import EvalConfig
from agreid_core.data.dataset import ProtocolSpec, ReIDData
from agreid_core.evaluation.aggregation import mean_by_group
from agreid_core.evaluation.attribute_mask import (
    AttributePenalty,
    attribute_matrix,
    parse_attribute_weights,
)
from agreid_core.evaluation.metrics import RankingAccumulator, RankingMetrics
from agreid_core.evaluation.scoring import QueryGalleryDistances, RerankOptions, top_k

RESULT_COLUMNS = [
    "method",
    "dataset",
    "protocol",
    "altitude",
    "gallery",
    "R1",
    "R5",
    "R10",
    "mAP",
    "mINP",
    "queries",
    "skipped",
    "oracle",
    "eval",
]
ALL = "all"
FULL = "full"
NO_DISTRACTORS = "no-distractors"


@dataclass(frozen=True)
class ProtocolRanking:
    """What one protocol's pass kept besides the metrics (for submissions and figures).

    ``gallery`` holds the ranked gallery items' index rows (representatives when the gallery
    is aggregated); ``top_index`` (Q, k) indexes it; ``top1_skipping_distractors`` (Q,) is the
    top-1 gallery item outside the protocol's distractor subsets (None if it has none).
    """

    protocol: ProtocolSpec
    query: pl.DataFrame
    gallery: pl.DataFrame
    top_index: Tensor
    top_distance: Tensor
    top1_skipping_distractors: Tensor | None
    metrics: RankingMetrics


@dataclass(frozen=True)
class Evaluation:
    """A results table (one row per protocol slice, plus ``overall``) and the rankings."""

    table: pl.DataFrame
    rankings: list[ProtocolRanking]
    oracle: tuple[str, ...]

    def overall(self) -> dict[str, object]:
        """The ``overall`` row (or the only protocol's full row)."""
        main = self.table.filter((pl.col("altitude") == ALL) & (pl.col("gallery") == FULL))
        rows = main.filter(pl.col("protocol") == "overall")
        return (rows if rows.height else main).row(0, named=True)


def metrics_row(
    method: str, dataset: str, protocol: str, m: RankingMetrics, **extra: object
) -> dict[str, object]:
    """One results-table row, metrics in percent."""
    row: dict[str, object] = {
        "method": method,
        "dataset": dataset,
        "protocol": protocol,
        "altitude": ALL,
        "gallery": FULL,
        "R1": 100 * m.rank(1),
        "R5": 100 * m.rank(5),
        "R10": 100 * m.rank(10),
        "mAP": 100 * m.mAP,
        "mINP": 100 * m.mINP,
        "queries": m.num_valid,
        "skipped": m.num_skipped,
        "oracle": False,
        "eval": "",
    }
    row.update(extra)
    return row


def overall_row(rows: list[dict[str, object]]) -> dict[str, object]:
    """The query-weighted mean of protocol rows (each metric is a per-query mean)."""
    total = sum(int(r["queries"]) for r in rows)  # type: ignore[call-overload]
    out = dict(rows[0])
    out["protocol"] = "overall"
    for key in ("R1", "R5", "R10", "mAP", "mINP"):
        out[key] = sum(float(r[key]) * int(r["queries"]) for r in rows) / max(total, 1)  # type: ignore[arg-type, call-overload]
    out["queries"] = total
    out["skipped"] = sum(int(r["skipped"]) for r in rows)  # type: ignore[call-overload]
    out["oracle"] = any(bool(r["oracle"]) for r in rows)
    return out


def eval_options(cfg: EvalConfig) -> tuple[str, tuple[str, ...]]:
    """A short label of the evaluation options, and the oracle options among them.

    Raises ``ValueError`` when an option reads test ground truth without ``cfg.oracle``.
    """
    labels: list[str] = [cfg.metric]
    oracle: list[str] = []
    if cfg.flip:
        labels.append("flip")
    if cfg.rerank:
        labels.append(f"rerank(k1={cfg.rerank_k1},k2={cfg.rerank_k2},λ={cfg.rerank_lambda})")
    if cfg.centroid_gallery:
        labels.append("centroid-gallery")
        oracle.append("centroid-gallery")
    if cfg.attribute_mask != "off":
        labels.append(f"attribute-mask({cfg.attribute_mask})")
        if cfg.attribute_mask == "oracle":
            oracle.append("attribute-mask(oracle)")
    if oracle and not cfg.oracle:
        raise ValueError(
            f"{' and '.join(oracle)} read(s) test ground truth (gallery identity labels or "
            "annotated test attributes); set training.eval.oracle=true to allow it, and its "
            "results are labelled oracle"
        )
    return ",".join(labels), tuple(oracle)


def _row_index(rows: pl.DataFrame) -> Tensor:
    """The ``row`` column as an int64 index tensor."""
    return torch.from_numpy(rows["row"].cast(pl.Int64).to_numpy().copy())


def _attribute_penalty(
    cfg: EvalConfig,
    q: pl.DataFrame,
    g: pl.DataFrame,
    predicted: Tensor | None,
    predicted_names: tuple[str, ...],
) -> AttributePenalty | None:
    if cfg.attribute_mask == "off":
        return None
    weights = parse_attribute_weights(cfg.attribute_penalty)
    names = tuple(weights)
    if cfg.attribute_mask == "oracle":
        qa, ga = attribute_matrix(q, names), attribute_matrix(g, names)
    else:
        if predicted is None:
            raise ValueError(
                "training.eval.attribute_mask=predicted needs a model with an "
                "'attribute_labels' output and 'attribute_names'"
            )
        missing = [n for n in names if n not in predicted_names]
        if missing:
            raise KeyError(
                f"the model predicts no attribute(s) {missing}; it predicts {list(predicted_names)}"
            )
        cols = [predicted_names.index(n) for n in names]
        qa = predicted[_row_index(q)][:, cols]
        ga = predicted[_row_index(g)][:, cols]
    return AttributePenalty(qa, ga, [weights[n] for n in names])


class _Slice:
    """An accumulator over a subset of the queries (``rows``) and gallery columns."""

    def __init__(
        self,
        name: tuple[str, str],
        rows: npt.NDArray[np.bool_],
        cols: npt.NDArray[np.bool_] | None,
        q: pl.DataFrame,
        g: pl.DataFrame,
    ) -> None:
        self.name, self.rows, self.cols = name, rows, cols
        self.before = np.concatenate([[0], np.cumsum(rows)])
        gp, gc = g["pid"].to_numpy(), g["camid"].to_numpy()
        if cols is not None:
            gp, gc = gp[cols], gc[cols]
        self.acc = RankingAccumulator(
            q["pid"].to_numpy()[rows], gp, q["camid"].to_numpy()[rows], gc
        )
        self.col_index = torch.as_tensor(np.flatnonzero(cols)) if cols is not None else None

    def add(self, block: Tensor, start: int) -> None:
        local = torch.as_tensor(self.rows[start : start + block.shape[0]])
        part = block if bool(local.all()) else block[local]
        if self.col_index is not None:
            part = part[:, self.col_index]
        self.acc.add(part, int(self.before[start]))

    def result(self) -> RankingMetrics | None:
        try:
            return self.acc.result()
        except ValueError:  # no query of this slice has a valid match
            return None


def _slices(q: pl.DataFrame, g: pl.DataFrame) -> list[_Slice]:
    n = q.height
    out = [_Slice((ALL, FULL), np.ones(n, dtype=bool), None, q, g)]
    alt = q["altitude_m"]
    for a in sorted(v for v in alt.unique().to_list() if v is not None):
        rows = (alt == a).fill_null(False).to_numpy()
        out.append(_Slice((f"{a:g} m", FULL), rows, None, q, g))
    keep = g["pid"].is_in(q["pid"].unique().implode()).to_numpy()
    if not keep.all() and keep.any():
        out.append(_Slice((ALL, NO_DISTRACTORS), np.ones(n, dtype=bool), keep, q, g))
    return out


def evaluate_protocol(
    proto: ProtocolSpec,
    test: pl.DataFrame,
    features: Tensor,
    cfg: EvalConfig,
    *,
    attribute_labels: Tensor | None = None,
    attribute_names: tuple[str, ...] = (),
    keep_top: int = 10,
) -> tuple[list[tuple[tuple[str, str], RankingMetrics]], ProtocolRanking]:
    """Metrics of every slice of one protocol, and its ranking.

    ``test`` holds the test index rows with a ``row`` column indexing ``features``.
    """
    q = test.filter(pl.col("subset").is_in(list(proto.query_subsets)))
    g = test.filter(pl.col("subset").is_in(list(proto.gallery_subsets)))
    if q.height == 0 or g.height == 0:
        raise ValueError(f"protocol {proto.name}: empty query ({q.height}) or gallery ({g.height})")
    qf = features[_row_index(q)]
    gf = features[_row_index(g)]
    if cfg.centroid_gallery:
        grouped = mean_by_group(gf, g["pid"].to_numpy(), g["camid"].to_numpy())
        gf, g = grouped.features, g[grouped.first_member.numpy()]
    penalty = _attribute_penalty(cfg, q, g, attribute_labels, attribute_names)
    rerank = RerankOptions(cfg.rerank_k1, cfg.rerank_k2, cfg.rerank_lambda) if cfg.rerank else None
    dist = QueryGalleryDistances(qf, gf, cfg.metric, rerank=rerank, penalty=penalty)
    slices = _slices(q, g)
    exclude = None
    if proto.distractor_subsets:
        exclude = torch.as_tensor(g["subset"].is_in(list(proto.distractor_subsets)).to_numpy())
    tops: list[tuple[Tensor, Tensor]] = []
    top1: list[Tensor] = []
    for start, block in dist.blocks():
        for s in slices:
            s.add(block, start)
        tops.append(top_k(block, keep_top))
        if exclude is not None:
            top1.append(top_k(block, 1, exclude)[1][:, 0])
    results = [(s.name, m) for s in slices if (m := s.result()) is not None]
    if not results or results[0][0] != (ALL, FULL):
        slices[0].acc.result()  # raises the explanatory error
    ranking = ProtocolRanking(
        protocol=proto,
        query=q,
        gallery=g,
        top_index=torch.cat([t[1] for t in tops]),
        top_distance=torch.cat([t[0] for t in tops]),
        top1_skipping_distractors=torch.cat(top1) if top1 else None,
        metrics=results[0][1],
    )
    return results, ranking


def evaluate_protocols(
    data: ReIDData,
    test: pl.DataFrame,
    features: Tensor,
    cfg: EvalConfig,
    *,
    method: str,
    attribute_labels: Tensor | None = None,
    attribute_names: tuple[str, ...] = (),
) -> Evaluation:
    """Evaluate ``features`` (rows of ``test``, see :func:`evaluate_protocol`) under every
    protocol of ``data``; returns the results table and the rankings."""
    label, oracle = eval_options(cfg)
    rows: list[dict[str, object]] = []
    by_altitude: dict[str, list[dict[str, object]]] = {}  # full-gallery rows per altitude
    rankings: list[ProtocolRanking] = []
    keep_top = max(10, cfg.ranked_list_top_k)
    for proto in data.protocols:
        results, ranking = evaluate_protocol(
            proto,
            test,
            features,
            cfg,
            attribute_labels=attribute_labels,
            attribute_names=attribute_names,
            keep_top=keep_top,
        )
        rankings.append(ranking)
        for (altitude, gallery), m in results:
            row = metrics_row(
                method,
                data.name,
                proto.name,
                m,
                altitude=altitude,
                gallery=gallery,
                oracle=bool(oracle),
                eval=label,
            )
            rows.append(row)
            if gallery == FULL:
                by_altitude.setdefault(altitude, []).append(row)
    # ALL first (it is the overall row), then each altitude that several protocols have
    for altitude in sorted(by_altitude, key=lambda a: a != ALL):
        if len(by_altitude[altitude]) > 1:
            rows.append(overall_row(by_altitude[altitude]))
    table = pl.DataFrame(rows).select(RESULT_COLUMNS)
    return Evaluation(table=table, rankings=rankings, oracle=oracle)
