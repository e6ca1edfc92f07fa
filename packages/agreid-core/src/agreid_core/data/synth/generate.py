"""Write a synthetic aerial-ground image dataset in the AG-ReID v1 layout.

::

    out/bounding_box_train/        every image (UAV C0 and CCTV C3) of the train identities
    out/query_all_c0/              UAV images of the test identities, A→G queries
    out/bounding_box_test_all_c3/  CCTV images of the test identities, A→G gallery
    out/query_all_c3/              CCTV images of the test identities, G→A queries
    out/bounding_box_test_all_c0/  UAV images of the test identities, G→A gallery
    out/attributes.csv             identity-level attributes (agreid's own format, see below)
    out/SYNTH_INFO.json            generator version, config, counts

File names follow ``P{person:04d}T{MMDD}{0|1}A{altitude}C{camera}F{frame}.jpg`` (camera 0 UAV,
3 CCTV; frames unpadded and unique per identity and camera). Identities are grouped into
"videos", one per session ``T`` with one altitude level ``A``; ``P`` numbers the people of a
video, so every identity has its own (P, T, A) and its own ``pid = int(P + T + A)``.

``attributes.csv`` is agreid's own format, not the official ``.mat``: columns ``pid``,
``split`` (train / test) and the 15 attributes of :data:`.attributes.CODEBOOK` as integer
codebook indices.

Output is deterministic: the same :class:`SynthConfig` gives byte-identical files whatever
``workers`` is, since every identity's images come from a generator seeded with
``(seed, identity index)``. The tree is built in ``out.tmp-<pid>`` and renamed into place.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from PIL import Image

from agreid_core.data.synth.attributes import ATTRIBUTE_FIELDS, Identity, sample_population
from agreid_core.data.synth.render import render_view
from agreid_core.data.synth.views import sample_tracklet, sample_view
from agreid_core.types import Platform

#: Changes whenever the same config would give different images.
GENERATOR_VERSION = "synth1"
INFO_FILE = "SYNTH_INFO.json"
ATTRIBUTES_FILE = "attributes.csv"
TRAIN_DIR = "bounding_box_train"
#: v1 folders: (platform, role) → folder.
V1_FOLDERS: dict[tuple[Platform, str], str] = {
    (Platform.AERIAL, "train"): TRAIN_DIR,
    (Platform.CCTV, "train"): TRAIN_DIR,
    (Platform.AERIAL, "query"): "query_all_c0",
    (Platform.CCTV, "gallery"): "bounding_box_test_all_c3",
    (Platform.CCTV, "query"): "query_all_c3",
    (Platform.AERIAL, "gallery"): "bounding_box_test_all_c0",
}
V1_DIRS: tuple[str, ...] = (
    TRAIN_DIR,
    "query_all_c0",
    "bounding_box_test_all_c3",
    "query_all_c3",
    "bounding_box_test_all_c0",
)
#: AG-ReID camera codes.
CAMERA_CODE: dict[Platform, int] = {Platform.AERIAL: 0, Platform.WEARABLE: 2, Platform.CCTV: 3}
_SESSIONS = [(m, d, ampm) for m in range(1, 13) for d in range(1, 29) for ampm in (0, 1)]


def _pair(value: tuple[Any, ...], name: str, minimum: float) -> None:
    if len(value) != 2 or not (minimum <= value[0] <= value[1]):
        raise ValueError(
            f"SynthConfig.{name} must be (low, high) with {minimum} <= low <= high, got {value}"
        )


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. Image counts are per identity and camera, drawn uniformly in (low, high).

    Heights are the person's height in output pixels (``aerial_height`` before the UAV's
    foreshortening, which makes aerial crops about 20–80 px tall). ``tracklets`` is how many
    passes (walking direction, background, lighting) an identity makes per camera.
    ``platforms`` lists the cameras to render; the v1 layout needs exactly UAV and CCTV, the
    wearable camera is there for an AG-ReID.v2 writer.
    """

    num_ids: int = 200
    train_fraction: float = 0.5
    seed: int = 0
    aerial_images: tuple[int, int] = (9, 15)
    cctv_images: tuple[int, int] = (6, 11)
    wearable_images: tuple[int, int] = (6, 10)
    tracklets: tuple[int, int] = (1, 3)
    query_fraction: float = 1 / 3
    shared_outfit_fraction: float = 1 / 3
    aerial_height: tuple[float, float] = (28.0, 100.0)
    cctv_height: tuple[float, float] = (60.0, 200.0)
    wearable_height: tuple[float, float] = (150.0, 300.0)
    platforms: tuple[Platform, ...] = (Platform.AERIAL, Platform.CCTV)

    def __post_init__(self) -> None:
        if self.num_ids < 1:
            raise ValueError(f"SynthConfig.num_ids must be >= 1, got {self.num_ids}")
        if self.num_ids > len(_SESSIONS) * 9999:
            raise ValueError(
                f"SynthConfig.num_ids is too large for the P/T grammar: {self.num_ids}"
            )
        for name in ("train_fraction", "query_fraction", "shared_outfit_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"SynthConfig.{name} must be in [0, 1], got {v}")
        for name in ("aerial_images", "cctv_images", "wearable_images"):
            _pair(getattr(self, name), name, 2)
        _pair(self.tracklets, "tracklets", 1)
        for name in ("aerial_height", "cctv_height", "wearable_height"):
            _pair(getattr(self, name), name, 8)
        platforms = tuple(Platform(p) for p in self.platforms)
        if not platforms or len(set(platforms)) != len(platforms):
            raise ValueError(
                f"SynthConfig.platforms must be distinct and non-empty, got {self.platforms}"
            )
        object.__setattr__(self, "platforms", platforms)

    def images_range(self, platform: Platform) -> tuple[int, int]:
        """Images per identity on ``platform``."""
        return {
            Platform.AERIAL: self.aerial_images,
            Platform.CCTV: self.cctv_images,
            Platform.WEARABLE: self.wearable_images,
        }[platform]

    def height_range(self, platform: Platform) -> tuple[float, float]:
        """Person height limits (px) on ``platform``."""
        return {
            Platform.AERIAL: self.aerial_height,
            Platform.CCTV: self.cctv_height,
            Platform.WEARABLE: self.wearable_height,
        }[platform]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as lists, platforms by value)."""
        d = asdict(self)
        d["platforms"] = [p.value for p in self.platforms]
        out: dict[str, Any] = json.loads(json.dumps(d))
        return out


@dataclass(frozen=True)
class SynthSummary:
    """What a generation produced (or found already on disk, ``reused``)."""

    root: Path
    counts: dict[str, int]
    ids: dict[str, int]
    elapsed_s: float
    reused: bool = False

    @property
    def total_images(self) -> int:
        """All images in the tree."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class PlannedIdentity:
    """An identity with its AG-ReID name parts and split."""

    identity: Identity
    person: str
    session: str
    altitude: int
    split: str

    @property
    def stem(self) -> str:
        """``P…T…A…``: the identity string."""
        return f"P{self.person}T{self.session}A{self.altitude}"

    @property
    def pid(self) -> int:
        """``int(P + T + A)``, as the official loaders compute it."""
        return int(f"{self.person}{self.session}{self.altitude}")


