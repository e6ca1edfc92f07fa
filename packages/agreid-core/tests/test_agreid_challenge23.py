"""AG-ReID 2023 challenge loader, on trees written in the published fast-reid layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.io

from agreid_core.data.dataset import DatasetError, LoadOptions
from agreid_core.data.datasets.agreid_challenge23 import load_agreid_challenge23

from .conftest import write_image

FILES: dict[str, list[str]] = {
    "bounding_box_train": [
        "P0001T03220A1C3F01111.jpg",
        "P0001T03220A1C0F01112.jpg",
        "P0002T03220A0C2F00001.jpg",
    ],
    "exp3_aerial_to_ground/query": ["P0010T04150A1C0F00010.jpg", "P0011T04150A1C0F00011.jpg"],
    "exp3_aerial_to_ground/bounding_box_test": [
        "P0010T04150A1C3F00020.jpg",
        "P0011T04150A1C2F00021.jpg",
    ],
    "exp6_ground_to_aerial/query": ["P0010T04150A1C3F00030.jpg"],
    "exp6_ground_to_aerial/bounding_box_test": ["P0010T04150A1C0F00040.jpg"],
    "gallery_add_on/exp3_aerial_to_ground": ["P0099T05010A0C3F00001.jpg"],
    "gallery_add_on/exp6_ground_to_aerial": ["P0098T05010A0C0F00002.jpg"],
}


@pytest.fixture
def ch23_tree(tmp_path: Path) -> Path:
    """A valid small AG-ReID 2023 challenge tree."""
    root = tmp_path / "AG-ReID"
    for i, (folder, names) in enumerate(FILES.items()):
        for j, name in enumerate(names):
            write_image(root / folder / name, seed=100 * i + j)
    return root


def _names(frame: pl.DataFrame) -> set[str]:
    return {Path(p).name for p in frame["path"].to_list()}


def test_loader_builds_the_index_and_protocols(ch23_tree: Path) -> None:
    data = load_agreid_challenge23(ch23_tree, LoadOptions())
    assert data.kind == "image" and not data.warnings
    idx = data.index
    assert idx.height == 11
    assert sorted(set(idx["subset"].to_list())) == sorted(FILES)
    assert sorted(data.train()["pid"].unique().to_list()) == [1032201, 2032200]
    a2g = data.protocol("A→G")
    q = data.rows_of(a2g.query_subsets)
    g = data.rows_of(a2g.gallery_subsets)
    assert _names(q) == set(FILES["exp3_aerial_to_ground/query"])
    assert q["platform"].unique().to_list() == ["aerial"]
    assert set(q["pid"].to_list()) == {10041501, 11041501}
    assert _names(g) == {
        *FILES["exp3_aerial_to_ground/bounding_box_test"],
        "P0099T05010A0C3F00001.jpg",  # add-on distractor in the gallery
    }
    assert set(g["platform"].to_list()) == {"cctv", "wearable"}
    g2a = data.protocol("G→A")
    assert _names(data.rows_of(g2a.query_subsets)) == {"P0010T04150A1C3F00030.jpg"}
    g2a_gallery = data.rows_of(g2a.gallery_subsets)
    assert _names(g2a_gallery) == {"P0010T04150A1C0F00040.jpg", "P0098T05010A0C0F00002.jpg"}
    assert g2a_gallery["camid"].unique().to_list() == [0]
    row = idx.filter(pl.col("path").str.ends_with("P0001T03220A1C3F01111.jpg")).row(0, named=True)
    assert (row["frame"], row["altitude_level"], row["split"]) == (1111, 1, "train")


def test_attributes_mat_is_joined(ch23_tree: Path) -> None:
    scipy.io.savemat(
        ch23_tree / "qut_attribute_v8.mat",
        {
            "qut_attribute": {
                "train": {"image_index": np.array([1032201, 2032200]), "gender": np.array([1, 2])},
                "test": {"image_index": np.array([10041501]), "gender": np.array([2])},
            }
        },
    )
    data = load_agreid_challenge23(ch23_tree, LoadOptions(strict=True))
    genders = dict(data.index.select("pid", "attr_gender").unique().iter_rows())
    assert genders[1032201] == 1 and genders[10041501] == 2 and genders[11041501] is None


def test_missing_add_on_folder_is_a_counted_warning(ch23_tree: Path) -> None:
    shutil.rmtree(ch23_tree / "gallery_add_on" / "exp6_ground_to_aerial")
    data = load_agreid_challenge23(ch23_tree, LoadOptions())
    assert len(data.warnings) == 1 and "gallery_add_on/exp6_ground_to_aerial" in data.warnings[0]
    assert data.rows_of(data.protocol("G→A").gallery_subsets).height == 1
    with pytest.raises(DatasetError, match="gallery_add_on/exp6_ground_to_aerial"):
        load_agreid_challenge23(ch23_tree, LoadOptions(strict=True))


def test_unparsable_file_is_a_counted_warning_or_strict_error(ch23_tree: Path) -> None:
    write_image(ch23_tree / "exp6_ground_to_aerial" / "query" / "img_0001.jpg", seed=3)
    data = load_agreid_challenge23(ch23_tree, LoadOptions())
    assert len(data.warnings) == 1 and "img_0001.jpg" in data.warnings[0]
    with pytest.raises(DatasetError, match="img_0001.jpg"):
        load_agreid_challenge23(ch23_tree, LoadOptions(strict=True))


def test_missing_folder_and_empty_split_name_the_folder(ch23_tree: Path) -> None:
    folder = ch23_tree / "exp6_ground_to_aerial" / "bounding_box_test"
    shutil.rmtree(folder)
    with pytest.raises(
        DatasetError, match="exp6_ground_to_aerial/bounding_box_test: missing folder"
    ):
        load_agreid_challenge23(ch23_tree, LoadOptions())
    folder.mkdir()
    with pytest.raises(DatasetError, match="bounding_box_test: no parsable images"):
        load_agreid_challenge23(ch23_tree, LoadOptions())
    with pytest.raises(DatasetError, match="does not exist"):
        load_agreid_challenge23(ch23_tree / "nope", LoadOptions())
