"""AG-ReID.v2 (TIFS 2024): per-identity folders, four list-file protocols, three platforms.

Layout::

    <root>/train_all/P0001T04041A0/P0001T04041A0C0F31.jpg …
    <root>/query/<PTA>/<file>.jpg
    <root>/gallery/<PTA>/<file>.jpg
    <root>/exp1_aerial_to_cctv.txt   exp2_aerial_to_wearable.txt
    <root>/exp4_cctv_to_aerial.txt   exp5_wearable_to_aerial.txt
    <root>/qut_attribute_v8.mat      (optional)

Camera codes: 0 aerial, 2 wearable, 3 CCTV; identity ``int(P+T+A)``.

Index design: a protocol is a list of files, which a folder cannot express, so the index holds
the training images once (``subset`` ``train_all``) and, for each protocol file, one row per
listed image with ``subset`` ``<stem>/query`` or ``<stem>/gallery`` (``exp1_aerial_to_cctv/query``).
A test image listed by several protocols therefore has several rows; evaluation selects by
``subset``, so that is harmless, but count images with ``path.unique()``.

Protocol files hold one path per line relative to the root; ``query/…`` lines are queries,
``gallery/…`` lines gallery images. A missing protocol file leaves that protocol out with a
counted warning; with none present the single protocol ``all`` (whole ``query`` vs whole
``gallery`` folder, subsets ``query`` / ``gallery``) is used, with a warning. A listed file
that does not exist, or a line that is neither ``query/`` nor ``gallery/``, is a counted
warning naming the list file and line. ``strict`` turns every warning into an error. A missing
folder or an empty split (folder or protocol side) is an error.
"""

from __future__ import annotations

from pathlib import Path

from agreid_core.data.dataset import DatasetError, LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.datasets.agreid_attributes import (
    attach_attribute_table,
    read_agreid_attribute_mat,
)
from agreid_core.data.datasets.agreid_v1 import scan_agreid_folder
from agreid_core.data.datasets.layout import warn_or_raise
from agreid_core.data.index import make_index

TRAIN = "train_all"
QUERY = "query"
GALLERY = "gallery"
FOLDERS = (TRAIN, QUERY, GALLERY)
#: Protocol file stem → (protocol name, description).
PROTOCOL_FILES: dict[str, tuple[str, str]] = {
    "exp1_aerial_to_cctv": ("A→C", "aerial query, CCTV gallery"),
    "exp2_aerial_to_wearable": ("A→W", "aerial query, wearable gallery"),
    "exp4_cctv_to_aerial": ("C→A", "CCTV query, aerial gallery"),
    "exp5_wearable_to_aerial": ("W→A", "wearable query, aerial gallery"),
}
FALLBACK = ProtocolSpec("all", (QUERY,), (GALLERY,), "whole query folder vs whole gallery folder")
ATTRIBUTES_MAT = "qut_attribute_v8.mat"


def _protocol_rows(
    list_file: Path,
    test_rows: dict[str, dict[str, object]],
    root: Path,
    warnings: list[str],
    strict: bool,
) -> list[dict[str, object]]:
    """Rows of one protocol file, with ``subset`` ``<stem>/query`` | ``<stem>/gallery``."""
    stem = list_file.stem
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    counts = {QUERY: 0, GALLERY: 0}
    for lineno, raw in enumerate(list_file.read_text().splitlines(), start=1):
        rel = raw.strip().replace("\\", "/").removeprefix("./")
        if not rel or rel in seen:
            continue
        seen.add(rel)
        side = rel.split("/", 1)[0]
        if side not in counts:
            warn_or_raise(
                f"{list_file}:{lineno}: {rel!r} is neither a query/ nor a gallery/ path",
                warnings,
                strict,
            )
            continue
        row = test_rows.get(rel)
        if row is None:
            if not (root / rel).is_file():
                warn_or_raise(
                    f"{list_file}:{lineno}: listed file {rel!r} does not exist", warnings, strict
                )
            # an existing file missing from the scan did not parse; it was warned already
            continue
        rows.append({**row, "subset": f"{stem}/{side}"})
        counts[side] += 1
    for side, n in counts.items():
        if n == 0:
            raise DatasetError(f"{list_file}: no usable {side} images listed (empty split)")
    return rows


def load_agreid_v2(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load an AG-ReID.v2 tree rooted at ``root``."""
    if root is None:
        raise DatasetError("AG-ReID.v2 needs the dataset folder (--data PATH)")
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder does not exist")
    warnings: list[str] = []
    scanned: dict[str, list[dict[str, object]]] = {}
    for subset in FOLDERS:
        folder = root / subset
        if not folder.is_dir():
            raise DatasetError(
                f"{folder}: missing folder (expected the AG-ReID.v2 layout: {', '.join(FOLDERS)})"
            )
        split = "train" if subset == TRAIN else "test"
        found = scan_agreid_folder(folder, subset, split, warnings, options.strict)
        if not found:
            raise DatasetError(f"{folder}: no parsable images in this split")
        scanned[subset] = found
    rows = list(scanned[TRAIN])
    test_rows = {
        Path(str(row["path"])).relative_to(root).as_posix(): row
        for subset in (QUERY, GALLERY)
        for row in scanned[subset]
    }
    protocols: list[ProtocolSpec] = []
    present = [stem for stem in PROTOCOL_FILES if (root / f"{stem}.txt").is_file()]
    if not present:
        warn_or_raise(
            f"{root}: none of the protocol files {', '.join(s + '.txt' for s in PROTOCOL_FILES)} "
            "is present; using protocol 'all' (whole query vs whole gallery folder)",
            warnings,
            options.strict,
        )
        rows.extend(scanned[QUERY])
        rows.extend(scanned[GALLERY])
        protocols.append(FALLBACK)
    for stem, (name, description) in PROTOCOL_FILES.items():
        list_file = root / f"{stem}.txt"
        if stem not in present:
            if present:
                warn_or_raise(
                    f"{list_file}: missing protocol file; protocol {name} is left out",
                    warnings,
                    options.strict,
                )
            continue
        rows.extend(_protocol_rows(list_file, test_rows, root, warnings, options.strict))
        protocols.append(ProtocolSpec(name, (f"{stem}/query",), (f"{stem}/gallery",), description))
    index = make_index(rows)
    mat = root / ATTRIBUTES_MAT
    if mat.is_file():
        table = read_agreid_attribute_mat(mat)
        index = attach_attribute_table(index, table, mat, warnings, options.strict)
    return ReIDData("agreid-v2", root, "image", index, tuple(protocols), warnings)
