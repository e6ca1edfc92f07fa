"""Identity-level attributes of AG-ReID v1/v2 from the published ``.mat`` file.

The file (``qut_attribute_v4_88_attributes.mat`` for v1, ``qut_attribute_v8.mat`` for v2)
holds a struct ``qut_attribute`` with fields ``train`` and ``test``; each is a struct of
equal-length columns, one of which is ``image_index`` = the identity ``int(P+T+A)``.
:func:`read_agreid_attribute_mat` turns it into one polars row per identity, with ``pid`` and
one ``attr_<field>`` column per attribute; :func:`attach_attribute_table` joins that onto an
index. Both are usable by any AG-ReID loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from agreid_core.data.dataset import DatasetError
from agreid_core.data.datasets.layout import warn_or_raise
from agreid_core.data.index import ATTRIBUTE_PREFIX

STRUCT = "qut_attribute"
ID_FIELD = "image_index"
PARTS = ("train", "test")


def _columns(part: Any, path: Path, part_name: str) -> dict[str, np.ndarray[Any, Any]]:
    """The equal-length 1-D columns of one ``train``/``test`` struct."""
    if not isinstance(part, dict):
        raise DatasetError(f"{path}: {STRUCT}.{part_name} is not a struct")
    columns = {str(k): np.atleast_1d(np.asarray(v)) for k, v in part.items()}
    if ID_FIELD not in columns:
        raise DatasetError(f"{path}: {STRUCT}.{part_name} has no {ID_FIELD!r} column")
    lengths = {name: col.shape for name, col in columns.items()}
    n = columns[ID_FIELD].shape
    bad = sorted(name for name, shape in lengths.items() if shape != n or len(shape) != 1)
    if bad:
        raise DatasetError(
            f"{path}: {STRUCT}.{part_name} columns {bad} are not 1-D of length {n[0]} "
            f"like {ID_FIELD!r}"
        )
    return columns


def read_agreid_attribute_mat(path: Path) -> pl.DataFrame:
    """Read an AG-ReID attribute ``.mat``: ``pid`` (Int64) plus Int64 ``attr_<field>`` columns.

    Train and test rows are concatenated; a field absent from one part is null there.
    Raises :class:`DatasetError` naming ``path`` when the file is not in that shape or an
    identity appears twice.
    """
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path), simplify_cells=True)
    except Exception as exc:  # scipy raises several types for unreadable files
        raise DatasetError(f"{path}: cannot read the .mat file ({exc})") from None
    root = mat.get(STRUCT)
    if not isinstance(root, dict):
        raise DatasetError(f"{path}: no struct {STRUCT!r} (variables: {sorted(mat)})")
    frames: list[pl.DataFrame] = []
    for part_name in PARTS:
        if part_name not in root:
            continue
        columns = _columns(root[part_name], path, part_name)
        try:
            frame = pl.DataFrame(
                {
                    "pid" if name == ID_FIELD else ATTRIBUTE_PREFIX + name: np.asarray(
                        col, dtype=np.int64
                    )
                    for name, col in columns.items()
                }
            )
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"{path}: {STRUCT}.{part_name} has non-integer values ({exc})"
            ) from None
        frames.append(frame)
    if not frames:
        raise DatasetError(f"{path}: {STRUCT} has neither 'train' nor 'test'")
    table = pl.concat(frames, how="diagonal")
    dup = table.filter(pl.col("pid").is_duplicated())["pid"].unique().sort().to_list()
    if dup:
        raise DatasetError(f"{path}: identities listed twice, e.g. {dup[:3]}")
    return table.select("pid", *sorted(c for c in table.columns if c != "pid"))


def attach_attribute_table(
    index: pl.DataFrame, table: pl.DataFrame, source: Path, warnings: list[str], strict: bool
) -> pl.DataFrame:
    """Left-join ``table`` (``pid`` + ``attr_*``) onto ``index``; unknown ids are warned."""
    known = set(index["pid"].unique().to_list())
    unknown = sorted(set(table["pid"].to_list()) - known)
    if unknown:
        msg = (
            f"{source}: {len(unknown)} attribute row(s) for unknown identities, e.g. {unknown[:3]}"
        )
        warn_or_raise(msg, warnings, strict)
    return index.join(table, on="pid", how="left")
