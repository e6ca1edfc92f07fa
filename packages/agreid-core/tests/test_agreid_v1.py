"""AG-ReID v1 loader and file-name grammar, on trees written in the published layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreid_core.data.dataset import DatasetError, LoadOptions
from agreid_core.data.datasets.agreid_v1 import load_agreid_v1
from agreid_core.data.filenames import FileNameError, parse_agreid_name
from agreid_core.types import Platform

from .conftest import write_image


def test_identity_is_the_concatenation_not_the_sum() -> None:
    name = parse_agreid_name("P0001T04041A0C0F31")
    assert name.pid == 1040410  # int("0001" + "04041" + "0")
    assert name.identity == "P0001T04041A0"
    assert (name.camera, name.frame, name.platform) == (0, 31, Platform.AERIAL)
    assert parse_agreid_name("P0001T03220A1C3F01111").platform is Platform.CCTV
    assert parse_agreid_name("P0001T03220A1C2F7").platform is Platform.WEARABLE


digits = st.text(alphabet="0123456789", min_size=1, max_size=6)


@given(
    p=digits,
    t=digits,
    a=st.sampled_from("012"),
    c=st.sampled_from([0, 2, 3]),
    f=st.integers(0, 10**6),
)
def test_parser_round_trips(p: str, t: str, a: str, c: int, f: int) -> None:
    name = parse_agreid_name(f"P{p}T{t}A{a}C{c}F{f}")
    assert (name.person, name.session, name.altitude, name.camera, name.frame) == (p, t, a, c, f)
    assert name.pid == int(p + t + a)
    assert name.altitude_level == int(a)


@given(st.text(max_size=20))
def test_parser_rejects_or_parses_consistently(text: str) -> None:
    try:
        name = parse_agreid_name(text)
    except FileNameError as exc:
        assert repr(text) in str(exc)
    else:
        assert (
            text
            == f"P{name.person}T{name.session}A{name.altitude}C{name.camera}F{text.split('F')[-1]}"
        )


def test_bad_camera_code() -> None:
    with pytest.raises(FileNameError, match="camera C7"):
        parse_agreid_name("P1T1A0C7F1")


def test_loader_builds_the_index_and_protocols(v1_tree: Path) -> None:
    data = load_agreid_v1(v1_tree, LoadOptions())
    assert data.kind == "image" and not data.warnings
    idx = data.index
    assert idx.height == 11
    assert data.train().height == 4
    assert sorted(data.train()["pid"].unique().to_list()) == [1040410, 2040411]
    aerial_q = data.rows_of(data.protocol("A→G").query_subsets)
    assert aerial_q["platform"].unique().to_list() == ["aerial"]
    assert set(aerial_q["pid"].to_list()) == {10021402, 11021402}
    g2a = data.rows_of(data.protocol("G→A").gallery_subsets)
    assert g2a["camid"].unique().to_list() == [0]
    row = idx.filter(pl.col("path").str.ends_with("P0002T04041A1C3F6.jpg")).row(0, named=True)
    assert row["platform"] == "cctv" and row["altitude_level"] == 1 and row["frame"] == 6


def test_attributes_are_joined_and_unknown_rows_warned(v1_tree: Path) -> None:
    (v1_tree / "attributes.csv").write_text("pid,gender,age\n1040410,0,3\n2040411,1,2\n999,1,1\n")
    data = load_agreid_v1(v1_tree, LoadOptions())
    row = data.index.filter(pl.col("pid") == 2040411).row(0, named=True)
    assert (row["attr_gender"], row["attr_age"]) == (1, 2)
    assert any("unknown identities" in w and "999" in w for w in data.warnings)
    with pytest.raises(DatasetError, match="attributes.csv"):
        load_agreid_v1(v1_tree, LoadOptions(strict=True))


def test_unparsable_file_is_a_counted_warning_or_strict_error(v1_tree: Path) -> None:
    bad = v1_tree / "query_all_c0" / "holiday_photo.jpg"
    write_image(bad, seed=1)
    data = load_agreid_v1(v1_tree, LoadOptions())
    assert len(data.warnings) == 1 and "holiday_photo.jpg" in data.warnings[0]
    assert data.index.height == 11
    with pytest.raises(DatasetError, match="holiday_photo.jpg"):
        load_agreid_v1(v1_tree, LoadOptions(strict=True))


def test_missing_folder_and_empty_split_name_the_folder(v1_tree: Path) -> None:
    shutil.rmtree(v1_tree / "query_all_c3")
    with pytest.raises(DatasetError, match="query_all_c3: missing folder"):
        load_agreid_v1(v1_tree, LoadOptions())
    (v1_tree / "query_all_c3").mkdir()
    with pytest.raises(DatasetError, match="query_all_c3: no parsable images"):
        load_agreid_v1(v1_tree, LoadOptions())
    with pytest.raises(DatasetError, match="does not exist"):
        load_agreid_v1(v1_tree / "nope", LoadOptions())


def test_index_is_cached_until_the_tree_changes(
    v1_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agreid_core.data.datasets.agreid_v1 as v1

    write_image(v1_tree / "query_all_c0" / "not_a_reid_name.jpg", seed=2)
    first = load_agreid_v1(v1_tree, LoadOptions())

    def must_not_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tree was rescanned although it did not change")

    monkeypatch.setattr(v1, "scan_split_folders", must_not_scan)
    second = load_agreid_v1(v1_tree, LoadOptions())
    assert second.index.equals(first.index)
    assert second.warnings == first.warnings and len(second.warnings) == 1
    write_image(v1_tree / "query_all_c0" / "P0012T02140A2C0F3.jpg", seed=3)
    with pytest.raises(AssertionError, match="rescanned"):
        load_agreid_v1(v1_tree, LoadOptions())
