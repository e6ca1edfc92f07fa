"""The sample index: one polars row per image (or tracklet), the same for every dataset.

Columns (``INDEX_COLUMNS``):

``path``            image path (for video: the tracklet folder)
``pid``             person identity as published (AG-ReID: ``int(P+T+A)``); never remapped
``camid``           camera id as published (AG-ReID: 0 UAV, 2 wearable, 3 CCTV)
``platform``        ``aerial`` | ``cctv`` | ``wearable``
``altitude_level``  AG-ReID altitude code (0 low, 1 medium, 2 high), null when not aerial-coded
``altitude_m``      flight altitude in metres when the dataset states it, else null
``tracklet``        tracklet id for video datasets, else null
``frame``           frame number parsed from the file name, else null
``subset``          the folder / list the sample came from (``query_all_c0``, …)
``split``           ``train`` | ``test``

Attribute columns, when the dataset has them, are named ``attr_<field>`` (Int64, identity
level, copied to every sample of the identity).
"""

from __future__ import annotations

import polars as pl

INDEX_COLUMNS: dict[str, pl.DataType] = {
    "path": pl.String(),
    "pid": pl.Int64(),
    "camid": pl.Int64(),
    "platform": pl.String(),
    "altitude_level": pl.Int64(),
    "altitude_m": pl.Float64(),
    "tracklet": pl.String(),
    "frame": pl.Int64(),
    "subset": pl.String(),
    "split": pl.String(),
}

ATTRIBUTE_PREFIX = "attr_"


def empty_index() -> pl.DataFrame:
    """An index with the standard columns and no rows."""
    return pl.DataFrame(schema=INDEX_COLUMNS)


def make_index(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Build an index from row dicts, filling missing standard columns with nulls."""
    if not rows:
        return empty_index()
    frame = pl.DataFrame(rows, infer_schema_length=None)
    for name, dtype in INDEX_COLUMNS.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
        else:
            frame = frame.with_columns(pl.col(name).cast(dtype))
    extra = [c for c in frame.columns if c not in INDEX_COLUMNS]
    return frame.select([*INDEX_COLUMNS, *extra])


def attribute_columns(index: pl.DataFrame) -> list[str]:
    """Names of the attribute columns present in ``index``."""
    return [c for c in index.columns if c.startswith(ATTRIBUTE_PREFIX)]
