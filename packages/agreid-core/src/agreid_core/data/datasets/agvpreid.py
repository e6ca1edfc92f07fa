"""AG-VPReID (CVPR 2025; VP README, SAS ``AGVPReID`` loader): video, A→G and G→A.

Layout::

    <root>/train/{ID}/{tracklet}/{frame}.jpg
    <root>/case1_aerial_to_ground/{query,gallery}/{ID}/{tracklet}/{frame}.jpg
    <root>/case2_ground_to_aerial/{query,gallery}/{ID}/{tracklet}/{frame}.jpg
    <root>/attributes/train.csv  case1_aerial_to_ground/{query,gallery}.csv  case2_…/…  (optional)

One index row per tracklet: ``path`` the tracklet folder, ``frames`` (List[String]) its frame
files sorted by frame number, ``pid`` = ``int({ID})`` exactly as published (never remapped: the
official loader's per-side remapping misaligns case-2 labels), ``tracklet`` the folder name,
``frame`` the first frame number, ``subset`` the folder (``case1_aerial_to_ground/query``,
``train``), ``split`` train/test. Frame names follow
``P(\\d+)T(\\d+)A(\\d+)C(\\d+)E(\\d+)K(\\d+)F(\\d+)``; ``camid`` = C of the first frame,
``altitude_level`` = A, ``altitude_m`` 80 (A2) / 120 (A3), else null. A is the session's drone
altitude, so ground tracklets carry it too.

Platform: test tracklets take it from the protocol folder (case-1 query and case-2 gallery are
aerial; the other two sides ground). Ground is ``cctv`` unless the camera code is C2/C3, which
the VP README calls wearable; the sources disagree on camera codes (README C0/C1 CCTV, C2/C3
wearable, C4/C5 UAV; an issue comment says "CCTVx2/GoProx2/UAVx2"), so this is UNCERTAIN.
Train tracklets have no protocol folder: their platform uses that README mapping, null for any
other code.

Protocols: ``A→G`` (case 1) and ``G→A`` (case 2), each side its own folder, so a query tracklet
is never in a gallery (the official in-training eval put queries in the gallery). Gallery
identities without a query (aerial distractors) are kept. Per-altitude results (80 m / 120 m)
are not separate protocols: the evaluator splits queries by ``altitude_m``. On the Kaggle
release test IDs are masked per view, so local test-split scores are meaningless there.

Attributes: each CSV (``id,gender,…``) is joined to the rows of its subset by (subset, pid) as
``attr_<field>``; rows for ids absent from that subset are a counted warning.

Bad input: a missing folder or an empty split is an error; a non-integer ID folder, a tracklet
folder without frames, or an unparsable frame name is a counted warning naming it (``strict``:
an error). The index is cached by :func:`agreid_core.data.cache.cached_index` (not in strict).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from agreid_core.data.dataset import DatasetError, LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.datasets.layout import load_index, require_root, warn_or_raise
from agreid_core.data.filenames import (
    AGVPREID_ALTITUDE_M,
    FileNameError,
    parse_agvpreid_name,
)
from agreid_core.data.index import ATTRIBUTE_PREFIX, make_index
from agreid_core.types import Platform

LOADER_VERSION = "1"
TRAIN = "train"
CASE1 = "case1_aerial_to_ground"
CASE2 = "case2_ground_to_aerial"
#: subset → (split, platform side: "aerial" | "ground" | None for train).
SUBSETS: dict[str, tuple[str, str | None]] = {
    TRAIN: ("train", None),
    f"{CASE1}/query": ("test", "aerial"),
    f"{CASE1}/gallery": ("test", "ground"),
    f"{CASE2}/query": ("test", "ground"),
    f"{CASE2}/gallery": ("test", "aerial"),
}
PROTOCOLS = (
    ProtocolSpec(
        "A→G", (f"{CASE1}/query",), (f"{CASE1}/gallery",), "case 1: aerial query, ground gallery"
    ),
    ProtocolSpec(
        "G→A", (f"{CASE2}/query",), (f"{CASE2}/gallery",), "case 2: ground query, aerial gallery"
    ),
)
#: VP README camera codes (UNCERTAIN, see the module docstring).
README_CAMERAS: dict[int, Platform] = {
    0: Platform.CCTV,
    1: Platform.CCTV,
    2: Platform.WEARABLE,
    3: Platform.WEARABLE,
    4: Platform.AERIAL,
    5: Platform.AERIAL,
}
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


def _platform(side: str | None, camera: int) -> str | None:
    if side == "aerial":
        return Platform.AERIAL.value
    if side == "ground":
        wearable = README_CAMERAS.get(camera) == Platform.WEARABLE
        return str((Platform.WEARABLE if wearable else Platform.CCTV).value)
    found = README_CAMERAS.get(camera)
    return str(found.value) if found else None


def _sorted_dirs(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted((e for e in it if e.is_dir()), key=lambda e: e.name)


def _scan_tracklet(
    entry: os.DirEntry[str], warnings: list[str], strict: bool
) -> tuple[list[str], int, int, int] | None:
    """(sorted frame paths, first frame, camera, altitude code) of one tracklet, or None."""
    parsed: list[tuple[int, str, int, int]] = []
    with os.scandir(entry.path) as it:
        files = sorted(
            (f for f in it if f.is_file() and f.name.lower().endswith(FRAME_SUFFIXES)),
            key=lambda f: f.name,
        )
    for f in files:
        try:
            name = parse_agvpreid_name(os.path.splitext(f.name)[0])
        except FileNameError as exc:
            warn_or_raise(f"{f.path}: unparsable frame name ({exc})", warnings, strict)
            continue
        parsed.append((name.frame, f.path, name.camera, name.altitude))
    if not parsed:
        warn_or_raise(f"{entry.path}: tracklet folder has no parsable frames", warnings, strict)
        return None
    parsed.sort()
    first, _, camera, altitude = parsed[0]
    return [p for _, p, _, _ in parsed], first, camera, altitude


def _scan_subset(
    folder: Path, subset: str, warnings: list[str], strict: bool
) -> list[dict[str, object]]:
    split, side = SUBSETS[subset]
    rows: list[dict[str, object]] = []
    for id_dir in _sorted_dirs(str(folder)):
        try:
            pid = int(id_dir.name)
        except ValueError:
            warn_or_raise(
                f"{id_dir.path}: identity folder name is not an integer", warnings, strict
            )
            continue
        for tdir in _sorted_dirs(id_dir.path):
            found = _scan_tracklet(tdir, warnings, strict)
            if found is None:
                continue
            frames, first, camera, altitude = found
            rows.append(
                {
                    "path": tdir.path,
                    "pid": pid,
                    "camid": camera,
                    "platform": _platform(side, camera),
                    "altitude_level": altitude,
                    "altitude_m": AGVPREID_ALTITUDE_M.get(altitude),
                    "tracklet": tdir.name,
                    "frame": first,
                    "subset": subset,
                    "split": split,
                    "frames": frames,
                }
            )
    return rows


def _attach_attributes(
    index: pl.DataFrame, root: Path, warnings: list[str], strict: bool
) -> pl.DataFrame:
    """Join ``attributes/<subset>.csv`` onto the rows of each subset by (subset, pid)."""
    tables: list[pl.DataFrame] = []
    for subset in SUBSETS:
        csv = root / "attributes" / f"{subset}.csv"
        if not csv.is_file():
            continue
        try:
            table = pl.read_csv(csv, infer_schema_length=None)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise DatasetError(f"{csv}: cannot read the attribute CSV ({exc})") from None
        if "id" not in table.columns:
            raise DatasetError(f"{csv}: no 'id' column (header: {table.columns})")
        try:
            table = table.select(
                pl.col("id").cast(pl.Int64).alias("pid"),
                *[
                    pl.col(c).cast(pl.Int64).alias(ATTRIBUTE_PREFIX + c)
                    for c in table.columns
                    if c != "id"
                ],
            ).with_columns(pl.lit(subset).alias("subset"))
        except pl.exceptions.PolarsError as exc:
            raise DatasetError(f"{csv}: non-integer attribute values ({exc})") from None
        if table["pid"].is_duplicated().any():
            raise DatasetError(f"{csv}: identities listed twice")
        known = set(index.filter(pl.col("subset") == subset)["pid"].to_list())
        unknown = sorted(set(table["pid"].to_list()) - known)
        if unknown:
            warn_or_raise(
                f"{csv}: {len(unknown)} attribute row(s) for unknown identities, "
                f"e.g. {unknown[:3]}",
                warnings,
                strict,
            )
        tables.append(table)
    if not tables:
        return index
    attrs = pl.concat(tables, how="diagonal")
    return index.join(attrs, on=["subset", "pid"], how="left")


def build_agvpreid_index(root: Path, warnings: list[str], strict: bool) -> pl.DataFrame:
    """Scan an AG-VPReID tree into a tracklet index (no cache)."""
    rows: list[dict[str, object]] = []
    for subset in SUBSETS:
        folder = root / subset
        if not folder.is_dir():
            raise DatasetError(
                f"{folder}: missing folder (expected the AG-VPReID layout: {', '.join(SUBSETS)})"
            )
        found = _scan_subset(folder, subset, warnings, strict)
        if not found:
            raise DatasetError(f"{folder}: no tracklets with parsable frames in this split")
        rows.extend(found)
    index = make_index(rows).with_columns(pl.col("frames").cast(pl.List(pl.String())))
    return _attach_attributes(index, root, warnings, strict)


def load_agvpreid(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load an AG-VPReID tree rooted at ``root`` (cached unless ``strict``)."""
    tree = require_root(root, "AG-VPReID")
    warnings: list[str] = []
    index = load_index(
        tree,
        "agvpreid",
        options.strict,
        warnings,
        lambda: build_agvpreid_index(tree, warnings, strict=options.strict),
        version=LOADER_VERSION,
    )
    return ReIDData("agvpreid", tree, "video", index, PROTOCOLS, warnings)
