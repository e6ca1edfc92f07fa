"""Write a synthetic aerial-ground video (tracklet) dataset in the AG-VPReID layout.

::

    out/train/{ID}/{tracklet}/{frame}.jpg                 UAV and CCTV tracklets of train ids
    out/case1_aerial_to_ground/query/{ID}/{tracklet}/…    UAV tracklets of the test ids
    out/case1_aerial_to_ground/gallery/{ID}/{tracklet}/…  CCTV tracklets of the test ids
    out/case2_ground_to_aerial/query/{ID}/{tracklet}/…    CCTV tracklets of the test ids
    out/case2_ground_to_aerial/gallery/{ID}/{tracklet}/…  UAV tracklets of the test ids and of
                                                          the aerial-only distractor ids
    out/attributes/train.csv, out/attributes/case{1,2}_…/{query,gallery}.csv
    out/SYNTH_INFO.json                                   generator version, config, counts

``{ID}`` is the raw integer identity, zero-padded to 4 digits; train ids come first, then
test ids, then distractors (increasing, with small gaps). The Kaggle release (``agvpreid25``)
*masks* the test ids (aerial and ground folders use separate permuted namespaces); we keep the
raw ids in every folder so that local evaluation is meaningful. A test tracklet is written
twice, under the same name and with the same bytes: case-1 query and case-2 gallery hold the
same UAV tracklets, case-1 gallery and case-2 query the same CCTV tracklets, as on Kaggle.

Tracklet folders are named like the Kaggle release: UAV ``tracklet_<N>`` (N unique, random,
from 11 up) and CCTV six-character codes matching ``^[a-z]{3}\\d[a-z][A-Z]$``. Frame names
follow ``P{p}T{YYMMDD}{0|1}A{a}C{c}E{e}K{k}F{f}.jpg``: ``P`` numbers the people of one
collection session ``T`` (day plus AM/PM digit), ``A`` is the identity's flight altitude
(``A2`` = 80 m, ``A3`` = 120 m; also on its CCTV frames), ``C`` is ``0``/``1`` for CCTV and
``4``/``5`` for UAV, ``E`` an event id and ``K`` a keypoint reference per tracklet, ``F``
the frame number (increasing along the tracklet).

Attribute CSVs have the AG-VPReID header (``id`` then 15 fields) with the identity's codes
from :data:`.attributes.CODEBOOK` (same field order, AG-VPReID names).

A tracklet is one walk past a static camera: consecutive frames advance the gait phase, the
person drifts a little inside the crop, the background plate slides with the walk, and now
and then (``occluder_p`` per frame) something blocks part of the person. Output is
deterministic (byte-identical for the same config whatever ``workers`` is) and written to
``out.tmp-<pid>`` then renamed into place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from PIL import Image

from agreid_core.data.synth.attributes import Identity, sample_population
from agreid_core.data.synth.backgrounds import render_background
from agreid_core.data.synth.generate import INFO_FILE, _mp_context, default_workers
from agreid_core.data.synth.render import render_view
from agreid_core.data.synth.views import sample_tracklet, sample_view
from agreid_core.types import Platform

#: Changes whenever the same config would give different files.
VIDEO_GENERATOR_VERSION = "synthvideo1"
TRAIN = "train"
C1Q = "case1_aerial_to_ground/query"
C1G = "case1_aerial_to_ground/gallery"
C2Q = "case2_ground_to_aerial/query"
C2G = "case2_ground_to_aerial/gallery"
#: The tracklet folders of the layout, in a fixed order.
VIDEO_DIRS: tuple[str, ...] = (TRAIN, C1Q, C1G, C2Q, C2G)
#: AG-VPReID attribute CSV columns after ``id`` (same order as ``ATTRIBUTE_FIELDS``).
VP_ATTRIBUTE_FIELDS: tuple[str, ...] = (
    "gender",
    "age",
    "height",
    "body_volume",
    "ethnicity",
    "hair_color",
    "hairstyle",
    "beard",
    "moustache",
    "glasses",
    "head_accessories",
    "upper_body_clothing",
    "lower_body_clothing",
    "footwear",
    "accessories",
)
#: Altitude (m) → ``A`` code of the frame grammar.
ALTITUDE_CODE: dict[int, int] = {15: 0, 30: 1, 80: 2, 120: 3}
#: Altitude (m) → the image renderer's altitude level (0 lowest … 2 highest).
RENDER_LEVEL: dict[int, int] = {15: 0, 30: 1, 80: 1, 120: 2}
#: Camera codes per platform (README: C0/C1 CCTV, C4/C5 UAV).
VIDEO_CAMERAS: dict[Platform, tuple[int, int]] = {
    Platform.CCTV: (0, 1),
    Platform.AERIAL: (4, 5),
}
#: (role, platform) → folders the tracklet is written to.
DESTINATIONS: dict[tuple[str, Platform], tuple[str, ...]] = {
    ("train", Platform.AERIAL): (TRAIN,),
    ("train", Platform.CCTV): (TRAIN,),
    ("test", Platform.AERIAL): (C1Q, C2G),
    ("test", Platform.CCTV): (C1G, C2Q),
    ("distractor", Platform.AERIAL): (C2G,),
}
#: Attribute CSV (relative to ``attributes/``) → identity roles listed in it.
ATTRIBUTE_CSVS: dict[str, tuple[str, ...]] = {
    "train.csv": ("train",),
    "case1_aerial_to_ground/query.csv": ("test",),
    "case1_aerial_to_ground/gallery.csv": ("test",),
    "case2_ground_to_aerial/query.csv": ("test",),
    "case2_ground_to_aerial/gallery.csv": ("test", "distractor"),
}
_FIRST_DAY = dt.date(2023, 10, 16)
_NUM_DAYS = 20
_MAX_IDS = 3000
_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _pair(value: tuple[Any, ...], name: str, minimum: float) -> None:
    if len(value) != 2 or not (minimum <= value[0] <= value[1]):
        raise ValueError(
            f"SynthVideoConfig.{name} must be (low, high) with {minimum} <= low <= high, "
            f"got {value}"
        )


@dataclass(frozen=True)
class SynthVideoConfig:
    """What to generate. Ranges are (low, high), drawn uniformly and inclusive.

    ``num_ids`` counts every identity: about ``distractor_fraction`` of them are aerial-only
    distractors (case-2 gallery only); the rest split ``train_fraction`` train / test.
    ``tracklets`` is per identity and platform; ``frames`` per tracklet. ``altitudes`` (m,
    from 15/30/80/120) are the flight altitudes an identity's session may have. Heights are
    the person's height in output pixels (aerial before the UAV's foreshortening).
    """

    num_ids: int = 60
    seed: int = 0
    frames: tuple[int, int] = (8, 16)
    tracklets: tuple[int, int] = (1, 2)
    altitudes: tuple[int, ...] = (80, 120)
    train_fraction: float = 0.5
    distractor_fraction: float = 0.1
    shared_outfit_fraction: float = 1 / 3
    occluder_p: float = 0.1
    aerial_height: tuple[float, float] = (28.0, 100.0)
    cctv_height: tuple[float, float] = (60.0, 200.0)

    def __post_init__(self) -> None:
        if not 1 <= self.num_ids <= _MAX_IDS:
            raise ValueError(f"SynthVideoConfig.num_ids must be in [1, {_MAX_IDS}]")
        for name in ("train_fraction", "distractor_fraction", "shared_outfit_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"SynthVideoConfig.{name} must be in [0, 1], got {v}")
        if not 0.0 <= self.occluder_p <= 1.0:
            raise ValueError(
                f"SynthVideoConfig.occluder_p must be in [0, 1], got {self.occluder_p}"
            )
        _pair(self.frames, "frames", 1)
        _pair(self.tracklets, "tracklets", 1)
        _pair(self.aerial_height, "aerial_height", 8)
        _pair(self.cctv_height, "cctv_height", 8)
        alts = tuple(int(a) for a in self.altitudes)
        if not alts or any(a not in ALTITUDE_CODE for a in alts):
            raise ValueError(
                f"SynthVideoConfig.altitudes must be non-empty, from {sorted(ALTITUDE_CODE)}; "
                f"got {self.altitudes}"
            )
        object.__setattr__(self, "altitudes", alts)

    def height_range(self, platform: Platform) -> tuple[float, float]:
        """Person height limits (px) on ``platform``."""
        return self.aerial_height if platform is Platform.AERIAL else self.cctv_height

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as lists)."""
        out: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return out


