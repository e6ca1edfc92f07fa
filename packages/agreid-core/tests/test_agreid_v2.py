"""AG-ReID.v2 loader and the attribute .mat reader, on trees in the published layout."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.io

from agreid_core.builtin_plugin import agreid_register_datasets
from agreid_core.data.dataset import DatasetError, LoadOptions, ReIDData
from agreid_core.data.datasets.agreid_attributes import read_agreid_attribute_mat
from agreid_core.data.datasets.agreid_v2 import load_agreid_v2

from .conftest import write_image

Q10 = "query/P0010T02140A2/P0010T02140A2C0F1.jpg"  # aerial
Q10C = "query/P0010T02140A2/P0010T02140A2C3F2.jpg"  # cctv
Q10W = "query/P0010T02140A2/P0010T02140A2C2F3.jpg"  # wearable
Q11 = "query/P0011T02140A2/P0011T02140A2C0F4.jpg"  # aerial
G10C = "gallery/P0010T02140A2/P0010T02140A2C3F7.jpg"
G10W = "gallery/P0010T02140A2/P0010T02140A2C2F8.jpg"
G10A = "gallery/P0010T02140A2/P0010T02140A2C0F9.jpg"
G11C = "gallery/P0011T02140A2/P0011T02140A2C3F10.jpg"
G11A = "gallery/P0011T02140A2/P0011T02140A2C0F11.jpg"
TRAIN = [
    "train_all/P0001T04041A0/P0001T04041A0C0F31.jpg",
    "train_all/P0001T04041A0/P0001T04041A0C2F40.jpg",
    "train_all/P0001T04041A0/P0001T04041A0C3F50.jpg",
    "train_all/P0002T04041A1/P0002T04041A1C0F5.jpg",
    "train_all/P0002T04041A1/P0002T04041A1C3F6.jpg",
]
LISTS: dict[str, list[str]] = {
    "exp1_aerial_to_cctv": [Q10, Q11, G10C, G11C],
    "exp2_aerial_to_wearable": [Q10, G10W],
    "exp4_cctv_to_aerial": [Q10C, G10A, G11A],
    "exp5_wearable_to_aerial": [Q10W, G10A, G11A],
}


@pytest.fixture
def v2_tree(tmp_path: Path) -> Path:
    """A valid small AG-ReID.v2 tree with its four protocol files."""
    root = tmp_path / "AG-ReID.v2"
    files = [*TRAIN, Q10, Q10C, Q10W, Q11, G10C, G10W, G10A, G11C, G11A]
    for i, rel in enumerate(files):
        write_image(root / rel, seed=i)
    for stem, lines in LISTS.items():
        (root / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
    return root


def _rel(data: ReIDData, frame: pl.DataFrame) -> set[str]:
    return {Path(p).relative_to(data.root).as_posix() for p in frame["path"].to_list()}


def _sides(data: ReIDData, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    proto = data.protocol(name)
    return data.rows_of(proto.query_subsets), data.rows_of(proto.gallery_subsets)


def _write_mat(path: Path, train: dict[str, Any], test: dict[str, Any]) -> None:
    scipy.io.savemat(path, {"qut_attribute": {"train": train, "test": test}})


def test_loader_builds_the_index_and_protocols(v2_tree: Path) -> None:
    data = load_agreid_v2(v2_tree, LoadOptions())
    assert data.kind == "image" and not data.warnings
    assert [p.name for p in data.protocols] == ["A→C", "A→W", "C→A", "W→A"]
    idx = data.index
    assert idx.height == 5 + sum(len(lines) for lines in LISTS.values())
    assert idx["path"].n_unique() == 14  # a test image may sit in several protocols
    train = data.train()
    assert train.height == 5 and train["subset"].unique().to_list() == ["train_all"]
    assert sorted(train["pid"].unique().to_list()) == [1040410, 2040411]  # int(P+T+A)
    for name, stem in zip(["A→C", "A→W", "C→A", "W→A"], LISTS, strict=True):
        query, gallery = _sides(data, name)
        assert _rel(data, query) | _rel(data, gallery) == set(LISTS[stem])
        assert _rel(data, query) == {p for p in LISTS[stem] if p.startswith("query/")}
        assert query["subset"].unique().to_list() == [f"{stem}/query"]
        assert gallery["split"].unique().to_list() == ["test"]
    query, gallery = _sides(data, "A→C")
    assert (query["platform"].unique().to_list(), gallery["platform"].unique().to_list()) == (
        ["aerial"],
        ["cctv"],
    )
    assert set(query["pid"].to_list()) == {10021402, 11021402}
    query, gallery = _sides(data, "W→A")
    assert query["camid"].to_list() == [2] and set(gallery["camid"].to_list()) == {0}
    assert _sides(data, "C→A")[0]["platform"].to_list() == ["cctv"]
    row = idx.filter(pl.col("path").str.ends_with("P0002T04041A1C3F6.jpg")).row(0, named=True)
    assert (row["camid"], row["altitude_level"], row["frame"]) == (3, 1, 6)


def test_missing_protocol_file_is_left_out_with_a_warning(v2_tree: Path) -> None:
    (v2_tree / "exp2_aerial_to_wearable.txt").unlink()
    data = load_agreid_v2(v2_tree, LoadOptions())
    assert [p.name for p in data.protocols] == ["A→C", "C→A", "W→A"]
    assert len(data.warnings) == 1 and "exp2_aerial_to_wearable.txt" in data.warnings[0]
    assert not data.index.filter(pl.col("subset").str.starts_with("exp2")).height
    with pytest.raises(DatasetError, match="exp2_aerial_to_wearable.txt"):
        load_agreid_v2(v2_tree, LoadOptions(strict=True))


def test_no_protocol_file_falls_back_to_whole_folders(v2_tree: Path) -> None:
    for stem in LISTS:
        (v2_tree / f"{stem}.txt").unlink()
    data = load_agreid_v2(v2_tree, LoadOptions())
    assert [p.name for p in data.protocols] == ["all"]
    assert len(data.warnings) == 1 and "protocol 'all'" in data.warnings[0]
    query, gallery = _sides(data, "all")
    assert (query.height, gallery.height, data.index.height) == (4, 5, 14)
    with pytest.raises(DatasetError, match="exp1_aerial_to_cctv.txt"):
        load_agreid_v2(v2_tree, LoadOptions(strict=True))


def test_missing_listed_file_names_list_and_line(v2_tree: Path) -> None:
    lines = [*LISTS["exp1_aerial_to_cctv"][:2], "gallery/P0012T02140A2/P0012T02140A2C3F1.jpg"]
    (v2_tree / "exp1_aerial_to_cctv.txt").write_text(
        "\n".join([*lines, "", "bounding_box_train/x.jpg", *LISTS["exp1_aerial_to_cctv"][2:]])
    )
    data = load_agreid_v2(v2_tree, LoadOptions())
    assert len(data.warnings) == 2
    assert "exp1_aerial_to_cctv.txt:3" in data.warnings[0] and "does not exist" in data.warnings[0]
    assert "exp1_aerial_to_cctv.txt:5" in data.warnings[1]
    assert _rel(data, _sides(data, "A→C")[1]) == {G10C, G11C}
    with pytest.raises(DatasetError, match=r"exp1_aerial_to_cctv.txt:3: listed file"):
        load_agreid_v2(v2_tree, LoadOptions(strict=True))


def test_protocol_with_an_empty_side_is_an_error(v2_tree: Path) -> None:
    (v2_tree / "exp4_cctv_to_aerial.txt").write_text(Q10C + "\n")
    with pytest.raises(DatasetError, match="exp4_cctv_to_aerial.txt: no usable gallery"):
        load_agreid_v2(v2_tree, LoadOptions())


def test_unparsable_file_is_a_counted_warning_or_strict_error(v2_tree: Path) -> None:
    write_image(v2_tree / "train_all" / "P0001T04041A0" / "thumb.jpg", seed=9)
    data = load_agreid_v2(v2_tree, LoadOptions())
    assert len(data.warnings) == 1 and "thumb.jpg" in data.warnings[0]
    assert data.train().height == 5
    with pytest.raises(DatasetError, match="thumb.jpg"):
        load_agreid_v2(v2_tree, LoadOptions(strict=True))


def test_missing_folder_and_empty_split_name_the_folder(v2_tree: Path) -> None:
    shutil.rmtree(v2_tree / "gallery")
    with pytest.raises(DatasetError, match="gallery: missing folder"):
        load_agreid_v2(v2_tree, LoadOptions())
    (v2_tree / "gallery").mkdir()
    with pytest.raises(DatasetError, match="gallery: no parsable images"):
        load_agreid_v2(v2_tree, LoadOptions())
    with pytest.raises(DatasetError, match="does not exist"):
        load_agreid_v2(v2_tree / "nope", LoadOptions())


def test_attribute_mat_is_joined_on_pid(v2_tree: Path) -> None:
    _write_mat(
        v2_tree / "qut_attribute_v8.mat",
        {"image_index": np.array([1040410, 2040411]), "gender": np.array([1, 2])},
        {"image_index": np.array([10021402, 999]), "gender": np.array([2, 1])},
    )
    data = load_agreid_v2(v2_tree, LoadOptions())
    genders = dict(data.index.select("pid", "attr_gender").unique().iter_rows())
    assert genders == {1040410: 1, 2040411: 2, 10021402: 2, 11021402: None}
    assert len(data.warnings) == 1
    assert "qut_attribute_v8.mat" in data.warnings[0] and "999" in data.warnings[0]
    with pytest.raises(DatasetError, match="qut_attribute_v8.mat"):
        load_agreid_v2(v2_tree, LoadOptions(strict=True))


def test_read_attribute_mat_nested_struct(tmp_path: Path) -> None:
    path = tmp_path / "qut_attribute_v4_88_attributes.mat"
    _write_mat(
        path,
        {"image_index": np.array([1, 2]), "gender": np.array([1, 2]), "age": np.array([3, 4])},
        {"image_index": np.array([7]), "gender": np.array([2]), "age": np.array([1])},
    )
    table = read_agreid_attribute_mat(path)
    assert table.columns == ["pid", "attr_age", "attr_gender"]
    assert table.rows() == [(1, 3, 1), (2, 4, 2), (7, 1, 2)]
    assert all(dtype == pl.Int64 for dtype in table.dtypes)


def test_read_attribute_mat_rejects_bad_shapes(tmp_path: Path) -> None:
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {"something_else": np.zeros(3)})
    with pytest.raises(DatasetError, match="bad.mat: no struct 'qut_attribute'"):
        read_agreid_attribute_mat(path)
    _write_mat(path, {"gender": np.array([1])}, {"gender": np.array([1])})
    with pytest.raises(DatasetError, match="no 'image_index'"):
        read_agreid_attribute_mat(path)
    _write_mat(
        path,
        {"image_index": np.array([1, 2]), "gender": np.array([1, 2, 1])},
        {"image_index": np.array([3]), "gender": np.array([1])},
    )
    with pytest.raises(DatasetError, match=r"columns \['gender'\]"):
        read_agreid_attribute_mat(path)
    _write_mat(
        path,
        {"image_index": np.array([1]), "gender": np.array([1])},
        {"image_index": np.array([1]), "gender": np.array([2])},
    )
    with pytest.raises(DatasetError, match="listed twice"):
        read_agreid_attribute_mat(path)


def test_loaders_are_registered() -> None:
    got: dict[str, Any] = {}
    agreid_register_datasets(got.__setitem__)
    for name in ("agreid-v2", "agreid-challenge23", "market1501"):
        assert got[name].summary and got[name].reference and callable(got[name].load)
