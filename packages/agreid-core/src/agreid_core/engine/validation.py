"""A validation split carved from the training identities (never from test data).

:func:`split_validation` holds out a seeded fraction of the training identities that were
seen on at least two platforms. Their samples on one platform (aerial when present, as in
A→G) become validation queries, their samples on the other platforms the gallery; the rest
of the training rows stay for training. :func:`evaluate_validation` embeds both sides and
returns Rank-1 and mAP in percent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import torch
from torch import nn

from agreid_core.config import EvalConfig, InputConfig
from agreid_core.evaluation.extract import extract_features, extract_tracklet_features
from agreid_core.evaluation.metrics import evaluate_features

VAL_QUERY = "val_query"
VAL_GALLERY = "val_gallery"
_PREFERRED_QUERY_PLATFORM = "aerial"


@dataclass(frozen=True)
class ValidationSplit:
    """Reduced training rows and the validation index.

    ``index`` holds the held-out identities' rows with ``subset`` set to
    :data:`VAL_QUERY` or :data:`VAL_GALLERY`.
    """

    train: pl.DataFrame
    index: pl.DataFrame
    query_platform: str

    @property
    def query(self) -> pl.DataFrame:
        """The validation queries."""
        return self.index.filter(pl.col("subset") == VAL_QUERY)

    @property
    def gallery(self) -> pl.DataFrame:
        """The validation gallery."""
        return self.index.filter(pl.col("subset") == VAL_GALLERY)


def split_validation(
    train_rows: pl.DataFrame, fraction: float, seed: int = 0, min_ids: int = 2
) -> ValidationSplit:
    """Hold out ``fraction`` of the training identities (at least ``min_ids``) for validation.

    Only identities with samples on ≥ 2 platforms are eligible; the query platform is
    ``aerial`` when the held-out identities have aerial samples, else the most common one.
    The choice is a deterministic function of ``seed``. Raises ``ValueError`` when the rows
    have no ``platform`` column or too few eligible identities.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {fraction}")
    if "platform" not in train_rows.columns:
        raise ValueError("a validation split needs a 'platform' column in the training rows")
    per_id = train_rows.group_by("pid").agg(pl.col("platform").n_unique().alias("n")).sort("pid")
    eligible = per_id.filter(pl.col("n") >= 2)["pid"].to_list()
    n_ids = train_rows["pid"].n_unique()
    want = max(min_ids, round(fraction * n_ids))
    if len(eligible) < want or n_ids - want < 1:
        raise ValueError(
            f"val_fraction {fraction}: need {want} identities seen on ≥ 2 platforms, "
            f"the training split has {len(eligible)} (of {n_ids})"
        )
    rng = np.random.default_rng(seed)
    held = sorted(int(eligible[i]) for i in rng.choice(len(eligible), size=want, replace=False))
    held_rows = train_rows.filter(pl.col("pid").is_in(held))
    platforms = held_rows["platform"].cast(pl.Utf8)
    counts = platforms.value_counts(sort=True)
    names = [str(v) for v in counts[counts.columns[0]].to_list()]
    query_platform = _PREFERRED_QUERY_PLATFORM if _PREFERRED_QUERY_PLATFORM in names else names[0]
    index = held_rows.with_columns(
        pl.when(platforms == query_platform)
        .then(pl.lit(VAL_QUERY))
        .otherwise(pl.lit(VAL_GALLERY))
        .alias("subset"),
        pl.lit("val").alias("split"),
    )
    return ValidationSplit(
        train=train_rows.filter(~pl.col("pid").is_in(held)),
        index=index,
        query_platform=query_platform,
    )


def evaluate_validation(
    model: nn.Module,
    split: ValidationSplit,
    inp: InputConfig,
    cfg: EvalConfig,
    *,
    device: torch.device,
) -> dict[str, float]:
    """``{"val_R1": …, "val_mAP": …}`` (percent) of ``model`` on the validation split."""
    q, g = split.query, split.gallery

    def embed(rows: pl.DataFrame) -> torch.Tensor:
        if "frames" in rows.columns:  # video tracklets
            return extract_tracklet_features(
                model,
                rows["frames"].to_list(),
                rows["camid"].to_list(),
                inp,
                device=device,
                clip_length=cfg.clip_length,
            )
        return extract_features(
            model,
            rows["path"].to_list(),
            rows["camid"].to_list(),
            inp,
            device=device,
            batch_size=cfg.batch_size,
        )

    qf, gf = embed(q), embed(g)
    metrics = evaluate_features(
        qf,
        gf,
        q["pid"].to_numpy(),
        g["pid"].to_numpy(),
        q["camid"].to_numpy(),
        g["camid"].to_numpy(),
        metric=cfg.metric,
        max_rank=min(50, g.height),
    )
    return {"val_R1": 100.0 * metrics.rank(1), "val_mAP": 100.0 * metrics.mAP}
