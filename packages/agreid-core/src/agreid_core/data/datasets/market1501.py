"""Market-1501 (ICCV 2015): the ground-only reference, three flat folders, one protocol.

Layout::

    <root>/bounding_box_train/  0002_c1s1_000451_03.jpg …   (train)
    <root>/query/               query images               (test)
    <root>/bounding_box_test/   gallery images             (test)

Name grammar ``<pid>_c<camera>s<sequence>_<frame>_<box>`` (see
:func:`agreid_core.data.filenames.parse_market1501_name`). pid −1 (junk) is skipped at load;
pid 0 (distractor) is kept, so it enters the gallery. ``camid`` is 0-based (``c1`` → 0);
every camera is a ground CCTV camera. A name that does not parse is a counted warning naming
the file (``strict``: an error); a missing folder or an empty split is an error.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agreid_core.data.dataset import LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.datasets.layout import (
    load_index,
    require_root,
    scan_split_folders,
    warn_or_raise,
)
from agreid_core.data.filenames import FileNameError, parse_market1501_name
from agreid_core.data.index import make_index
from agreid_core.types import Platform

SUBSETS: dict[str, str] = {
    "bounding_box_train": "train",
    "query": "test",
    "bounding_box_test": "test",
}
PROTOCOLS = (
    ProtocolSpec(
        "query→gallery",
        ("query",),
        ("bounding_box_test",),
        "Market-1501 single query; distractors (pid 0) in the gallery",
    ),
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def scan_market1501_folder(
    folder: Path, subset: str, split: str, warnings: list[str], strict: bool
) -> list[dict[str, object]]:
    """Index rows for the images of one Market-1501 folder; junk (pid −1) is left out."""
    rows: list[dict[str, object]] = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        try:
            name = parse_market1501_name(path.stem)
        except FileNameError as exc:
            msg = f"{path}: {exc}"
            warn_or_raise(msg, warnings, strict)
            continue
        if name.is_junk:
            continue
        rows.append(
            {
                "path": str(path),
                "pid": name.pid,
                "camid": name.camid,
                "platform": Platform.CCTV.value,
                "frame": name.frame,
                "subset": subset,
                "split": split,
            }
        )
    return rows


def load_market1501(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load a Market-1501 tree rooted at ``root``."""
    root = require_root(root, "Market-1501")
    warnings: list[str] = []

    def build() -> pl.DataFrame:
        rows = scan_split_folders(
            root, SUBSETS, scan_market1501_folder, "Market-1501", warnings, options.strict
        )
        return make_index(rows)

    index = load_index(root, "market1501", options.strict, warnings, build)
    return ReIDData("market1501", root, "image", index, PROTOCOLS, warnings)
