"""AG-VPReID loader on small trees written in the published layout (VP README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from agreid_core.data.dataset import DatasetError, DatasetSpec, LoadOptions
from agreid_core.data.datasets.agvpreid import load_agvpreid
from agreid_core.data.filenames import FileNameError, parse_agvpreid_name

from .conftest import write_image

C1Q, C1G = "case1_aerial_to_ground/query", "case1_aerial_to_ground/gallery"
C2Q, C2G = "case2_ground_to_aerial/query", "case2_ground_to_aerial/gallery"

#: subset → [(ID folder, tracklet folder, altitude code, camera code, frame numbers)].
TREE: dict[str, list[tuple[str, str, int, int, list[int]]]] = {
    "train": [("0001", "tracklet_1", 2, 0, [3, 4]), ("0002", "tracklet_2", 3, 4, [5])],
    C1Q: [("0457", "tracklet_11", 2, 4, [10, 9]), ("0458", "tracklet_12", 3, 5, [7])],
    C1G: [("0457", "cpd7eD", 2, 0, [1, 2]), ("0458", "abc1dE", 3, 2, [8])],
    C2Q: [("0457", "cpd7eD", 2, 0, [1, 2]), ("0458", "abc1dE", 3, 2, [8])],
    C2G: [
        ("0457", "tracklet_11", 2, 4, [10, 9]),
        ("0458", "tracklet_12", 3, 5, [7]),
        ("3065", "tracklet_99", 3, 5, [1]),  # aerial distractor: no ground counterpart
    ],
}


def frame_name(alt: int, cam: int, frame: int) -> str:
    return f"P81T2310171A{alt}C{cam}E152K7F{frame}.jpg"


def make_tree(root: Path) -> Path:
    seed = 0
    for subset, tracklets in TREE.items():
        for pid, tracklet, alt, cam, frames in tracklets:
            for f in frames:
                seed += 1
                write_image(root / subset / pid / tracklet / frame_name(alt, cam, f), seed)
    return root


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREID_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "AG-VPReID")


def test_counts_protocols_and_raw_pids(tree: Path) -> None:
    data = load_agvpreid(tree, LoadOptions())
    assert data.kind == "video" and data.warnings == []
    counts = dict(data.index.group_by("subset").len().iter_rows())
    assert counts == {"train": 2, C1Q: 2, C1G: 2, C2Q: 2, C2G: 3}
    assert [p.name for p in data.protocols] == ["A→G", "G→A"]
    assert set(data.rows_of([C1Q])["pid"].to_list()) == {457, 458}  # 0457 → 457, not 0
    assert set(data.train()["pid"].to_list()) == {1, 2}
    assert 3065 in data.rows_of([C2G])["pid"].to_list()  # distractor kept
    assert set(data.index["split"].to_list()) == {"train", "test"}


def test_queries_never_in_the_gallery(tree: Path) -> None:
    data = load_agvpreid(tree, LoadOptions())
    for proto in data.protocols:
        q = set(data.rows_of(proto.query_subsets)["path"].to_list())
        g = set(data.rows_of(proto.gallery_subsets)["path"].to_list())
        assert q and g and not q & g


def test_tracklet_rows(tree: Path) -> None:
    data = load_agvpreid(tree, LoadOptions())
    row = data.rows_of([C1Q]).filter(pl.col("tracklet") == "tracklet_11").row(0, named=True)
    assert row["path"] == str(tree / C1Q / "0457" / "tracklet_11")
    assert [Path(p).name for p in row["frames"]] == [frame_name(2, 4, 9), frame_name(2, 4, 10)]
    assert row["frame"] == 9 and row["camid"] == 4
    assert row["platform"] == "aerial"
    assert row["altitude_level"] == 2 and row["altitude_m"] == 80.0
    assert data.index.schema["frames"] == pl.List(pl.String())
    high = data.rows_of([C2G]).filter(pl.col("pid") == 458).row(0, named=True)
    assert high["altitude_m"] == 120.0 and high["platform"] == "aerial"


def test_platforms(tree: Path) -> None:
    data = load_agvpreid(tree, LoadOptions())
    for subset in (C1Q, C2G):
        assert set(data.rows_of([subset])["platform"].to_list()) == {"aerial"}
    for subset in (C1G, C2Q):
        by_pid = dict(data.rows_of([subset]).select("pid", "platform").iter_rows())
        assert by_pid == {457: "cctv", 458: "wearable"}  # C2 → wearable (README mapping)
    assert dict(data.train().select("pid", "platform").iter_rows()) == {1: "cctv", 2: "aerial"}


def test_attributes_joined_by_subset_and_pid(tree: Path) -> None:
    folder = tree / "attributes" / "case1_aerial_to_ground"
    folder.mkdir(parents=True)
    (folder / "query.csv").write_text("id,gender,age\n457,1,2\n458,0,3\n9999,1,1\n")
    (tree / "attributes" / "train.csv").write_text("id,gender,age\n1,2,0\n")
    data = load_agvpreid(tree, LoadOptions())
    assert len(data.warnings) == 1 and "query.csv" in data.warnings[0]
    assert "9999" in data.warnings[0]
    q = dict(data.rows_of([C1Q]).select("pid", "attr_gender").iter_rows())
    assert q == {457: 1, 458: 0}
    # same pid in another view has no attributes from this file (IDs masked per view)
    assert data.rows_of([C1G])["attr_gender"].null_count() == 2
    assert dict(data.train().select("pid", "attr_age").iter_rows()) == {1: 0, 2: None}
    assert data.index.height == 11
    with pytest.raises(DatasetError, match="unknown identities"):
        load_agvpreid(tree, LoadOptions(strict=True))


@pytest.mark.parametrize("subset", ["train", C1Q, C2G])
def test_missing_folder(tree: Path, subset: str) -> None:
    shutil.rmtree(tree / subset)
    with pytest.raises(DatasetError, match="missing folder"):
        load_agvpreid(tree, LoadOptions())


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_agvpreid(tmp_path / "nope", LoadOptions())
    with pytest.raises(DatasetError, match="needs the dataset folder"):
        load_agvpreid(None, LoadOptions())


def test_empty_split(tree: Path) -> None:
    shutil.rmtree(tree / C2Q)
    (tree / C2Q).mkdir()
    with pytest.raises(DatasetError, match="no tracklets"):
        load_agvpreid(tree, LoadOptions())


def test_tracklet_without_frames(tree: Path) -> None:
    (tree / C1G / "0457" / "empty_tracklet").mkdir()
    data = load_agvpreid(tree, LoadOptions())
    assert len(data.warnings) == 1 and "empty_tracklet" in data.warnings[0]
    assert data.rows_of([C1G]).height == 2
    with pytest.raises(DatasetError, match="empty_tracklet"):
        load_agvpreid(tree, LoadOptions(strict=True))


def test_unparsable_frame_name(tree: Path) -> None:
    bad = tree / C1Q / "0457" / "tracklet_11" / "frame_0001.jpg"
    write_image(bad, 99)
    data = load_agvpreid(tree, LoadOptions())
    assert len(data.warnings) == 1 and str(bad) in data.warnings[0]
    row = data.rows_of([C1Q]).filter(pl.col("pid") == 457).row(0, named=True)
    assert len(row["frames"]) == 2  # the bad frame is left out, the tracklet kept
    # a second (cached) load reports the same warning
    assert load_agvpreid(tree, LoadOptions()).warnings == data.warnings
    with pytest.raises(DatasetError, match="frame_0001"):
        load_agvpreid(tree, LoadOptions(strict=True))


def test_non_integer_identity_folder(tree: Path) -> None:
    write_image(tree / "train" / "abc" / "t" / frame_name(2, 0, 1), 5)
    data = load_agvpreid(tree, LoadOptions())
    assert len(data.warnings) == 1 and "abc" in data.warnings[0]
    assert data.train().height == 2


def test_parse_agvpreid_name() -> None:
    name = parse_agvpreid_name("P81T2310171A2C2E152K7F7528")
    assert (name.person, name.date, name.altitude, name.camera) == (81, "2310171", 2, 2)
    assert (name.event, name.keypoint, name.frame, name.altitude_m) == (152, 7, 7528, 80.0)
    assert parse_agvpreid_name("P1T1A0C1E1K1F1").altitude_m is None
    with pytest.raises(FileNameError):
        parse_agvpreid_name("P81T2310171A2C2F7528")


def test_registered_as_video() -> None:
    from agreid_core.builtin_plugin import agreid_register_datasets

    specs: dict[str, DatasetSpec] = {}

    def register(name: str, spec: DatasetSpec) -> None:
        specs[name] = spec

    agreid_register_datasets(register)
    for name in ("agvpreid", "mars", "g2a-vreid"):
        assert specs[name].kind == "video"
