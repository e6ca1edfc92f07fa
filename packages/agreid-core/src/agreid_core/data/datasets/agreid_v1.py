"""AG-ReID v1 (ICME 2023): flat folders, A→G and G→A protocols.

Layout::

    <root>/bounding_box_train/        P0001T04041A0C0F31.jpg …  (aerial and CCTV)
    <root>/query_all_c0/              aerial queries        (A→G)
    <root>/bounding_box_test_all_c3/  CCTV gallery          (A→G)
    <root>/query_all_c3/              CCTV queries          (G→A)
    <root>/bounding_box_test_all_c0/  aerial gallery        (G→A)

Identity = ``int(P+T+A)`` (see :mod:`agreid_core.data.filenames`). Identity-level attributes
are read from agreid's own ``attributes.csv`` (``pid`` + one integer column per attribute)
when present. A file whose name does not parse is a counted warning naming the file
(``strict`` makes it an error); a missing folder or an empty split is an error.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agreid_core.data.dataset import DatasetError, LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.datasets.agreid_attributes import attach_attribute_table
from agreid_core.data.datasets.layout import (
    load_index,
    require_root,
    scan_split_folders,
    warn_or_raise,
)
from agreid_core.data.filenames import FileNameError, parse_agreid_name
from agreid_core.data.index import ATTRIBUTE_PREFIX, make_index

TRAIN = "bounding_box_train"
SUBSETS: dict[str, str] = {
    TRAIN: "train",
    "query_all_c0": "test",
    "bounding_box_test_all_c3": "test",
    "query_all_c3": "test",
    "bounding_box_test_all_c0": "test",
}
PROTOCOLS = (
    ProtocolSpec(
        "A→G", ("query_all_c0",), ("bounding_box_test_all_c3",), "aerial query, CCTV gallery"
    ),
    ProtocolSpec(
        "G→A", ("query_all_c3",), ("bounding_box_test_all_c0",), "CCTV query, aerial gallery"
    ),
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
ATTRIBUTES_CSV = "attributes.csv"


def scan_agreid_folder(
    folder: Path, subset: str, split: str, warnings: list[str], strict: bool
) -> list[dict[str, object]]:
    """Index rows for every image in one flat AG-ReID folder (recursively for v2 trees)."""
    rows: list[dict[str, object]] = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        try:
            name = parse_agreid_name(path.stem)
        except FileNameError as exc:
            msg = f"{path}: {exc}"
            warn_or_raise(msg, warnings, strict)
            continue
        rows.append(
            {
                "path": str(path),
                "pid": name.pid,
                "camid": name.camera,
                "platform": name.platform.value,
                "altitude_level": name.altitude_level,
                "frame": name.frame,
                "subset": subset,
                "split": split,
            }
        )
    return rows


def attach_attributes(
    index: pl.DataFrame, csv_path: Path, warnings: list[str], strict: bool
) -> pl.DataFrame:
    """Join identity-level attributes from ``csv_path`` onto the index by ``pid``."""
    table = pl.read_csv(csv_path)
    if "pid" not in table.columns:
        raise DatasetError(f"{csv_path}: no 'pid' column (columns: {', '.join(table.columns)})")
    fields = [c for c in table.columns if c not in ("pid", "split")]
    attrs = table.select(
        pl.col("pid").cast(pl.Int64),
        *[pl.col(f).cast(pl.Int64).alias(ATTRIBUTE_PREFIX + f) for f in fields],
    )
    return attach_attribute_table(index, attrs, csv_path, warnings, strict)


def load_agreid_v1(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load an AG-ReID v1 tree rooted at ``root``."""
    root = require_root(root, "AG-ReID v1")
    warnings: list[str] = []

    def build() -> pl.DataFrame:
        rows = scan_split_folders(
            root, SUBSETS, scan_agreid_folder, "AG-ReID v1", warnings, options.strict
        )
        index = make_index(rows)
        csv_path = root / ATTRIBUTES_CSV
        if csv_path.is_file():
            index = attach_attributes(index, csv_path, warnings, options.strict)
        return index

    index = load_index(root, "agreid-v1", options.strict, warnings, build)
    return ReIDData("agreid-v1", root, "image", index, PROTOCOLS, warnings)
