"""MARS (ECCV 2016) and G2A-VReID (ECCV 2024, v1 and v2): the MARS-style video layout.

Layout (TR/VP ``Mars``, VSLA ``G2A``/``G2A2`` loaders)::

    <root>/bbox_train/<pid4>/<name>.jpg        <root>/bbox_test/<pid4>/<name>.jpg
    <root>/info/train_name.txt  test_name.txt  one frame file name per line, tracklets contiguous
    <root>/info/tracks_train_info.mat  (track_train_info)  N×4 [start, end, pid, camid],
    <root>/info/tracks_test_info.mat   (track_test_info)   1-based, inclusive
    <root>/info/query_IDX.mat          (query_IDX)         1-based rows of track_test_info
    <root>/info/query_IDX_A2G.mat      (query_IDX_A2G)     G2A-VReID.v2 only: A→G queries

One index row per tracklet (one ``.mat`` row): ``pid`` and ``camid`` (column 4 minus 1) from
the ``.mat``, ``path`` the person folder holding the frames (MARS has no per-tracklet folder),
``frames`` (List[String]) the frame files in list order, ``tracklet`` ``train_<row>`` /
``test_<row>`` (1-based ``.mat`` row, unique and matching ``query_IDX``), ``frame`` the ``F``
number of the first frame. Frame files are located by scanning the person folders once, so the
4-digit (MARS, G2A v1) and 5-digit (G2A v2) pid folders both work. pid −1 (junk) tracklets are
dropped; pid 0 (MARS distractors) are kept.

:func:`load_mars`: all cameras are CCTV. The official evaluation appends the query set to the
gallery (otherwise 140 queries have no match; the same-(pid, camera) rule removes the query
itself). The index expresses that by emitting every query tracklet twice: once with ``subset``
``query`` and once with ``subset`` ``gallery_from_query``; the protocol's gallery is
``gallery`` (test tracklets not in ``query_IDX``) + ``gallery_from_query``.

:func:`load_g2a_vreid`: camid 0 is the ground camera (``cctv``), camid 1 the UAV (``aerial``);
any other camera is a counted warning and the tracklet is dropped. Queries are NOT appended to
the gallery. Protocol ``G→A`` uses ``query_IDX`` (subsets ``ground_to_aerial/query`` and
``ground_to_aerial/gallery`` = the rest of the test set); ``A→G`` uses ``query_IDX_A2G`` when
present (``aerial_to_ground/…``). Test tracklets used by both protocols have one row per
protocol side.

Bad input: a missing folder or info file, a ``.mat`` without its variable or not N×4, a
tracklet range outside the name list, a query index outside the test table, or an empty split is
an error; frame files listed but absent are a counted warning per tracklet naming the first one
(``strict``: an error), and a tracklet with none left is dropped. The index is cached by
:func:`agreid_core.data.cache.cached_index` (not in ``strict``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from agreid_core.data.dataset import DatasetError, LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.datasets.layout import load_index, require_root, warn_or_raise
from agreid_core.data.filenames import parse_mars_frame
from agreid_core.data.index import make_index
from agreid_core.types import Platform

LOADER_VERSION = "1"
FOLDERS = {"train": "bbox_train", "test": "bbox_test"}
NAME_FILES = {"train": "train_name.txt", "test": "test_name.txt"}
INFO_FILES = {
    "train": ("tracks_train_info.mat", "track_train_info"),
    "test": ("tracks_test_info.mat", "track_test_info"),
}
QUERY_G2A = ("query_IDX.mat", "query_IDX")
QUERY_A2G = ("query_IDX_A2G.mat", "query_IDX_A2G")
G2A_PLATFORMS: dict[int, Platform] = {0: Platform.CCTV, 1: Platform.AERIAL}
MARS_PROTOCOLS = (
    ProtocolSpec(
        "query→gallery",
        ("query",),
        ("gallery", "gallery_from_query"),
        "MARS: gallery = test tracklets not queried + the queries appended (official eval)",
    ),
)
G2A_SUBSETS = {"G→A": "ground_to_aerial", "A→G": "aerial_to_ground"}

#: ``platform_of(camid) -> platform`` or None when the camera is not valid for the dataset.
PlatformOf = Callable[[int], "str | None"]


def _read_mat(path: Path, variable: str) -> np.ndarray[Any, Any]:
    """The integer array ``variable`` of a ``.mat`` file."""
    from scipy.io import loadmat

    if not path.is_file():
        raise DatasetError(f"{path}: missing file (expected the MARS-style info/ layout)")
    try:
        mat = loadmat(str(path))
    except Exception as exc:  # scipy raises several types for unreadable files
        raise DatasetError(f"{path}: cannot read the .mat file ({exc})") from None
    if variable not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DatasetError(f"{path}: no variable {variable!r} (variables: {found})")
    try:
        return np.asarray(mat[variable]).astype(np.int64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: {variable!r} is not numeric ({exc})") from None


def _locate(folder: Path) -> dict[str, str]:
    """Frame file name → path, over the person folders of ``folder``."""
    out: dict[str, str] = {}
    with os.scandir(folder) as people:
        for person in people:
            if not person.is_dir():
                continue
            with os.scandir(person.path) as files:
                for f in files:
                    out.setdefault(f.name, f.path)
    return out


def _tracklets(
    root: Path, split: str, platform_of: PlatformOf, warnings: list[str], strict: bool
) -> dict[int, dict[str, object]]:
    """Rows of one split by 1-based ``.mat`` row (junk and unusable tracklets left out)."""
    folder = root / FOLDERS[split]
    if not folder.is_dir():
        raise DatasetError(f"{folder}: missing folder (expected bbox_train/, bbox_test/, info/)")
    names_path = root / "info" / NAME_FILES[split]
    if not names_path.is_file():
        raise DatasetError(f"{names_path}: missing file (expected the MARS-style info/ layout)")
    names = [line.strip() for line in names_path.read_text().splitlines() if line.strip()]
    mat_name, variable = INFO_FILES[split]
    mat_path = root / "info" / mat_name
    info = _read_mat(mat_path, variable)
    if info.ndim != 2 or info.shape[1] != 4:
        raise DatasetError(f"{mat_path}: {variable!r} has shape {info.shape}, expected N×4")
    located = _locate(folder)
    rows: dict[int, dict[str, object]] = {}
    for i, (start, end, pid, cam) in enumerate(info.tolist(), start=1):
        if not 1 <= start <= end <= len(names):
            raise DatasetError(
                f"{mat_path}: row {i} spans names {start}…{end}, outside 1…{len(names)} "
                f"of {names_path.name}"
            )
        if pid == -1:
            continue
        camid = cam - 1
        platform = platform_of(camid)
        if platform is None:
            warn_or_raise(f"{mat_path}: row {i} has camera {cam}, not valid here", warnings, strict)
            continue
        wanted = names[start - 1 : end]
        frames = [located[n] for n in wanted if n in located]
        if len(frames) < len(wanted):
            missing = next(n for n in wanted if n not in located)
            warn_or_raise(
                f"{folder}: tracklet row {i} of {mat_path.name}: {len(wanted) - len(frames)} "
                f"listed frame(s) missing, e.g. {missing!r}",
                warnings,
                strict,
            )
            if not frames:
                continue
        rows[i] = {
            "path": str(Path(frames[0]).parent),
            "pid": pid,
            "camid": camid,
            "platform": platform,
            "tracklet": f"{split}_{i}",
            "frame": parse_mars_frame(Path(frames[0]).stem),
            "subset": split,
            "split": split,
            "frames": frames,
        }
    if not rows:
        raise DatasetError(f"{mat_path}: no usable tracklets in this split")
    return rows


def _query_rows(root: Path, spec: tuple[str, str], n_test: int) -> list[int]:
    """1-based test rows listed by a query ``.mat``, checked against the test table size."""
    path = root / "info" / spec[0]
    idx = _read_mat(path, spec[1]).ravel().tolist()
    bad = [i for i in idx if not 1 <= i <= n_test]
    if bad:
        raise DatasetError(f"{path}: query indices {bad[:3]} outside 1…{n_test} of the test table")
    return list(dict.fromkeys(int(i) for i in idx))


def _test_table_size(root: Path) -> int:
    mat_name, variable = INFO_FILES["test"]
    return int(_read_mat(root / "info" / mat_name, variable).shape[0])


def _finish(rows: list[dict[str, object]]) -> pl.DataFrame:
    return make_index(rows).with_columns(pl.col("frames").cast(pl.List(pl.String())))


def _split_protocol(
    test: dict[int, dict[str, object]],
    queries: list[int],
    query_subset: str,
    gallery_subset: str,
    where: Path,
) -> list[dict[str, object]]:
    """Query rows then gallery rows (test rows not queried) with the given subsets."""
    qset = set(queries)
    q = [{**test[i], "subset": query_subset} for i in queries if i in test]
    g = [{**row, "subset": gallery_subset} for i, row in test.items() if i not in qset]
    if not q:
        raise DatasetError(f"{where}: no usable query tracklets (empty split)")
    if not g:
        raise DatasetError(f"{where}: no gallery tracklets left (empty split)")
    return q + g


def build_mars_index(root: Path, warnings: list[str], strict: bool) -> pl.DataFrame:
    """Scan a MARS tree into a tracklet index (no cache)."""

    def cctv(_: int) -> str:
        return Platform.CCTV.value

    train = _tracklets(root, "train", cctv, warnings, strict)
    test = _tracklets(root, "test", cctv, warnings, strict)
    queries = _query_rows(root, QUERY_G2A, _test_table_size(root))
    rows = list(train.values())
    rows += _split_protocol(test, queries, "query", "gallery", root / "info" / QUERY_G2A[0])
    rows += [{**test[i], "subset": "gallery_from_query"} for i in queries if i in test]
    return _finish(rows)


def _g2a_platform(camid: int) -> str | None:
    found = G2A_PLATFORMS.get(camid)
    return str(found.value) if found else None


def build_g2a_index(root: Path, warnings: list[str], strict: bool) -> pl.DataFrame:
    """Scan a G2A-VReID (v1 or v2) tree into a tracklet index (no cache)."""
    train = _tracklets(root, "train", _g2a_platform, warnings, strict)
    test = _tracklets(root, "test", _g2a_platform, warnings, strict)
    n_test = _test_table_size(root)
    rows = list(train.values())
    for name, spec in (("G→A", QUERY_G2A), ("A→G", QUERY_A2G)):
        if name == "A→G" and not (root / "info" / spec[0]).is_file():
            continue
        stem = G2A_SUBSETS[name]
        queries = _query_rows(root, spec, n_test)
        where = root / "info" / spec[0]
        rows += _split_protocol(test, queries, f"{stem}/query", f"{stem}/gallery", where)
    return _finish(rows)


def _load(
    name: str,
    root: Path | None,
    options: LoadOptions,
    build: Callable[[Path, list[str], bool], pl.DataFrame],
    layout: str,
) -> tuple[Path, pl.DataFrame, list[str]]:
    tree = require_root(root, layout)
    warnings: list[str] = []
    index = load_index(
        tree,
        name,
        options.strict,
        warnings,
        lambda: build(tree, warnings, options.strict),
        version=LOADER_VERSION,
    )
    return tree, index, warnings


def load_mars(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load a MARS tree (queries appended to the gallery, as the official evaluation does)."""
    tree, index, warnings = _load("mars", root, options, build_mars_index, "MARS")
    return ReIDData("mars", tree, "video", index, MARS_PROTOCOLS, warnings)


def load_g2a_vreid(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load a G2A-VReID tree: G→A from ``query_IDX``, A→G from ``query_IDX_A2G`` if present."""
    tree, index, warnings = _load("g2a-vreid", root, options, build_g2a_index, "G2A-VReID")
    protocols = [
        ProtocolSpec(
            "G→A",
            ("ground_to_aerial/query",),
            ("ground_to_aerial/gallery",),
            "ground query (query_IDX), UAV gallery; queries not appended",
        )
    ]
    if (tree / "info" / QUERY_A2G[0]).is_file():
        protocols.append(
            ProtocolSpec(
                "A→G",
                ("aerial_to_ground/query",),
                ("aerial_to_ground/gallery",),
                "UAV query (query_IDX_A2G), ground gallery; queries not appended",
            )
        )
    return ReIDData("g2a-vreid", tree, "video", index, tuple(protocols), warnings)