@dataclass(frozen=True)
class SynthVideoSummary:
    """What a video generation produced (or found already on disk, ``reused``).

    ``frames`` and ``tracklets`` are per folder of :data:`VIDEO_DIRS`; ``ids`` per role.
    """

    root: Path
    frames: dict[str, int]
    tracklets: dict[str, int]
    ids: dict[str, int]
    elapsed_s: float
    reused: bool = False

    @property
    def total_frames(self) -> int:
        """All frame files in the tree (test tracklets count once per folder)."""
        return sum(self.frames.values())


@dataclass(frozen=True)
class PlannedTracklet:
    """One tracklet: where it goes and the per-tracklet parts of its frame names."""

    platform: Platform
    name: str
    camera: int
    event: int
    keypoint: int
    first_frame: int
    num_frames: int


@dataclass(frozen=True)
class PlannedVideoIdentity:
    """An identity with its folder id, role, name parts and tracklets."""

    identity: Identity
    pid: int
    role: str  # "train" | "test" | "distractor"
    person: int
    session: str  # YYMMDD + AM/PM digit
    altitude: int  # metres
    tracklets: tuple[PlannedTracklet, ...]

    @property
    def folder(self) -> str:
        """The ``{ID}`` folder name."""
        return f"{self.pid:04d}"

    def frame_name(self, track: PlannedTracklet, k: int, step: int) -> str:
        """File name of frame ``k`` of ``track`` (``step`` frame numbers apart)."""
        return (
            f"P{self.person}T{self.session}A{ALTITUDE_CODE[self.altitude]}C{track.camera}"
            f"E{track.event}K{track.keypoint}F{track.first_frame + k * step}.jpg"
        )


