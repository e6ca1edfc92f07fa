"""Market-1501 loader and file-name grammar, on trees written in the published layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreid_core.data.dataset import DatasetError, LoadOptions
from agreid_core.data.datasets.market1501 import load_market1501
from agreid_core.data.filenames import (
    FileNameError,
    Market1501Name,
    format_market1501_name,
    parse_market1501_name,
)

from .conftest import write_image

FILES: dict[str, list[str]] = {
    "bounding_box_train": [
        "0002_c1s1_000451_03.jpg",
        "0002_c2s1_000551_01.jpg",
        "0007_c3s3_012345_02.jpg",
        "-1_c1s1_000401_03.jpg",  # junk: skipped
    ],
    "query": ["0010_c1s1_000101_01.jpg", "0011_c2s1_000102_01.jpg"],
    "bounding_box_test": [
        "0010_c4s2_000200_01.jpg",
        "0011_c6s3_000300_02.jpg",
        "0000_c1s1_000151_01.jpg",  # distractor: kept
        "-1_c5s1_000010_01.jpg",  # junk: skipped
    ],
}


@pytest.fixture
def market_tree(tmp_path: Path) -> Path:
    """A valid small Market-1501 tree."""
    root = tmp_path / "Market-1501-v15.09.15"
    for i, (folder, names) in enumerate(FILES.items()):
        for j, name in enumerate(names):
            write_image(root / folder / name, seed=100 * i + j)
    return root


def test_parser_reads_the_published_example() -> None:
    name = parse_market1501_name("0002_c1s1_000451_03")
    assert (name.pid, name.camera, name.camid, name.sequence, name.frame, name.box) == (
        2,
        1,
        0,
        1,
        451,
        3,
    )
    assert parse_market1501_name("-1_c1s1_000401_03").is_junk
    assert parse_market1501_name("0000_c6s3_000151_01").is_distractor


@given(
    pid=st.integers(-1, 9999),
    camera=st.integers(1, 9),
    sequence=st.integers(0, 99),
    frame=st.integers(0, 999_999),
    box=st.integers(0, 99),
)
def test_parser_round_trips(pid: int, camera: int, sequence: int, frame: int, box: int) -> None:
    name = Market1501Name(pid, camera, sequence, frame, box)
    stem = format_market1501_name(name)
    assert parse_market1501_name(stem) == name
    assert format_market1501_name(parse_market1501_name(stem)) == stem
    assert name.camid == camera - 1


@pytest.mark.parametrize(
    "stem",
    ["P0001T04041A0C0F31", "0002_c0s1_000451_03", "-2_c1s1_000001_01", "0002_c1s1", "x_c1s1_1_1"],
)
def test_parser_rejects_other_names(stem: str) -> None:
    with pytest.raises(FileNameError, match=repr(stem)):
        parse_market1501_name(stem)


def test_loader_builds_the_index_and_protocol(market_tree: Path) -> None:
    data = load_market1501(market_tree, LoadOptions())
    assert data.kind == "image" and not data.warnings
    idx = data.index
    assert idx.height == 8  # two junk boxes skipped
    assert -1 not in idx["pid"].to_list()
    assert sorted(data.train()["pid"].to_list()) == [2, 2, 7]
    assert idx["platform"].unique().to_list() == ["cctv"]
    proto = data.protocol("query→gallery")
    query = data.rows_of(proto.query_subsets)
    gallery = data.rows_of(proto.gallery_subsets)
    assert sorted(query["pid"].to_list()) == [10, 11]
    assert sorted(gallery["pid"].to_list()) == [0, 10, 11]  # distractor kept in the gallery
    assert set(query["split"].to_list()) == {"test"}
    row = idx.filter(pl.col("path").str.ends_with("0011_c6s3_000300_02.jpg")).row(0, named=True)
    assert (row["camid"], row["frame"], row["subset"]) == (5, 300, "bounding_box_test")
    first = idx.filter(pl.col("path").str.ends_with("0002_c1s1_000451_03.jpg")).row(0, named=True)
    assert first["camid"] == 0


def test_unparsable_file_is_a_counted_warning_or_strict_error(market_tree: Path) -> None:
    write_image(market_tree / "query" / "holiday_photo.jpg", seed=1)
    data = load_market1501(market_tree, LoadOptions())
    assert len(data.warnings) == 1 and "holiday_photo.jpg" in data.warnings[0]
    assert data.index.height == 8
    with pytest.raises(DatasetError, match="holiday_photo.jpg"):
        load_market1501(market_tree, LoadOptions(strict=True))


def test_missing_folder_and_empty_split_name_the_folder(market_tree: Path) -> None:
    shutil.rmtree(market_tree / "query")
    with pytest.raises(DatasetError, match="query: missing folder"):
        load_market1501(market_tree, LoadOptions())
    (market_tree / "query").mkdir()
    with pytest.raises(DatasetError, match="query: no parsable images"):
        load_market1501(market_tree, LoadOptions())
    write_image(market_tree / "query" / "-1_c1s1_000001_01.jpg", seed=2)  # junk only
    with pytest.raises(DatasetError, match="query: no parsable images"):
        load_market1501(market_tree, LoadOptions())
    with pytest.raises(DatasetError, match="does not exist"):
        load_market1501(market_tree / "nope", LoadOptions())
