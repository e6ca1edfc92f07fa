"""Per-split × per-platform counts of a loaded dataset (what ``agreid data info`` shows).

:func:`summarize` groups the sample index by ``split``, ``subset`` and ``platform`` and
counts identities, images (tracklets for video), frames and cameras; with ``totals`` each
split also gets one row over all of its subsets and platforms, whose ``subset`` and ``platform`` are :data:`TOTAL`.
"""

from __future__ import annotations

import polars as pl

from agreid_core.data.dataset import ReIDData

#: ``subset`` / ``platform`` value of a split's totals row.
TOTAL = "all"
#: Value for a null ``split``, ``subset`` or ``platform`` in the index.
UNKNOWN = "unknown"
#: Splits come in this order, then any other split alphabetically.
SPLIT_ORDER: tuple[str, ...] = ("train", "test")

SUMMARY_SCHEMA = pl.Schema(
    {
        "split": pl.String(),
        "subset": pl.String(),
        "platform": pl.String(),
        "identities": pl.Int64(),
        "images": pl.Int64(),
        "frames": pl.Int64(),
        "cameras": pl.List(pl.Int64()),
    }
)


def _counts() -> list[pl.Expr]:
    return [
        pl.col("pid").drop_nulls().n_unique().cast(pl.Int64).alias("identities"),
        pl.len().cast(pl.Int64).alias("images"),
        pl.col("n_frames").sum().cast(pl.Int64).alias("frames"),
        pl.col("camid").drop_nulls().unique().sort().alias("cameras"),
    ]


def summarize(data: ReIDData, totals: bool = True) -> pl.DataFrame:
    """Identities, images, frames and cameras per (split, subset, platform) of ``data``'s index.

    ``images`` counts index rows (tracklets for video); ``frames`` counts frames (equal to
    ``images`` for image datasets).

    Columns are those of :data:`SUMMARY_SCHEMA`: ``cameras`` is the sorted list of distinct
    camera ids. Rows are ordered by split (:data:`SPLIT_ORDER` first), then subset and
    platform, each split's totals row (``subset == platform == TOTAL``) last. An empty index
    gives an empty frame with the same columns.
    """
    n_frames = pl.col("frames").list.len() if "frames" in data.index.columns else pl.lit(1)
    index = data.index.select(
        pl.col("split", "subset", "platform").cast(pl.String).fill_null(UNKNOWN),
        n_frames.cast(pl.Int64).alias("n_frames"),
        pl.col("pid").cast(pl.Int64),
        pl.col("camid").cast(pl.Int64),
    )
    parts = [index.group_by("split", "subset", "platform").agg(_counts())]
    if totals:
        parts.append(
            index.group_by("split")
            .agg(_counts())
            .with_columns(pl.lit(TOTAL).alias("subset"), pl.lit(TOTAL).alias("platform"))
        )
    frame = pl.concat(
        [p.select(list(SUMMARY_SCHEMA)).cast(SUMMARY_SCHEMA) for p in parts], how="vertical"
    )
    rank = {name: i for i, name in enumerate(SPLIT_ORDER)}
    return frame.sort(
        pl.col("split").replace_strict(rank, default=len(rank), return_dtype=pl.Int64),
        "split",
        (pl.col("subset") == TOTAL) & (pl.col("platform") == TOTAL),
        "subset",
        "platform",
    )
