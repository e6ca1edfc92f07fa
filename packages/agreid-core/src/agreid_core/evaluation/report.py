"""Evaluate a model on every protocol of a dataset, and write what a person reads.

:func:`evaluate_model` embeds the test split once (images one by one, or video tracklets by
temporal pooling over all frames) and evaluates every protocol slice
(:mod:`agreid_core.evaluation.protocol_eval`). :func:`write_evaluation` writes the results
table (CSV, Parquet), the CMC curves (CSV, PNG), the ranked-list figures and the challenge
submission file into a run folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import torch
from torch import nn

from agreid_core.config import EvalConfig, InputConfig
from agreid_core.data.dataset import ReIDData
from agreid_core.evaluation.extract import (
    ATTRIBUTE_LABELS,
    extract_outputs,
    extract_tracklet_outputs,
)
from agreid_core.evaluation.plots import plot_cmc, plot_ranked_list, slug
from agreid_core.evaluation.protocol_eval import Evaluation, evaluate_protocols
from agreid_core.evaluation.submission import write_submission
from agreid_core.method import EMBEDDING


@dataclass(frozen=True)
class ModelEvaluation:
    """An :class:`Evaluation` plus how long embedding the test split took."""

    evaluation: Evaluation
    items: int
    embed_seconds: float
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def table(self) -> pl.DataFrame:
        """The results table."""
        return self.evaluation.table

    @property
    def items_per_second(self) -> float:
        """Inference throughput: test images (or tracklets) embedded per second."""
        return self.items / self.embed_seconds if self.embed_seconds > 0 else 0.0


def evaluation_rows(data: ReIDData) -> pl.DataFrame:
    """The rows every protocol draws from, with a ``row`` column numbering them."""
    subsets = sorted({s for p in data.protocols for s in (*p.query_subsets, *p.gallery_subsets)})
    return data.rows_of(subsets).with_row_index("row")


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
) -> ModelEvaluation:
    """Embed the test split once and evaluate every protocol of ``data``."""
    test = evaluation_rows(data)
    attribute_names = tuple(getattr(model, "attribute_names", ()))
    want_attrs = cfg.attribute_mask == "predicted"
    start = time.perf_counter()
    labels = None
    if data.kind == "video":
        keys = (EMBEDDING, ATTRIBUTE_LABELS) if want_attrs else (EMBEDDING,)
        out = extract_tracklet_outputs(
            model,
            test["frames"].to_list(),
            test["camid"].to_list(),
            inp,
            device=device,
            keys=keys,
            clip_length=cfg.clip_length,
            flip=cfg.flip,
            num_workers=num_workers,
            on_batch=on_batch,
        )
        feats, labels = out[EMBEDDING], out.get(ATTRIBUTE_LABELS)
    else:
        keys = (EMBEDDING, ATTRIBUTE_LABELS) if want_attrs else (EMBEDDING,)
        out = extract_outputs(
            model,
            test["path"].to_list(),
            test["camid"].to_list(),
            inp,
            device=device,
            keys=keys,
            batch_size=cfg.batch_size,
            flip=cfg.flip,
            num_workers=num_workers,
            on_batch=on_batch,
        )
        feats, labels = out[EMBEDDING], out.get(ATTRIBUTE_LABELS)
    seconds = time.perf_counter() - start
    evaluation = evaluate_protocols(
        data,
        test,
        feats,
        cfg,
        method=method,
        attribute_labels=labels,
        attribute_names=attribute_names,
    )
    return ModelEvaluation(evaluation, test.height, seconds)


def cmc_table(evaluation: Evaluation) -> pl.DataFrame:
    """Long table ``protocol, rank, cmc`` (percent) of every protocol's full CMC curve."""
    frames = [
        pl.DataFrame(
            {
                "protocol": r.protocol.name,
                "rank": list(range(1, len(r.metrics.cmc) + 1)),
                "cmc": [100 * float(v) for v in r.metrics.cmc],
            }
        )
        for r in evaluation.rankings
    ]
    return pl.concat(frames)


#: Files an earlier evaluation may have left in a run folder (see :func:`write_evaluation`).
EVALUATION_OUTPUTS = (
    "results.csv",
    "results.parquet",
    "cmc.csv",
    "cmc.png",
    "ranked_list_*.png",
    "submission_*.csv",
)


def clear_evaluation_outputs(out_dir: Path) -> list[Path]:
    """Delete the outputs of an earlier evaluation in ``out_dir`` (returns them).

    A folder re-evaluated with other options (``agreid bench`` ablations, a resumed run) must
    not keep files of the old evaluation, e.g. a non-oracle submission beside an oracle one.
    """
    stale = sorted({p for pattern in EVALUATION_OUTPUTS for p in out_dir.glob(pattern)})
    for path in stale:
        path.unlink()
    return stale


def write_evaluation(
    evaluation: Evaluation,
    dataset: str,
    out_dir: Path,
    cfg: EvalConfig,
    *,
    method: str,
) -> dict[str, Path]:
    """Write results, CMC curves, figures and the submission file; returns them by kind.

    Outputs of an earlier evaluation in ``out_dir`` are removed first.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_evaluation_outputs(out_dir)
    files: dict[str, Path] = {}
    evaluation.table.write_csv(files.setdefault("results_csv", out_dir / "results.csv"))
    evaluation.table.write_parquet(files.setdefault("results_parquet", out_dir / "results.parquet"))
    cmc_table(evaluation).write_csv(files.setdefault("cmc_csv", out_dir / "cmc.csv"))
    tag = " [oracle]" if evaluation.oracle else ""
    submission = write_submission(dataset, evaluation.rankings, out_dir, bool(evaluation.oracle))
    if submission is not None:
        files["submission"] = submission
    if cfg.plots:
        curves = {r.protocol.name: r.metrics.cmc for r in evaluation.rankings}
        files["cmc_png"] = plot_cmc(curves, out_dir / "cmc.png", f"{method} on {dataset}{tag}")
        for r in evaluation.rankings:
            name = f"ranked_list_{slug(r.protocol.name)}.png"
            files[f"ranked_list_{slug(r.protocol.name)}"] = plot_ranked_list(
                r,
                out_dir / name,
                queries=cfg.ranked_list_queries,
                top_k=cfg.ranked_list_top_k,
                title=f"{method} on {dataset}, {r.protocol.name}: query | top-"
                f"{cfg.ranked_list_top_k}{tag}",
            )
    return files
