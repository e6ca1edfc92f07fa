"""The synthetic AG-VPReID-layout video generator (agreid_core.data.synth.video)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from agreid_core.data.synth import (
    VIDEO_GENERATOR_VERSION,
    SynthVideoConfig,
    SynthVideoSummary,
    generate_video_dataset,
)
from agreid_core.data.synth.video import (
    VIDEO_DIRS,
    VP_ATTRIBUTE_FIELDS,
    plan_video_identities,
    render_video_tracklets,
)
from agreid_core.types import Platform

FRAME_RE = re.compile(r"P(\d+)T(\d+)A(\d+)C(\d+)E(\d+)K(\d+)F(\d+)")
GROUND_RE = re.compile(r"^[a-z]{3}\d[a-z][A-Z]$")
AERIAL_RE = re.compile(r"^tracklet_(\d+)$")
CONFIG = SynthVideoConfig(num_ids=8, seed=5, frames=(3, 5))
CASES = ("case1_aerial_to_ground", "case2_ground_to_aerial")


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def tracklets(root: Path, folder: str) -> dict[str, dict[str, list[str]]]:
    """{ID folder: {tracklet: sorted frame names}} of one protocol folder."""
    return {
        i.name: {t.name: sorted(f.name for f in t.iterdir()) for t in sorted(i.iterdir())}
        for i in sorted((root / folder).iterdir())
    }


def ids(root: Path, folder: str) -> set[int]:
    return {int(p.name) for p in (root / folder).iterdir()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthVideoSummary]:
    root = tmp_path_factory.mktemp("synthvid") / "ds"
    return root, generate_video_dataset(root, CONFIG, workers=1)


def test_layout_and_info(generated: tuple[Path, SynthVideoSummary]) -> None:
    root, summary = generated
    assert sorted(p.name for p in root.iterdir()) == [
        "SYNTH_INFO.json",
        "attributes",
        *CASES,
        "train",
    ]
    for case in CASES:
        assert sorted(p.name for p in (root / case).iterdir()) == ["gallery", "query"]
    info = json.loads((root / "SYNTH_INFO.json").read_text())
    assert info["version"] == VIDEO_GENERATOR_VERSION
    assert info["config"] == CONFIG.to_dict()
    assert info["frames"] == summary.frames and info["tracklets"] == summary.tracklets
    assert info["test_ids_masked"] is False
    assert summary.ids == {"train": 4, "test": 3, "distractor": 1}
    for d in VIDEO_DIRS:
        found = tracklets(root, d)
        assert sum(len(t) for t in found.values()) == summary.tracklets[d] > 0
        assert sum(len(f) for t in found.values() for f in t.values()) == summary.frames[d]
        assert all(re.fullmatch(r"\d{4}", i) for i in found)


def test_frame_names_parse_and_follow_the_tracklet(
    generated: tuple[Path, SynthVideoSummary],
) -> None:
    root, _ = generated
    for d in VIDEO_DIRS:
        for pid, tracks in tracklets(root, d).items():
            stems: set[str] = set()
            for name, frames in tracks.items():
                is_aerial = AERIAL_RE.fullmatch(name) is not None
                assert is_aerial or GROUND_RE.fullmatch(name), name
                lo, hi = CONFIG.frames
                assert lo <= len(frames) <= hi
                parsed = []
                for f in frames:
                    assert f.endswith(".jpg")
                    m = FRAME_RE.fullmatch(f[:-4])
                    assert m is not None, f
                    parsed.append(m)
                # one person, session, altitude, camera, event and keypoint per tracklet
                assert len({m.group(1, 2, 3, 4, 5, 6) for m in parsed}) == 1
                assert len({int(m[7]) for m in parsed}) == len(frames)
                p, t, a, c = (int(x) for x in parsed[0].group(1, 2, 3, 4))
                stems.add(f"P{p}T{t}A{a}")
                assert len(str(t)) == 7 and str(t).startswith("23") and str(t)[-1] in "01"
                assert a in (2, 3)  # 80 m / 120 m
                assert c in ((4, 5) if is_aerial else (0, 1))
            assert len(stems) == 1, (d, pid, stems)  # an identity keeps its P/T/A


def test_tracklet_names_are_unique_per_identity_platform(
    generated: tuple[Path, SynthVideoSummary],
) -> None:
    root, _ = generated
    owner: dict[str, str] = {}
    for d in VIDEO_DIRS:
        for pid, tracks in tracklets(root, d).items():
            for name in tracks:
                assert owner.setdefault(name, pid) == pid, name
    numbers = [int(m[1]) for n in owner if (m := AERIAL_RE.fullmatch(n))]
    assert numbers and min(numbers) >= 11


def test_protocol_membership(generated: tuple[Path, SynthVideoSummary]) -> None:
    root, _ = generated
    train = ids(root, "train")
    c1q, c1g = ids(root, f"{CASES[0]}/query"), ids(root, f"{CASES[0]}/gallery")
    c2q, c2g = ids(root, f"{CASES[1]}/query"), ids(root, f"{CASES[1]}/gallery")
    assert not train & (c1q | c1g | c2q | c2g)
    assert c1q == c1g == c2q  # test ids have both platforms
    distractors = c2g - c1q
    assert len(distractors) == 1 and c1q < c2g
    assert min(distractors) > max(c1q) > max(train)
    # case-1 query = case-2 gallery minus distractors, tracklet for tracklet, byte for byte
    t1q, t2g = tracklets(root, f"{CASES[0]}/query"), tracklets(root, f"{CASES[1]}/gallery")
    assert {k: v for k, v in t2g.items() if int(k) not in distractors} == t1q
    t1g, t2q = tracklets(root, f"{CASES[0]}/gallery"), tracklets(root, f"{CASES[1]}/query")
    assert t1g == t2q
    for pid, tracks in t1q.items():
        for name, frames in tracks.items():
            for f in frames:
                a = root / CASES[0] / "query" / pid / name / f
                assert a.read_bytes() == (root / CASES[1] / "gallery" / pid / name / f).read_bytes()
    # platforms by folder
    for folder, pattern in ((f"{CASES[0]}/query", AERIAL_RE), (f"{CASES[1]}/query", GROUND_RE)):
        assert all(pattern.fullmatch(t) for tr in tracklets(root, folder).values() for t in tr)
    assert all(
        AERIAL_RE.fullmatch(t) for tr in tracklets(root, f"{CASES[1]}/gallery").values() for t in tr
    )
    train_names = [t for tr in tracklets(root, "train").values() for t in tr]
    assert any(AERIAL_RE.fullmatch(t) for t in train_names)
    assert any(GROUND_RE.fullmatch(t) for t in train_names)


def test_attribute_csvs(generated: tuple[Path, SynthVideoSummary]) -> None:
    root, _ = generated
    planned = {p.pid: p for p in plan_video_identities(CONFIG)}
    expected = {
        "train.csv": ids(root, "train"),
        **{f"{c}/{r}.csv": ids(root, f"{c}/{r}") for c in CASES for r in ("query", "gallery")},
    }
    for rel, want in expected.items():
        table = pl.read_csv(root / "attributes" / rel)
        assert table.columns == ["id", *VP_ATTRIBUTE_FIELDS]
        assert set(table["id"].to_list()) == want and table.height == len(want)
        for row in table.iter_rows():
            assert tuple(row[1:]) == planned[row[0]].identity.attributes


def test_same_config_is_byte_identical_whatever_workers(
    generated: tuple[Path, SynthVideoSummary], tmp_path: Path
) -> None:
    root, _ = generated
    other = generate_video_dataset(tmp_path / "again", CONFIG, workers=2)
    assert not other.reused
    assert tree_bytes(tmp_path / "again") == tree_bytes(root)
    assert not list(tmp_path.glob("*.tmp-*"))


def test_reopen(generated: tuple[Path, SynthVideoSummary]) -> None:
    root, summary = generated
    again = generate_video_dataset(root, CONFIG)
    assert again.reused and again.frames == summary.frames and again.ids == summary.ids
    with pytest.raises(FileExistsError):
        generate_video_dataset(root, SynthVideoConfig(num_ids=8, seed=6, frames=(3, 5)))


def test_consecutive_frames_differ_but_stay_the_same_person() -> None:
    config = SynthVideoConfig(num_ids=4, seed=2, frames=(6, 6), occluder_p=0.0)
    size = (24, 64)

    def arr(img: Image.Image) -> np.ndarray:
        return np.asarray(img.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)

    within: list[float] = []
    firsts: list[np.ndarray] = []
    for planned in plan_video_identities(config):
        if planned.role == "distractor":
            continue
        for track, names, frames, _ in render_video_tracklets(planned, config):
            if track.platform is not Platform.CCTV:
                continue
            assert len(frames) == len(names) == 6
            a = [arr(f) for f in frames]
            for x, y in itertools.pairwise(a):
                d = float(np.abs(x - y).mean())
                assert d > 0.5  # the person moves
                within.append(d)
            firsts.append(a[0])
    across = [float(np.abs(x - y).mean()) for i, x in enumerate(firsts) for y in firsts[i + 1 :]]
    assert within and across
    assert float(np.mean(within)) < float(np.mean(across))


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SynthVideoConfig(altitudes=(50,))
    with pytest.raises(ValueError):
        SynthVideoConfig(frames=(5, 3))
    with pytest.raises(ValueError):
        SynthVideoConfig(distractor_fraction=1.5)
    assert SynthVideoConfig(altitudes=[80]).altitudes == (80,)  # type: ignore[arg-type]