def _ground_code(rng: np.random.Generator) -> str:
    """A CCTV tracklet name like ``cpd7eD``."""
    idx = rng.integers(0, 26, size=5)
    low = "".join(_LOWER[int(i)] for i in idx[:3])
    return f"{low}{int(rng.integers(0, 10))}{_LOWER[int(idx[3])]}{_LOWER[int(idx[4])].upper()}"


def plan_video_identities(config: SynthVideoConfig) -> list[PlannedVideoIdentity]:
    """The identities of ``config`` in folder-id order: role, id, session and tracklets."""
    n = config.num_ids
    people = sample_population(n, config.seed, config.shared_outfit_fraction)
    rng = np.random.default_rng([config.seed, 0x71D])
    n_dis = min(round(n * config.distractor_fraction), max(0, n - 2))
    rest = n - n_dis
    n_train = round(rest * config.train_fraction)
    if rest >= 2 and 0 < config.train_fraction < 1:
        n_train = min(max(n_train, 1), rest - 1)
    order = [int(i) for i in rng.permutation(n)]
    roles = ["train"] * n_train + ["test"] * (rest - n_train) + ["distractor"] * n_dis
    # folder ids: increasing with small gaps, a bigger gap between the role blocks
    pids: list[int] = []
    pid = int(rng.integers(0, 3))
    for j, role in enumerate(roles):
        if j and role != roles[j - 1]:
            pid += int(rng.integers(2, 6))
        pids.append(pid)
        pid += int(rng.integers(1, 3))
    # collection sessions: (day, AM/PM) and the person number within a session
    n_sessions = max(1, min(2 * _NUM_DAYS, math.ceil(n / 8)))
    session_ids = sorted(int(s) for s in rng.choice(2 * _NUM_DAYS, size=n_sessions, replace=False))
    session_of = [session_ids[int(s)] for s in rng.integers(0, n_sessions, size=n)]
    next_person: dict[int, int] = {}
    n_tracks = {
        p: [int(rng.integers(config.tracklets[0], config.tracklets[1] + 1)) for _ in range(n)]
        for p in (Platform.AERIAL, Platform.CCTV)
    }
    n_aerial = sum(n_tracks[Platform.AERIAL])
    aerial_numbers = iter(
        int(x) for x in rng.choice(np.arange(11, 11 + 3 * n_aerial), size=n_aerial, replace=False)
    )
    used_codes: set[str] = set()
    planned: list[PlannedVideoIdentity] = []
    for j in range(n):
        i, role = order[j], roles[j]
        s = session_of[j]
        day = _FIRST_DAY + dt.timedelta(days=s // 2)
        next_person[s] = next_person.get(s, 0) + int(rng.integers(1, 4))
        altitude = config.altitudes[int(rng.integers(0, len(config.altitudes)))]
        tracks: list[PlannedTracklet] = []
        platforms = (Platform.AERIAL,) if role == "distractor" else (Platform.AERIAL, Platform.CCTV)
        for platform in (Platform.AERIAL, Platform.CCTV):
            for _ in range(n_tracks[platform][j]):
                if platform is Platform.AERIAL:
                    name = f"tracklet_{next(aerial_numbers)}"
                else:
                    name = _ground_code(rng)
                    while name in used_codes:
                        name = _ground_code(rng)
                    used_codes.add(name)
                cams = VIDEO_CAMERAS[platform]
                track = PlannedTracklet(
                    platform=platform,
                    name=name,
                    camera=cams[int(rng.integers(0, 2))],
                    event=int(rng.integers(1, 1000)),
                    keypoint=int(rng.integers(1, 10)),
                    first_frame=int(rng.integers(1, 9000)),
                    num_frames=int(rng.integers(config.frames[0], config.frames[1] + 1)),
                )
                if platform in platforms:
                    tracks.append(track)
        planned.append(
            PlannedVideoIdentity(
                identity=people[i],
                pid=pids[j],
                role=role,
                person=next_person[s],
                session=f"{day:%y%m%d}{s % 2}",
                altitude=altitude,
                tracklets=tuple(tracks),
            )
        )
    return planned


def _plate_cutter(
    plate: NDArray[np.float32], origin: tuple[float, float]
) -> Callable[[int, int], NDArray[np.float32]]:
    """A backdrop that cuts a ``w`` × ``h`` window at ``origin`` from ``plate`` (wrapping)."""

    def cut(w: int, h: int) -> NDArray[np.float32]:
        ph, pw = plate.shape[:2]
        x0, y0 = round(origin[0]), round(origin[1])
        rows = (np.arange(h) + y0) % ph
        cols = (np.arange(w) + x0) % pw
        out: NDArray[np.float32] = plate[np.ix_(rows, cols)]
        return out

    return cut


def render_video_tracklets(
    planned: PlannedVideoIdentity, config: SynthVideoConfig
) -> Iterator[tuple[PlannedTracklet, list[str], list[Image.Image], int]]:
    """Render every tracklet of one identity: (tracklet, frame names, frames, JPEG quality)."""
    person = planned.identity
    rng = np.random.default_rng([config.seed, 2, person.index])
    level = RENDER_LEVEL[planned.altitude]
    for track in planned.tracklets:
        p = track.platform
        lo, hi = config.height_range(p)
        setting = sample_tracklet(rng, p, level, track.first_frame, (lo, hi))
        base = dataclasses.replace(
            sample_view(rng, setting, person.height_factor, 0), facing=setting.facing
        )
        step = max(1, setting.frame_step // 4)
        dphase = float(rng.uniform(0.45, 0.8)) * (1 if rng.random() < 0.5 else -1)
        # the ground plate slides under the walking person (camera static, crop follows)
        speed = float(rng.uniform(0.015, 0.035)) * base.height
        if p is Platform.AERIAL:
            angle = float(rng.uniform(0, 2 * math.pi))
        else:
            sideways = {"left": math.pi, "right": 0.0}.get(base.facing)
            angle = sideways if sideways is not None else math.pi / 2
            if sideways is None:
                speed *= 0.2
        velocity = (speed * math.cos(angle), speed * math.sin(angle))
        side = int(4 * base.height) + 64
        plate = render_background(base.background, side, side, base.background_seed, base.height)
        origin = (float(rng.uniform(0, side)), float(rng.uniform(0, side)))
        dx = dy = 0.0
        names: list[str] = []
        frames: list[Image.Image] = []
        for k in range(track.num_frames):
            dx = float(np.clip(dx + rng.normal(0, 0.02), -0.08, 0.08))
            dy = float(np.clip(dy + rng.normal(0, 0.008), -0.03, 0.03))
            ml, mt, mr, mb = base.margins
            occluder: tuple[float, float, float, float, tuple[int, int, int]] | None = None
            if rng.random() < config.occluder_p:  # a pole, sign or passer-by
                x0 = float(rng.uniform(-0.1, 0.8))
                y0 = float(rng.uniform(-0.1, 0.5))
                color = tuple(int(c) for c in rng.integers(20, 220, size=3))
                occluder = (
                    x0,
                    y0,
                    x0 + float(rng.uniform(0.15, 0.4)),
                    1.05,
                    (color[0], color[1], color[2]),
                )
            view = dataclasses.replace(
                base,
                phase=base.phase + k * dphase,
                height=float(np.clip(base.height * (1 + rng.normal(0, 0.012)), lo, hi)),
                margins=(
                    max(0.01, ml + dx),
                    max(0.01, mt + dy),
                    max(0.01, mr - dx),
                    max(0.01, mb - dy),
                ),
                rotation=base.rotation + (float(rng.normal(0, 1.2)) if p is Platform.AERIAL else 0),
                gain=base.gain * float(rng.uniform(0.98, 1.02)),
                occluder=occluder,
            )
            at = (origin[0] + k * velocity[0], origin[1] + k * velocity[1])
            img = render_view(
                person,
                view,
                backdrop=_plate_cutter(plate, at),
                noise_seed=base.background_seed + 7919 * (k + 1),
            )
            names.append(planned.frame_name(track, k, step))
            frames.append(img)
        yield track, names, frames, base.jpeg_quality


def _write_identity(job: tuple[PlannedVideoIdentity, SynthVideoConfig, str]) -> None:
    """Render and save one identity's tracklets into every folder they belong to."""
    planned, config, root = job
    for track, names, frames, quality in render_video_tracklets(planned, config):
        for folder in DESTINATIONS[(planned.role, track.platform)]:
            d = Path(root) / folder / planned.folder / track.name
            d.mkdir(parents=True, exist_ok=True)
            for name, img in zip(names, frames, strict=True):
                img.save(d / name, "JPEG", quality=quality)


def _count(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(frames, tracklets) per folder of :data:`VIDEO_DIRS`."""
    frames = {d: 0 for d in VIDEO_DIRS}
    tracklets = {d: 0 for d in VIDEO_DIRS}
    for d in VIDEO_DIRS:
        base = root / d
        if not base.is_dir():
            continue
        for t in base.glob("*/*"):
            if t.is_dir():
                tracklets[d] += 1
                frames[d] += sum(1 for f in t.iterdir() if f.suffix == ".jpg")
    return frames, tracklets


def _reopen(out: Path, config: SynthVideoConfig, t0: float) -> SynthVideoSummary:
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
    if info.get("version") != VIDEO_GENERATOR_VERSION or info.get("config") != config.to_dict():
        raise FileExistsError(
            f"{out}: holds a synthetic dataset of another config or generator version "
            f"({info.get('version')!r}); remove it or choose another folder"
        )
    frames, tracklets = _count(out)
    if frames != info.get("frames") or tracklets != info.get("tracklets"):
        raise FileExistsError(
            f"{out}: incomplete or modified (found {frames} frames, {INFO_FILE} says "
            f"{info.get('frames')})"
        )
    return SynthVideoSummary(
        out, frames, tracklets, dict(info["ids"]), time.perf_counter() - t0, reused=True
    )


def _write_attributes(root: Path, planned: list[PlannedVideoIdentity]) -> None:
    for rel, roles in ATTRIBUTE_CSVS.items():
        rows = sorted((p for p in planned if p.role in roles), key=lambda p: p.pid)
        table = pl.DataFrame(
            {
                "id": [p.pid for p in rows],
                **{
                    f: [p.identity.attributes[k] for p in rows]
                    for k, f in enumerate(VP_ATTRIBUTE_FIELDS)
                },
            },
            schema={"id": pl.Int64, **{f: pl.Int64 for f in VP_ATTRIBUTE_FIELDS}},
        )
        path = root / "attributes" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        table.write_csv(path)


def generate_video_dataset(
    out: Path, config: SynthVideoConfig, workers: int | None = None
) -> SynthVideoSummary:
    """Write the synthetic AG-VPReID-layout dataset of ``config`` to ``out``.

    If ``out`` already holds the same config's complete output (by ``SYNTH_INFO.json``) its
    summary is returned without regenerating; any other non-empty ``out`` raises
    :class:`FileExistsError`. ``workers`` (default: the available CPUs, at most 8) only
    changes the speed.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        return _reopen(out, config, t0)
    planned = plan_video_identities(config)
    tmp = out.parent / f"{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        for d in VIDEO_DIRS:
            (tmp / d).mkdir(parents=True)
        jobs = [(p, config, str(tmp)) for p in planned]
        n_workers = default_workers() if workers is None else max(1, workers)
        n_workers = min(n_workers, max(1, len(jobs) // 4))
        if n_workers == 1:
            for j in jobs:
                _write_identity(j)
        else:
            with ProcessPoolExecutor(n_workers, mp_context=_mp_context()) as pool:
                list(pool.map(_write_identity, jobs, chunksize=2))
        _write_attributes(tmp, planned)
        frames, tracklets = _count(tmp)
        ids = {r: sum(p.role == r for p in planned) for r in ("train", "test", "distractor")}
        info = {
            "generator": "agreid_core.data.synth.video",
            "version": VIDEO_GENERATOR_VERSION,
            "layout": "ag-vpreid",
            "config": config.to_dict(),
            "frames": frames,
            "tracklets": tracklets,
            "ids": ids,
            "test_ids_masked": False,
            "shared_outfit_ids": sum(p.identity.outfit_source is not None for p in planned),
        }
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
    return SynthVideoSummary(out, frames, tracklets, ids, time.perf_counter() - t0)