@dataclass
class RenderedImage:
    """One rendered image of an identity and where it belongs."""

    platform: Platform
    frame: int
    role: str  # "train" | "query" | "gallery"
    image: Image.Image
    jpeg_quality: int
    file_name: str = field(default="")


def plan_identities(config: SynthConfig) -> list[PlannedIdentity]:
    """The identities of ``config``: look, (P, T, A) name and train/test split."""
    people = sample_population(config.num_ids, config.seed, config.shared_outfit_fraction)
    rng = np.random.default_rng([config.seed, 0xA11])
    n = config.num_ids
    n_videos = max(1, min(len(_SESSIONS), math.ceil(n / 10)))
    while n > n_videos * 9999:  # pragma: no cover - only for absurd sizes
        n_videos += 1
    sessions = sorted(int(i) for i in rng.choice(len(_SESSIONS), size=n_videos, replace=False))
    sizes = np.ones(n_videos, dtype=np.int64) + rng.multinomial(
        n - n_videos, np.full(n_videos, 1 / n_videos)
    )
    while sizes.max() > 9999:  # pragma: no cover - only for absurd sizes
        big, small = int(sizes.argmax()), int(sizes.argmin())
        sizes[big] -= 1
        sizes[small] += 1
    order = rng.permutation(n)
    n_train = round(n * config.train_fraction)
    if n >= 2 and 0 < config.train_fraction < 1:
        n_train = min(max(n_train, 1), n - 1)
    train = set(int(i) for i in rng.permutation(n)[:n_train])
    planned: dict[int, PlannedIdentity] = {}
    pos = 0
    for v, size in enumerate(sizes):
        m, d, ampm = _SESSIONS[sessions[v]]
        altitude = int(rng.integers(0, 3))
        top = min(9999, max(60, 2 * int(size)))
        numbers = sorted(
            int(x) for x in rng.choice(np.arange(1, top + 1), size=int(size), replace=False)
        )
        for p in numbers:
            i = int(order[pos])
            pos += 1
            planned[i] = PlannedIdentity(
                identity=people[i],
                person=f"{p:04d}",
                session=f"{m:02d}{d:02d}{ampm}",
                altitude=altitude,
                split="train" if i in train else "test",
            )
    return [planned[i] for i in range(n)]


