"""AG-ReID 2023 challenge (Kaggle ``ag-reid2023``, IJCB 2023): the fast-reid layout.

Layout::

    <root>/bounding_box_train/                              P0001T03220A1C3F01111.jpg …
    <root>/exp3_aerial_to_ground/{query,bounding_box_test}/  A→G query / gallery
    <root>/exp6_ground_to_aerial/{query,bounding_box_test}/  G→A query / gallery
    <root>/gallery_add_on/{exp3_aerial_to_ground,exp6_ground_to_aerial}/
    <root>/qut_attribute_v8.mat                              (optional)

``subset`` is the folder path relative to the root (``exp3_aerial_to_ground/query``,
``gallery_add_on/exp3_aerial_to_ground``, …). Protocols: ``A→G`` = exp3 query against
exp3 ``bounding_box_test`` plus ``gallery_add_on/exp3_aerial_to_ground``; ``G→A`` likewise
for exp6. The add-on images are **distractors**: they are part of the gallery for metrics
(ranked like any gallery image), although the challenge's submission script skipped them when
picking the top-1 identity. A missing add-on folder is a counted warning (``strict``: an
error); any other missing folder, an empty split, or (in ``strict``) an unparsable name is an
error naming the file or folder.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agreid_core.data.dataset import LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.datasets.agreid_attributes import (
    attach_attribute_table,
    read_agreid_attribute_mat,
)
from agreid_core.data.datasets.agreid_v1 import scan_agreid_folder
from agreid_core.data.datasets.layout import (
    load_index,
    require_root,
    scan_split_folders,
    warn_or_raise,
)
from agreid_core.data.index import make_index

TRAIN = "bounding_box_train"
EXP3 = "exp3_aerial_to_ground"
EXP6 = "exp6_ground_to_aerial"
ADD_ON = "gallery_add_on"
REQUIRED: dict[str, str] = {
    TRAIN: "train",
    f"{EXP3}/query": "test",
    f"{EXP3}/bounding_box_test": "test",
    f"{EXP6}/query": "test",
    f"{EXP6}/bounding_box_test": "test",
}
DISTRACTORS = (f"{ADD_ON}/{EXP3}", f"{ADD_ON}/{EXP6}")
PROTOCOLS = (
    ProtocolSpec(
        "A→G",
        (f"{EXP3}/query",),
        (f"{EXP3}/bounding_box_test", f"{ADD_ON}/{EXP3}"),
        "aerial query, ground gallery plus add-on distractors",
        (f"{ADD_ON}/{EXP3}",),
    ),
    ProtocolSpec(
        "G→A",
        (f"{EXP6}/query",),
        (f"{EXP6}/bounding_box_test", f"{ADD_ON}/{EXP6}"),
        "ground query, aerial gallery plus add-on distractors",
        (f"{ADD_ON}/{EXP6}",),
    ),
)
ATTRIBUTES_MAT = "qut_attribute_v8.mat"


def load_agreid_challenge23(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load an AG-ReID 2023 challenge tree rooted at ``root``."""
    root = require_root(root, "AG-ReID 2023 challenge")
    warnings: list[str] = []

    def build() -> pl.DataFrame:
        rows = scan_split_folders(
            root,
            REQUIRED,
            scan_agreid_folder,
            "AG-ReID 2023 challenge",
            warnings,
            options.strict,
            expected=f"{', '.join(REQUIRED)}, {', '.join(DISTRACTORS)}",
        )
        for subset in DISTRACTORS:
            folder = root / subset
            if not folder.is_dir():
                msg = f"{folder}: missing folder of gallery add-on distractors"
                warn_or_raise(msg, warnings, options.strict)
                continue
            rows.extend(scan_agreid_folder(folder, subset, "test", warnings, options.strict))
        index = make_index(rows)
        mat = root / ATTRIBUTES_MAT
        if mat.is_file():
            table = read_agreid_attribute_mat(mat)
            index = attach_attribute_table(index, table, mat, warnings, options.strict)
        return index

    index = load_index(root, "agreid-challenge23", options.strict, warnings, build)
    return ReIDData("agreid-challenge23", root, "image", index, PROTOCOLS, warnings)
