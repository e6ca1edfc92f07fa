"""``agreid data synth`` / ``data info`` in-process, and :func:`summarize` on a tiny index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from agreid_cli.app import app
from agreid_core.data.dataset import ProtocolSpec, ReIDData
from agreid_core.data.index import make_index
from agreid_core.data.summary import TOTAL, summarize
from agreid_core.plugins.host import get_host

runner = CliRunner()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-identity synthetic AG-ReID v1 tree, generated through the CLI."""
    out = tmp_path_factory.mktemp("data") / "synth12"
    result = runner.invoke(
        app, ["data", "synth", str(out), "--ids", "12", "--seed", "3", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "bounding_box_train" in result.stdout and "identities: train 6, test 6" in result.stdout
    assert " s" in result.stdout.splitlines()[-1]  # elapsed seconds
    return out


def _info_json(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["data", "info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def test_info_json_reproduces_generator_counts(tree: Path) -> None:
    synth_info = json.loads((tree / "SYNTH_INFO.json").read_text())
    record = _info_json(tree)
    assert record["dataset"] == "agreid-v1" and record["warnings"] == 0
    rows = record["summary"]
    per_folder: dict[str, int] = {}
    for r in rows:
        if r["subset"] != TOTAL:
            per_folder[r["subset"]] = per_folder.get(r["subset"], 0) + r["images"]
    assert per_folder == synth_info["counts"]
    totals = {r["split"]: r for r in rows if r["subset"] == TOTAL and r["platform"] == TOTAL}
    assert {s: r["identities"] for s, r in totals.items()} == synth_info["ids"]
    assert sum(r["images"] for r in totals.values()) == synth_info["images"]
    assert all(r["cameras"] == [0, 3] for r in totals.values())
    protocols = {p["name"]: p for p in record["protocols"]}
    counts = synth_info["counts"]
    assert protocols["A→G"]["query"] == counts["query_all_c0"]
    assert protocols["A→G"]["gallery"] == counts["bounding_box_test_all_c3"]
    assert protocols["G→A"]["query"] == counts["query_all_c3"]
    assert protocols["G→A"]["gallery"] == counts["bounding_box_test_all_c0"]


def test_info_table_shows_platforms_and_protocols(tree: Path) -> None:
    result = runner.invoke(app, ["data", "info", str(tree)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for word in ("aerial", "cctv", "train total", "test total", "A→G", "G→A"):
        assert word in result.stdout
    counts = json.loads((tree / "SYNTH_INFO.json").read_text())["counts"]
    assert f"{counts['query_all_c0']} (query_all_c0)" in result.stdout


def test_info_embedded_uses_the_embedded_dataset(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agreid_core.data.embedded as embedded

    monkeypatch.setattr(embedded, "ensure_embedded", lambda: tree)  # skip the 200-id generation
    record = _info_json(Path("embedded"))
    assert record["dataset"] == "embedded" and record["root"] == str(tree)


def test_synth_again_reuses_the_tree(tree: Path) -> None:
    result = runner.invoke(
        app, ["data", "synth", str(tree), "--ids", "12", "--seed", "3", "--workers", "1"]
    )
    assert result.exit_code == 0 and "found existing tree" in result.stdout


def test_synth_into_other_generation_fails(tree: Path) -> None:
    result = runner.invoke(app, ["data", "synth", str(tree), "--ids", "13", "--workers", "1"])
    assert result.exit_code == 2 and "error:" in result.output


def test_synth_video_then_info_reproduces_the_generator_counts(tmp_path: Path) -> None:
    out = tmp_path / "v"
    result = runner.invoke(
        app, ["data", "synth", str(out), "--kind", "video", "--ids", "8", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads((out / "SYNTH_INFO.json").read_text())
    result = runner.invoke(app, ["data", "info", str(out), "--dataset", "agvpreid", "--json"])
    assert result.exit_code == 0, result.output
    rows = [r for r in json.loads(result.stdout)["summary"] if r["platform"] != "all"]
    tracklets: dict[str, int] = {}
    frames: dict[str, int] = {}
    for r in rows:
        tracklets[r["subset"]] = tracklets.get(r["subset"], 0) + r["images"]
        frames[r["subset"]] = frames.get(r["subset"], 0) + r["frames"]
    assert tracklets == info["tracklets"]
    assert frames == info["frames"]


def test_synth_unknown_kind(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "synth", str(tmp_path / "v"), "--kind", "audio"])
    assert result.exit_code == 2
    assert "error:" in result.output and "image, video" in result.output
    assert not (tmp_path / "v").exists()


def test_info_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "info", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "error:" in result.output and "does not exist" in result.output


def test_info_unknown_dataset_suggests_close_matches(tree: Path) -> None:
    known = get_host().datasets.names()
    wrong = known[0] + "z"
    result = runner.invoke(app, ["data", "info", str(tree), "--dataset", wrong])
    assert result.exit_code == 2
    assert f"unknown dataset {wrong!r}" in result.output
    suggested = result.output.split("Did you mean:")[1].split("?")[0]
    assert known[0] in suggested.strip().split(", ")


def test_info_strict_rejects_unparsable_names(tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy)
    shutil.copy(next((copy / "query_all_c0").iterdir()), copy / "query_all_c0" / "junk.jpg")
    result = runner.invoke(app, ["data", "info", str(copy), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"] == 1 and "junk.jpg" in result.stderr
    result = runner.invoke(app, ["data", "info", str(copy), "--strict"])
    assert result.exit_code == 2 and "error:" in result.output and "junk.jpg" in result.output


def test_summarize_tiny_index() -> None:
    def row(pid: int, cam: int, subset: str, split: str) -> dict[str, object]:
        platform = {0: "aerial", 2: "wearable", 3: "cctv"}[cam]
        return {
            "path": f"{pid}_{cam}_{subset}.jpg",
            "pid": pid,
            "camid": cam,
            "platform": platform,
            "subset": subset,
            "split": split,
        }

    index = make_index(
        [
            row(1, 0, "train", "train"),
            row(1, 0, "train", "train"),
            row(1, 3, "train", "train"),
            row(2, 3, "train", "train"),
            row(2, 2, "train", "train"),
            row(5, 0, "q", "test"),
            row(6, 0, "q", "test"),
            row(5, 3, "g", "test"),
            row(5, 3, "g", "test"),
            row(6, 3, "g", "test"),
            row(7, 3, "g", "test"),
        ]
    )
    data = ReIDData("tiny", Path("."), "image", index, (ProtocolSpec("A→G", ("q",), ("g",)),))
    got = summarize(data).rows()
    assert got == [
        ("train", "train", "aerial", 1, 2, 2, [0]),
        ("train", "train", "cctv", 2, 2, 2, [3]),
        ("train", "train", "wearable", 1, 1, 1, [2]),
        ("train", TOTAL, TOTAL, 2, 5, 5, [0, 2, 3]),
        ("test", "g", "cctv", 3, 4, 4, [3]),
        ("test", "q", "aerial", 2, 2, 2, [0]),
        ("test", TOTAL, TOTAL, 3, 6, 6, [0, 3]),
    ]
    assert summarize(data, totals=False).height == 5
    # video: one row per tracklet, frames counted from the frame lists
    video = index.head(3).with_columns(pl.Series("frames", [["a", "b"], ["c"], ["d", "e", "f"]]))
    vrows = summarize(ReIDData("v", Path("."), "video", video, ())).rows()
    assert vrows == [
        ("train", "train", "aerial", 1, 2, 3, [0]),
        ("train", "train", "cctv", 1, 1, 3, [3]),
        ("train", TOTAL, TOTAL, 1, 3, 6, [0, 3]),
    ]
    empty = ReIDData("empty", Path("."), "image", make_index([]), ())
    assert summarize(empty).is_empty()
    assert summarize(empty).columns == summarize(data).columns


def test_info_embedded_video_generates_and_summarises() -> None:
    result = runner.invoke(app, ["data", "info", "embedded-video", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["dataset"], record["kind"]) == ("embedded-video", "video")
    assert [p["name"] for p in record["protocols"]] == ["A→G", "G→A"]
    totals = {r["split"]: r for r in record["summary"] if r["platform"] == "all"}
    assert totals["train"]["frames"] > totals["train"]["images"] > 0