def render_identity(planned: PlannedIdentity, config: SynthConfig) -> Iterator[RenderedImage]:
    """All images of one identity on every platform of ``config``, with their roles.

    A train identity's images are all ``train``; a test identity's images of each camera are
    split into about ``query_fraction`` ``query`` and the rest ``gallery`` (at least one each).
    """
    person = planned.identity
    rng = np.random.default_rng([config.seed, 1, person.index])
    for platform in config.platforms:
        lo, hi = config.images_range(platform)
        n = int(rng.integers(lo, hi + 1))
        n_tracks = min(n, int(rng.integers(config.tracklets[0], config.tracklets[1] + 1)))
        cuts = sorted(int(c) for c in rng.choice(np.arange(1, n), size=n_tracks - 1, replace=False))
        counts = [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
        frame = int(rng.integers(1, 600))
        images: list[tuple[int, Image.Image, int]] = []
        for count in counts:
            track = sample_tracklet(
                rng, platform, planned.altitude, frame, config.height_range(platform)
            )
            for k in range(count):
                view = sample_view(rng, track, person.height_factor, len(images))
                images.append((frame, render_view(person, view), view.jpeg_quality))
                frame += track.frame_step if k < count - 1 else 0
            frame += int(rng.integers(60, 900))
        roles = ["train"] * n
        if planned.split == "test":
            nq = min(n - 1, max(1, round(n * config.query_fraction)))
            roles = ["gallery"] * n
            for j in rng.choice(n, size=nq, replace=False):
                roles[int(j)] = "query"
        cam = CAMERA_CODE[platform]
        for (f, img, q), role in zip(images, roles, strict=True):
            name = f"{planned.stem}C{cam}F{f}.jpg"
            yield RenderedImage(platform, f, role, img, q, name)


def _write_identity_v1(job: tuple[PlannedIdentity, SynthConfig, str]) -> list[str]:
    """Render and save one identity into a v1 tree; returns the folders written, per image."""
    planned, config, root = job
    folders: list[str] = []
    for item in render_identity(planned, config):
        folder = V1_FOLDERS[(item.platform, item.role)]
        item.image.save(Path(root) / folder / item.file_name, "JPEG", quality=item.jpeg_quality)
        folders.append(folder)
    return folders


def _count_files(root: Path) -> dict[str, int]:
    return {
        d: sum(1 for p in (root / d).iterdir() if p.suffix == ".jpg") if (root / d).is_dir() else 0
        for d in V1_DIRS
    }


def _info(
    config: SynthConfig, counts: dict[str, int], ids: dict[str, int], shared: int
) -> dict[str, Any]:
    return {
        "generator": "agreid_core.data.synth",
        "version": GENERATOR_VERSION,
        "layout": "agreid-v1",
        "config": config.to_dict(),
        "counts": counts,
        "images": sum(counts.values()),
        "ids": ids,
        "shared_outfit_ids": shared,
    }


def _reopen(out: Path, config: SynthConfig, t0: float) -> SynthSummary:
    """Summary of an existing identical generation at ``out``; raises if it is anything else."""
    info_path = out / INFO_FILE
    if not info_path.is_file():
        raise FileExistsError(
            f"{out}: exists and is not empty, and is not a synthetic dataset (no {INFO_FILE})"
        )
    try:
        info = json.loads(info_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FileExistsError(
            f"{info_path}: unreadable ({exc}); remove {out} to regenerate"
        ) from None
    if info.get("version") != GENERATOR_VERSION or info.get("config") != config.to_dict():
        raise FileExistsError(
            f"{out}: holds a synthetic dataset of another config or generator version "
            f"({info.get('version')!r}); remove it or choose another folder"
        )
    counts = _count_files(out)
    if counts != info.get("counts"):
        raise FileExistsError(
            f"{out}: incomplete or modified (found {counts}, {INFO_FILE} says {info.get('counts')})"
        )
    return SynthSummary(out, counts, dict(info["ids"]), time.perf_counter() - t0, reused=True)


def default_workers() -> int:
    """Worker processes to use by default: the CPUs this process may run on, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def _mp_context() -> BaseContext:
    """``fork`` where there is one (workers then skip re-importing torch, ~2 s each; they only
    touch numpy and PIL, never a thread pool of the parent), else ``spawn``."""
    return get_context("fork" if "fork" in get_all_start_methods() else "spawn")


def generate_image_dataset(
    out: Path, config: SynthConfig, workers: int | None = None
) -> SynthSummary:
    """Generate the dataset of ``config`` into ``out`` (AG-ReID v1 layout); see the module doc.

    If ``out`` already holds the generation of the same config and generator version, its
    summary is returned without regenerating; any other non-empty ``out`` is an error.
    ``workers`` (default: the available CPUs, at most 8) only changes the speed.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if set(config.platforms) != {Platform.AERIAL, Platform.CCTV}:
        raise ValueError(
            f"the AG-ReID v1 layout has exactly a UAV (C0) and a CCTV (C3) camera; "
            f"got platforms {[p.value for p in config.platforms]}"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        return _reopen(out, config, t0)
    planned = plan_identities(config)
    tmp = out.parent / f"{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        for d in V1_DIRS:
            (tmp / d).mkdir(parents=True)
        jobs = [(p, config, str(tmp)) for p in planned]
        n_workers = default_workers() if workers is None else max(1, workers)
        n_workers = min(n_workers, max(1, len(jobs) // 8))
        if n_workers == 1:
            written = [_write_identity_v1(j) for j in jobs]
        else:
            with ProcessPoolExecutor(n_workers, mp_context=_mp_context()) as pool:
                written = list(pool.map(_write_identity_v1, jobs, chunksize=4))
        counts = {d: 0 for d in V1_DIRS}
        for folders in written:
            for f in folders:
                counts[f] += 1
        ids = {
            "train": sum(p.split == "train" for p in planned),
            "test": sum(p.split == "test" for p in planned),
        }
        rows = sorted(planned, key=lambda p: p.pid)
        table = pl.DataFrame(
            {
                "pid": [p.pid for p in rows],
                "split": [p.split for p in rows],
                **{
                    f: [p.identity.attributes[k] for p in rows]
                    for k, f in enumerate(ATTRIBUTE_FIELDS)
                },
            },
            schema={"pid": pl.Int64, "split": pl.String, **{f: pl.Int64 for f in ATTRIBUTE_FIELDS}},
        )
        table.write_csv(tmp / ATTRIBUTES_FILE)
        shared = sum(p.identity.outfit_source is not None for p in planned)
        info = _info(config, counts, ids, shared)
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.is_dir():
            out.rmdir()  # empty (checked above)
        try:
            os.rename(tmp, out)
        except OSError:
            # someone else finished the same folder first: accept theirs if it is identical
            shutil.rmtree(tmp, ignore_errors=True)
            return _reopen(out, config, t0)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SynthSummary(out, counts, ids, time.perf_counter() - t0)
