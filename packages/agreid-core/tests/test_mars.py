"""MARS and G2A-VReID loaders on small trees in the MARS-style layout (TR/VSLA loaders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.io import savemat

from agreid_core.data.dataset import DatasetError, LoadOptions
from agreid_core.data.datasets.mars import load_g2a_vreid, load_mars

from .conftest import write_image

#: One tracklet: (pid, camera as written 1-based, number of frames).
Track = tuple[int, int, int]
MARS_TRAIN: list[Track] = [(1, 1, 3), (1, 2, 2), (2, 1, 2)]
# rows 1…6: query 457, gallery 457, query 458, distractor 0, junk −1, gallery 458
MARS_TEST: list[Track] = [(457, 1, 2), (457, 2, 2), (458, 1, 2), (0, 3, 1), (-1, 1, 1), (458, 2, 2)]
G2A_TRAIN: list[Track] = [(1, 1, 2), (1, 2, 2)]
G2A_TEST: list[Track] = [(10, 1, 2), (10, 2, 3), (11, 1, 2), (11, 2, 2)]


def _pid_text(pid: int, digits: int) -> str:
    return "00-1" if pid == -1 else f"{pid:0{digits}d}"


def write_split(root: Path, split: str, tracks: list[Track], digits: int) -> None:
    """bbox_<split>/<pid>/<names>, info/<split>_name.txt and tracks_<split>_info.mat."""
    names: list[str] = []
    info: list[list[int]] = []
    for t, (pid, cam, n) in enumerate(tracks, start=1):
        start = len(names) + 1
        for f in range(1, n + 1):
            name = f"{_pid_text(pid, digits)}C{cam}T{t:04d}F{f:03d}.jpg"
            write_image(root / f"bbox_{split}" / _pid_text(pid, digits) / name, len(names))
            names.append(name)
        info.append([start, len(names), pid, cam])
    (root / "info").mkdir(parents=True, exist_ok=True)
    (root / "info" / f"{split}_name.txt").write_text("\n".join(names) + "\n")
    savemat(
        root / "info" / f"tracks_{split}_info.mat",
        {f"track_{split}_info": np.asarray(info, dtype=np.float64)},
    )


def write_query(root: Path, rows: list[int], variable: str = "query_IDX") -> None:
    savemat(root / "info" / f"{variable}.mat", {variable: np.asarray([rows], dtype=np.float64)})


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREID_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def mars(tmp_path: Path) -> Path:
    root = tmp_path / "MARS"
    write_split(root, "train", MARS_TRAIN, 4)
    write_split(root, "test", MARS_TEST, 4)
    write_query(root, [1, 3])
    return root


@pytest.fixture
def g2a(tmp_path: Path) -> Path:
    root = tmp_path / "G2A-VReID.v2"
    write_split(root, "train", G2A_TRAIN, 5)
    write_split(root, "test", G2A_TEST, 5)
    write_query(root, [1, 3])
    write_query(root, [2, 4], "query_IDX_A2G")
    return root


def test_mars_gallery_includes_appended_queries(mars: Path) -> None:
    data = load_mars(mars, LoadOptions())
    assert data.kind == "video" and data.warnings == []
    counts = dict(data.index.group_by("subset").len().iter_rows())
    assert counts == {"train": 3, "query": 2, "gallery": 3, "gallery_from_query": 2}
    (proto,) = data.protocols
    query = data.rows_of(proto.query_subsets)
    gallery = data.rows_of(proto.gallery_subsets)
    assert set(query["tracklet"].to_list()) <= set(gallery["tracklet"].to_list())
    assert gallery.height == 5
    assert sorted(query["pid"].to_list()) == [457, 458]  # raw, never remapped
    assert -1 not in data.index["pid"].to_list()  # junk dropped
    assert 0 in gallery["pid"].to_list()  # distractor kept
    assert set(data.index["platform"].to_list()) == {"cctv"}


def test_mars_tracklet_rows(mars: Path) -> None:
    data = load_mars(mars, LoadOptions())
    row = data.rows_of(["query"]).filter(pl.col("tracklet") == "test_1").row(0, named=True)
    assert row["camid"] == 0 and row["pid"] == 457 and row["frame"] == 1
    assert row["path"] == str(mars / "bbox_test" / "0457")
    assert [Path(p).name for p in row["frames"]] == ["0457C1T0001F001.jpg", "0457C1T0001F002.jpg"]
    train = data.train().filter(pl.col("tracklet") == "train_1").row(0, named=True)
    assert len(train["frames"]) == 3 and train["split"] == "train"


def test_g2a_queries_not_appended_and_both_directions(g2a: Path) -> None:
    data = load_g2a_vreid(g2a, LoadOptions())
    assert data.warnings == []
    assert [p.name for p in data.protocols] == ["G→A", "A→G"]
    assert "gallery_from_query" not in data.index["subset"].to_list()
    g2a_proto = data.protocol("G→A")
    q = data.rows_of(g2a_proto.query_subsets)
    g = data.rows_of(g2a_proto.gallery_subsets)
    assert set(q["tracklet"].to_list()) == {"test_1", "test_3"}
    assert set(g["tracklet"].to_list()) == {"test_2", "test_4"}
    assert set(q["camid"].to_list()) == {0} and set(q["platform"].to_list()) == {"cctv"}
    assert set(g["camid"].to_list()) == {1} and set(g["platform"].to_list()) == {"aerial"}
    a2g = data.protocol("A→G")
    assert set(data.rows_of(a2g.query_subsets)["platform"].to_list()) == {"aerial"}
    assert set(data.rows_of(a2g.gallery_subsets)["platform"].to_list()) == {"cctv"}
    assert sorted(q["pid"].to_list()) == [10, 11]  # 5-digit v2 folders, raw pids
    assert data.train().height == 2


def test_g2a_v1_has_only_g2a(g2a: Path) -> None:
    (g2a / "info" / "query_IDX_A2G.mat").unlink()
    data = load_g2a_vreid(g2a, LoadOptions())
    assert [p.name for p in data.protocols] == ["G→A"]
    assert not data.index["subset"].str.starts_with("aerial_to_ground").any()


def test_missing_frame_is_warned(mars: Path) -> None:
    missing = mars / "bbox_test" / "0457" / "0457C2T0002F001.jpg"
    missing.unlink()
    data = load_mars(mars, LoadOptions())
    assert len(data.warnings) == 1 and missing.name in data.warnings[0]
    row = data.rows_of(["gallery"]).filter(pl.col("tracklet") == "test_2").row(0, named=True)
    assert len(row["frames"]) == 1
    with pytest.raises(DatasetError, match=missing.name):
        load_mars(mars, LoadOptions(strict=True))


def test_tracklet_with_no_frames_left_is_dropped(mars: Path) -> None:
    (mars / "bbox_test" / "0000" / "0000C3T0004F001.jpg").unlink()
    data = load_mars(mars, LoadOptions())
    assert len(data.warnings) == 1
    assert 0 not in data.index["pid"].to_list()


def test_g2a_bad_camera_is_warned(tmp_path: Path) -> None:
    root = tmp_path / "g2a"
    write_split(root, "train", [(1, 1, 1), (1, 3, 1)], 4)
    write_split(root, "test", G2A_TEST, 4)
    write_query(root, [1, 3])
    data = load_g2a_vreid(root, LoadOptions())
    assert len(data.warnings) == 1 and "camera 3" in data.warnings[0]
    assert data.train().height == 1
    with pytest.raises(DatasetError, match="camera 3"):
        load_g2a_vreid(root, LoadOptions(strict=True))


@pytest.mark.parametrize(
    "remove",
    ["bbox_train", "info/test_name.txt", "info/tracks_train_info.mat", "info/query_IDX.mat"],
)
def test_missing_folder_or_file(mars: Path, remove: str) -> None:
    import shutil

    target = mars / remove
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    with pytest.raises(DatasetError, match="missing"):
        load_mars(mars, LoadOptions())


def test_bad_mat_contents(mars: Path) -> None:
    savemat(mars / "info" / "tracks_test_info.mat", {"wrong_name": np.zeros((2, 4))})
    with pytest.raises(DatasetError, match="no variable 'track_test_info'"):
        load_mars(mars, LoadOptions())
    savemat(mars / "info" / "tracks_test_info.mat", {"track_test_info": np.zeros((2, 3))})
    with pytest.raises(DatasetError, match="expected N×4"):
        load_mars(mars, LoadOptions())
    savemat(mars / "info" / "tracks_test_info.mat", {"track_test_info": np.array([[1, 99, 1, 1]])})
    with pytest.raises(DatasetError, match="outside"):
        load_mars(mars, LoadOptions())


def test_query_index_out_of_range(mars: Path) -> None:
    write_query(mars, [1, 7])
    with pytest.raises(DatasetError, match="query indices"):
        load_mars(mars, LoadOptions())


def test_empty_split(mars: Path) -> None:
    write_query(mars, [5])  # only the junk tracklet → no usable query
    with pytest.raises(DatasetError, match="empty split"):
        load_mars(mars, LoadOptions())
    write_split(mars, "train", [(-1, 1, 1)], 4)
    with pytest.raises(DatasetError, match="no usable tracklets"):
        load_mars(mars, LoadOptions())


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_g2a_vreid(tmp_path / "nope", LoadOptions())
