"""The synthetic aerial-ground dataset generator (agreid_core.data.synth)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from agreid_core.data.synth import (
    GENERATOR_VERSION,
    SynthConfig,
    SynthSummary,
    generate_image_dataset,
)
from agreid_core.data.synth.attributes import ATTRIBUTE_FIELDS, CODEBOOK, sample_population
from agreid_core.data.synth.generate import V1_DIRS, plan_identities, render_identity
from agreid_core.types import Platform

PID_RE = re.compile(r"P([-\d]+)T([-\d]+)A([-\d]+)")
CAM_RE = re.compile(r"C([-\d]+)F([-\d]+)")
NAME_RE = re.compile(r"^P\d{4}T(0[1-9]|1[0-2])(0[1-9]|[12]\d)[01]A[012]C[03]F[1-9]\d*\.jpg$")
CONFIG = SynthConfig(num_ids=12, seed=3)
PROTOCOLS = {
    "A→G": ("query_all_c0", "bounding_box_test_all_c3"),
    "G→A": ("query_all_c3", "bounding_box_test_all_c0"),
}


def parse(name: str) -> tuple[int, int, int]:
    """(pid, camid, frame) the way the official loader reads a file name."""
    m = PID_RE.search(name)
    c = CAM_RE.search(name)
    assert m is not None and c is not None, name
    return int(m[1] + m[2] + m[3]), int(c[1]), int(c[2])


def files(root: Path) -> dict[str, list[str]]:
    return {d: sorted(p.name for p in (root / d).iterdir()) for d in V1_DIRS}


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    root = tmp_path_factory.mktemp("synth") / "ds"
    return root, generate_image_dataset(root, CONFIG, workers=1)


def test_same_config_gives_byte_identical_files(
    generated: tuple[Path, SynthSummary], tmp_path: Path
) -> None:
    root, _ = generated
    again = tmp_path / "again"
    generate_image_dataset(again, CONFIG, workers=1)
    assert tree_bytes(root) == tree_bytes(again)


def test_another_seed_gives_other_images(
    generated: tuple[Path, SynthSummary], tmp_path: Path
) -> None:
    root, _ = generated
    other = tmp_path / "other"
    generate_image_dataset(other, SynthConfig(num_ids=12, seed=4), workers=1)
    a, b = tree_bytes(root), tree_bytes(other)
    assert a.keys() != b.keys() or any(a[k] != b[k] for k in a)
    assert a["attributes.csv"] != b["attributes.csv"]


def test_workers_do_not_change_the_output(tmp_path: Path) -> None:
    config = SynthConfig(num_ids=16, seed=1, aerial_images=(2, 3), cctv_images=(2, 3))
    generate_image_dataset(tmp_path / "serial", config, workers=1)
    generate_image_dataset(tmp_path / "parallel", config, workers=2)
    assert tree_bytes(tmp_path / "serial") == tree_bytes(tmp_path / "parallel")


def test_layout_and_file_names(generated: tuple[Path, SynthSummary]) -> None:
    root, _ = generated
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [*V1_DIRS, "attributes.csv", "SYNTH_INFO.json"]
    )
    for folder, names in files(root).items():
        assert names, folder
        for name in names:
            assert NAME_RE.match(name), name
            assert Image.open(root / folder / name).format == "JPEG"
    assert not list(root.parent.glob("ds.tmp-*"))


def test_cameras_are_in_their_folders(generated: tuple[Path, SynthSummary]) -> None:
    root, _ = generated
    cams = {d: {parse(n)[1] for n in names} for d, names in files(root).items()}
    assert cams == {
        "bounding_box_train": {0, 3},
        "query_all_c0": {0},
        "bounding_box_test_all_c3": {3},
        "query_all_c3": {3},
        "bounding_box_test_all_c0": {0},
    }


def test_every_test_id_is_in_query_and_gallery_of_both_protocols(
    generated: tuple[Path, SynthSummary],
) -> None:
    root, summary = generated
    found = files(root)
    test_ids = {parse(n)[0] for d in V1_DIRS[1:] for n in found[d]}
    assert len(test_ids) == summary.ids["test"]
    for query, gallery in PROTOCOLS.values():
        assert {parse(n)[0] for n in found[query]} == test_ids
        assert {parse(n)[0] for n in found[gallery]} == test_ids


def test_train_and_test_ids_are_disjoint(generated: tuple[Path, SynthSummary]) -> None:
    root, summary = generated
    found = files(root)
    train = {parse(n)[0] for n in found["bounding_box_train"]}
    test = {parse(n)[0] for d in V1_DIRS[1:] for n in found[d]}
    assert not train & test
    assert len(train) == summary.ids["train"] == 6
    assert len(train) + len(test) == CONFIG.num_ids
    # every train id has both cameras too
    by_cam: dict[int, set[int]] = defaultdict(set)
    for n in found["bounding_box_train"]:
        pid, cam, _ = parse(n)
        by_cam[pid].add(cam)
    assert all(c == {0, 3} for c in by_cam.values())


def test_frames_are_unique_per_identity_and_camera(generated: tuple[Path, SynthSummary]) -> None:
    root, _ = generated
    seen: set[tuple[int, int, int]] = set()
    for names in files(root).values():
        for n in names:
            key = parse(n)
            assert key not in seen, n
            seen.add(key)


def test_query_is_about_a_third(generated: tuple[Path, SynthSummary]) -> None:
    _, summary = generated
    c = summary.counts
    for query, gallery in PROTOCOLS.values():
        share = c[query] / (
            c[query]
            + c[
                {
                    "query_all_c0": "bounding_box_test_all_c0",
                    "query_all_c3": "bounding_box_test_all_c3",
                }[query]
            ]
        )
        assert 0.2 < share < 0.5, (query, gallery, share)


def test_attributes_csv(generated: tuple[Path, SynthSummary]) -> None:
    root, summary = generated
    table = pl.read_csv(root / "attributes.csv")
    assert table.columns == ["pid", "split", *ATTRIBUTE_FIELDS]
    assert table.height == CONFIG.num_ids == table["pid"].n_unique()
    found = files(root)
    train = {parse(n)[0] for n in found["bounding_box_train"]}
    assert set(table.filter(pl.col("split") == "train")["pid"].to_list()) == train
    assert table.filter(pl.col("split") == "test").height == summary.ids["test"]
    for f in ATTRIBUTE_FIELDS:
        values = table[f].to_list()
        assert all(0 <= v < len(CODEBOOK[f]) for v in values), f
        if f != "head":  # "unknown" only stands for "no head accessory"
            assert all(CODEBOOK[f][v] not in ("unknown", "occluded") for v in values), f


def test_attributes_are_consistent_with_the_look() -> None:
    for p in sample_population(80, 5):
        a = p.attribute_dict()
        assert (p.hat != "none") == (CODEBOOK["head"][a["head"]] == "hat")
        assert p.beard == (a["beard"] == 0)
        assert CODEBOOK["upper"][a["upper"]] == p.upper_type
        assert CODEBOOK["lower"][a["lower"]] == p.lower_type
        assert CODEBOOK["bag"][a["bag"]] == p.bag
        if CODEBOOK["height"][a["height"]] == "child":
            assert p.height_factor < 0.8


def test_some_identities_share_their_clothing_colours() -> None:
    people = sample_population(60, 0)
    shared = [p for p in people if p.outfit_source is not None]
    assert 10 <= len(shared) <= 35
    for p in shared:
        src = people[p.outfit_source] if p.outfit_source is not None else p
        assert (p.upper_color, p.lower_color) == (src.upper_color, src.lower_color)
        assert (p.upper_color_name, p.lower_color_name) == (
            src.upper_color_name,
            src.lower_color_name,
        )
        assert (
            p.attributes != src.attributes
            or p.pattern != src.pattern
            or p.width_factor != src.width_factor
        )


def test_identity_names_are_distinct() -> None:
    planned = plan_identities(SynthConfig(num_ids=700, seed=2))
    stems = [p.stem for p in planned]
    assert len(set(stems)) == len(stems)
    assert len({p.pid for p in planned}) == len(planned)
    assert all(PID_RE.fullmatch(s) for s in stems)


def test_aerial_crops_are_smaller_than_cctv_crops(generated: tuple[Path, SynthSummary]) -> None:
    root, _ = generated
    heights: dict[int, list[int]] = defaultdict(list)
    for folder, names in files(root).items():
        for n in names:
            heights[parse(n)[1]].append(Image.open(root / folder / n).height)
    assert np.mean(heights[0]) < 0.7 * np.mean(heights[3])
    assert min(heights[0]) >= 15 and max(heights[0]) <= 130
    assert min(heights[3]) >= 50 and max(heights[3]) <= 280


def test_images_vary_within_and_between_identities(generated: tuple[Path, SynthSummary]) -> None:
    root, _ = generated
    means: dict[int, list[np.ndarray]] = defaultdict(list)
    for folder in ("bounding_box_test_all_c3", "bounding_box_train"):
        for n in files(root)[folder]:
            img = np.asarray(
                Image.open(root / folder / n).convert("RGB").resize((32, 64)), dtype=np.float32
            )
            assert img.std() > 5.0, n
            means[parse(n)[0]].append(img)
    per_id = [np.mean(v, axis=0) for v in means.values()]
    diffs = [np.abs(a - b).mean() for i, a in enumerate(per_id) for b in per_id[i + 1 :]]
    assert min(diffs) > 1.0


def test_summary_matches_the_files(generated: tuple[Path, SynthSummary]) -> None:
    root, summary = generated
    assert summary.root == root and not summary.reused
    assert summary.counts == {d: len(n) for d, n in files(root).items()}
    assert summary.total_images == sum(summary.counts.values())
    info = json.loads((root / "SYNTH_INFO.json").read_text())
    assert info["version"] == GENERATOR_VERSION
    assert info["counts"] == summary.counts
    assert info["ids"] == summary.ids == {"train": 6, "test": 6}
    assert info["config"] == CONFIG.to_dict()
    assert summary.elapsed_s > 0


def test_reopening_an_identical_generation_reuses_it(generated: tuple[Path, SynthSummary]) -> None:
    root, summary = generated
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    again = generate_image_dataset(root, CONFIG)
    assert again.reused
    assert again.counts == summary.counts and again.ids == summary.ids
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_refuses_a_folder_holding_something_else(
    generated: tuple[Path, SynthSummary], tmp_path: Path
) -> None:
    root, _ = generated
    with pytest.raises(FileExistsError, match="another config"):
        generate_image_dataset(root, SynthConfig(num_ids=12, seed=99))
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a synthetic dataset"):
        generate_image_dataset(stranger, CONFIG)
    assert (stranger / "notes.txt").read_text() == "mine"


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    summary = generate_image_dataset(
        out, SynthConfig(num_ids=2, aerial_images=(2, 2), cctv_images=(2, 2))
    )
    assert summary.total_images == 8
    assert summary.ids == {"train": 1, "test": 1}


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="num_ids"):
        SynthConfig(num_ids=0)
    with pytest.raises(ValueError, match="aerial_images"):
        SynthConfig(aerial_images=(1, 3))
    with pytest.raises(ValueError, match="train_fraction"):
        SynthConfig(train_fraction=1.5)
    with pytest.raises(ValueError):
        SynthConfig(platforms=(Platform.CCTV, Platform.CCTV))
    assert SynthConfig(platforms=("aerial", "cctv")).platforms == (Platform.AERIAL, Platform.CCTV)  # type: ignore[arg-type]


def test_v1_writer_rejects_the_wearable_camera(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="v1 layout"):
        generate_image_dataset(
            tmp_path / "w",
            SynthConfig(num_ids=2, platforms=(Platform.AERIAL, Platform.CCTV, Platform.WEARABLE)),
        )
    assert not (tmp_path / "w").exists()


def test_wearable_views_render_for_a_v2_writer() -> None:
    config = SynthConfig(
        num_ids=4,
        platforms=(Platform.CCTV, Platform.WEARABLE),
        wearable_images=(3, 3),
        cctv_images=(2, 2),
    )
    planned = plan_identities(config)
    test_person = next(p for p in planned if p.split == "test")
    items = list(render_identity(test_person, config))
    assert [it.platform for it in items] == [Platform.CCTV] * 2 + [Platform.WEARABLE] * 3
    wear = [it for it in items if it.platform is Platform.WEARABLE]
    assert all(parse(it.file_name)[1] == 2 for it in wear)
    assert {it.role for it in wear} == {"query", "gallery"}
    assert min(it.image.height for it in wear) > 90


def test_the_agreid_v1_loader_reads_it(generated: tuple[Path, SynthSummary]) -> None:
    loader = pytest.importorskip("agreid_core.data.datasets.agreid_v1")
    from agreid_core.data.dataset import LoadOptions

    root, summary = generated
    data = loader.load_agreid_v1(root, LoadOptions(strict=True))
    assert data.index.height == summary.total_images
    assert data.index["pid"].n_unique() == CONFIG.num_ids
    assert "attr_gender" in data.index.columns and data.index["attr_gender"].null_count() == 0
