"""merge_datasets: identity remapping, camera offsets, subsets, protocols, round trips."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from agreid_core.data.dataset import ProtocolSpec, ReIDData
from agreid_core.data.index import make_index
from agreid_core.data.merge import (
    MergeSource,
    load_merge_spec,
    merge_datasets,
    parse_merge_spec,
    source_identity,
)

PROTOCOL = ProtocolSpec("A→G", ("query",), ("gallery",))


def toy(name: str, train_pids: list[int], test_pids: list[int], cams: int = 2) -> ReIDData:
    """Two rows per train id (train split), a query and a gallery row per test id."""
    rows: list[dict[str, object]] = []
    for p in train_pids:
        for c in range(2):
            rows.append({"path": f"/{name}/t{p}_{c}", "pid": p, "camid": c % cams})
            rows[-1].update(subset="train", split="train")
    for p in test_pids:
        rows.append({"path": f"/{name}/q{p}", "pid": p, "camid": 0, "subset": "query"})
        rows.append({"path": f"/{name}/g{p}", "pid": p, "camid": cams - 1, "subset": "gallery"})
    index = make_index(rows).with_columns(
        pl.when(pl.col("subset") == "train")
        .then(pl.lit("train"))
        .otherwise(pl.lit("test"))
        .alias("split")
    )
    return ReIDData(name, Path(f"/data/{name}"), "video", index, (PROTOCOL,), ["w"])


def test_train_ids_contiguous_and_sources_disjoint() -> None:
    a = toy("ag", [5, 9, 700], [1000, 1001])
    b = toy("g2a", [3, 5], [20], cams=3)
    merged = merge_datasets([a, b], "both")
    train = merged.train()
    # train ids: one contiguous range, source order (ag first: its 3 ids are 0..2)
    assert sorted(train["pid"].unique().to_list()) == list(range(5))
    ag_train = train.filter(pl.col("source") == "ag")
    assert dict(zip(ag_train["source_pid"], ag_train["pid"], strict=True)) == {5: 0, 9: 1, 700: 2}
    g2a_train = train.filter(pl.col("source") == "g2a")
    assert min(g2a_train["pid"]) == max(ag_train["pid"]) + 1
    # test ids come after every train id and never collide across sources
    test = merged.index.filter(pl.col("split") == "test")
    assert sorted(test["pid"].unique().to_list()) == [5, 6, 7]
    per_source = test.group_by("source").agg(pl.col("pid").unique())
    sets = [set(v) for v in per_source["pid"].to_list()]
    assert not (sets[0] & sets[1])


def test_same_published_pid_in_two_sources_gets_two_ids() -> None:
    merged = merge_datasets([toy("a", [5], []), toy("b", [5], [])], "m")
    assert merged.train()["pid"].n_unique() == 2


def test_source_pid_round_trip_and_camera_offset() -> None:
    a, b = toy("ag", [5, 9], [100]), toy("g2a", [3], [7], cams=3)
    merged = merge_datasets([a, b], "both")
    for row in merged.index.iter_rows(named=True):
        assert source_identity(merged.index, row["pid"]) == (row["source"], row["source_pid"])
    g2a = merged.index.filter(pl.col("source") == "g2a")
    assert (g2a["camid"] - g2a["source_camid"]).unique().to_list() == [2]  # ag has cams 0..1
    same = merge_datasets([a, b], "both", offset_cameras=False)
    assert same.index["camid"].to_list() == same.index["source_camid"].to_list()


def test_subsets_prefixed_and_protocols_kept_and_renamed() -> None:
    merged = merge_datasets([toy("ag", [1], [2]), toy("g2a", [1], [2])], "both")
    names = [p.name for p in merged.protocols]
    assert names == ["ag:A→G", "g2a:A→G"]
    proto = merged.protocol("g2a:A→G")
    assert proto.query_subsets == ("g2a/query",)
    query = merged.rows_of(proto.query_subsets)
    assert query.height == 1 and query["source"].to_list() == ["g2a"]
    assert merged.warnings == ["ag: w", "g2a: w"]
    other = toy("mars", [1], [2])
    other.protocols = (ProtocolSpec("G→A", ("query",), ("gallery",)),)
    single = merge_datasets([toy("ag", [1], [2]), other], "x")
    assert [p.name for p in single.protocols] == ["A→G", "G→A"]  # no clash → original names


def test_train_all_moves_test_rows_into_training() -> None:
    merged = merge_datasets([toy("ag", [1], [2]), toy("g2a", [1], [2])], "m", train_all={"g2a"})
    g2a = merged.index.filter(pl.col("source") == "g2a")
    assert set(g2a["split"].to_list()) == {"train"}
    assert [p.name for p in merged.protocols] == ["A→G"]
    assert merged.train()["pid"].n_unique() == 3  # ag 1 + g2a 2 (its test id too)


def test_negative_pids_kept_and_kind_mismatch_rejected() -> None:
    a = toy("a", [1], [2])
    a.index = a.index.with_columns(
        pl.when(pl.col("subset") == "gallery").then(-1).otherwise(pl.col("pid")).alias("pid")
    )
    merged = merge_datasets([a], "m")
    assert (merged.index["pid"] == -1).sum() == 1
    image = toy("b", [1], [])
    image.kind = "image"
    with pytest.raises(ValueError, match="image and video"):
        merge_datasets([a, image], "m")


def test_merge_spec_parsing_and_loading() -> None:
    spec = "merge:agvpreid=/d/ag+g2a-vreid=/d/g2a*"
    assert parse_merge_spec(spec) == [
        MergeSource("agvpreid", "/d/ag"),
        MergeSource("g2a-vreid", "/d/g2a", train_all=True),
    ]
    with pytest.raises(ValueError):
        parse_merge_spec("merge:a++b")
    toys = {"x": toy("x", [1, 2], [3]), "y": toy("y", [4], [5])}
    merged = load_merge_spec("merge:x+y*", lambda s: toys[s.dataset])
    assert merged.name == "merge:x+y*"
    assert merged.train()["pid"].n_unique() == 4 and len(merged.protocols) == 1
