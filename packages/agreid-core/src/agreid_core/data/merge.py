"""Merge several loaded datasets into one training / evaluation set.

:func:`merge_datasets` concatenates the sample indexes of its sources (same ``kind``) and
keeps every source distinguishable:

- identities: every ``(source, pid)`` gets a new ``pid``. Training identities come first,
  numbered contiguously in source order (source 0's train ids in sorted order, then source
  1's, …), so the merged train split is one contiguous range starting at 0 and a later
  source's ids continue after the earlier ones' (TFCLIP-AG-VPReID: "new IDs continue
  sequentially after the maximum ID"). Identities that only appear in test rows follow, in
  the same order, so test ids of different sources never collide either. Negative pids
  (junk / distractor markers such as Market's −1) are kept as they are;
- cameras (``offset_cameras``): source i's camids are shifted past the largest camid of the
  sources before it, so camera embeddings and the same-camera junk rule stay per source;
- subsets are prefixed ``<source>/``; every source's protocols are kept with prefixed
  subsets, renamed ``<source>:<name>`` when two sources use the same protocol name;
- new columns ``source`` (the source name) and ``source_pid`` / ``source_camid`` (the
  published values) record the mapping, so :func:`source_identity` undoes it.

``train_all`` names sources whose test rows join the training split too (their protocols are
then dropped): TFCLIP-AG-VPReID trains on G2A-VReID's train **and** test sets.

:func:`parse_merge_spec` reads the data-argument syntax ``merge:A+B``, where each item is
``FORMAT`` (a dataset that needs no folder, e.g. ``embedded-video``) or ``FORMAT=PATH``, and
a trailing ``*`` marks a ``train_all`` source: ``merge:agvpreid=/d/ag+g2a-vreid=/d/g2a*``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from agreid_core.data.dataset import ProtocolSpec, ReIDData

#: Prefix of the dataset-argument syntax read by :func:`parse_merge_spec`.
MERGE_PREFIX = "merge:"


@dataclass(frozen=True)
class MergeSource:
    """One item of a merge spec: dataset format, optional folder, all rows for training."""

    dataset: str
    path: str | None = None
    train_all: bool = False


def source_names(datasets: Sequence[ReIDData]) -> list[str]:
    """Unique source names: the dataset names, suffixed ``#i`` where repeated."""
    names = [d.name for d in datasets]
    return [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]


def _pid_maps(frames: Sequence[pl.DataFrame]) -> list[dict[int, int]]:
    """Per source, published pid → merged pid (train ids first, then test-only ids)."""
    maps: list[dict[int, int]] = [{} for _ in frames]
    next_id = 0
    for split_is_train in (True, False):
        for m, frame in zip(maps, frames, strict=True):
            rows = frame.filter((pl.col("split") == "train") == split_is_train)
            for pid in sorted(int(p) for p in rows["pid"].unique().to_list() if p is not None):
                if pid >= 0 and pid not in m:
                    m[pid] = next_id
                    next_id += 1
    return maps


def _protocols(
    datasets: Sequence[ReIDData], names: Sequence[str], train_all: Collection[str]
) -> tuple[ProtocolSpec, ...]:
    kept = [
        (name, p)
        for d, name in zip(datasets, names, strict=True)
        if name not in train_all and d.name not in train_all
        for p in d.protocols
    ]
    counts: dict[str, int] = {}
    for _, p in kept:
        counts[p.name] = counts.get(p.name, 0) + 1
    out: list[ProtocolSpec] = []
    for name, p in kept:
        out.append(
            replace(
                p,
                name=p.name if counts[p.name] == 1 else f"{name}:{p.name}",
                query_subsets=tuple(f"{name}/{s}" for s in p.query_subsets),
                gallery_subsets=tuple(f"{name}/{s}" for s in p.gallery_subsets),
                distractor_subsets=tuple(f"{name}/{s}" for s in p.distractor_subsets),
            )
        )
    return tuple(out)


def merge_datasets(
    datasets: Sequence[ReIDData],
    name: str,
    *,
    train_all: Collection[str] = (),
    offset_cameras: bool = True,
) -> ReIDData:
    """One :class:`ReIDData` from ``datasets`` (see the module docstring).

    ``train_all`` holds source names (as :func:`source_names` gives them, or dataset names)
    whose every row becomes a training row.
    """
    if not datasets:
        raise ValueError("merge_datasets needs at least one dataset")
    kinds = {d.kind for d in datasets}
    if len(kinds) != 1:
        raise ValueError(f"cannot merge image and video datasets ({sorted(kinds)})")
    names = source_names(datasets)
    frames: list[pl.DataFrame] = []
    for d, src in zip(datasets, names, strict=True):
        frame = d.index
        if src in train_all or d.name in train_all:
            frame = frame.with_columns(pl.lit("train").alias("split"))
        frames.append(frame)
    maps = _pid_maps(frames)
    parts: list[pl.DataFrame] = []
    cam_offset = 0
    for frame, src, pid_map in zip(frames, names, maps, strict=True):
        pid = pl.col("pid")
        part = frame.with_columns(
            pl.lit(src).alias("source"),
            pid.alias("source_pid"),
            pl.col("camid").alias("source_camid"),
            pl.when(pid >= 0)
            .then(pid.replace_strict(pid_map, default=None, return_dtype=pl.Int64))
            .otherwise(pid)
            .cast(pl.Int64)
            .alias("pid"),
            (pl.col("camid") + cam_offset).cast(pl.Int64).alias("camid"),
            (pl.lit(f"{src}/") + pl.col("subset")).alias("subset"),
        )
        parts.append(part)
        if offset_cameras and frame.height:
            cam_offset += int(frame["camid"].max() or 0) + 1  # type: ignore[arg-type]
    index = pl.concat(parts, how="diagonal_relaxed")
    roots = [str(d.root) for d in datasets]
    try:
        root = Path(os.path.commonpath(roots))
    except ValueError:  # different drives / relative and absolute
        root = datasets[0].root
    warnings = [f"{src}: {w}" for d, src in zip(datasets, names, strict=True) for w in d.warnings]
    return ReIDData(
        name=name,
        root=root,
        kind=datasets[0].kind,
        index=index,
        protocols=_protocols(datasets, names, train_all),
        warnings=warnings,
    )


def source_identity(index: pl.DataFrame, pid: int) -> tuple[str, int]:
    """``(source, published pid)`` of merged identity ``pid``."""
    rows = index.filter(pl.col("pid") == pid).select("source", "source_pid").unique()
    if rows.height != 1:
        raise KeyError(f"merged pid {pid} maps to {rows.height} source identities")
    return str(rows["source"][0]), int(rows["source_pid"][0])


def parse_merge_spec(text: str) -> list[MergeSource]:
    """``merge:A+B=PATH*`` → its sources (see the module docstring)."""
    if not text.startswith(MERGE_PREFIX):
        raise ValueError(f"a merge spec starts with {MERGE_PREFIX!r}, got {text!r}")
    items = [i.strip() for i in text[len(MERGE_PREFIX) :].split("+")]
    if not items or any(not i for i in items):
        raise ValueError(f"{text!r}: expected merge:DATASET[=PATH][*]+DATASET[=PATH][*]…")
    out: list[MergeSource] = []
    for item in items:
        train_all = item.endswith("*")
        item = item.removesuffix("*")
        dataset, sep, path = item.partition("=")
        out.append(MergeSource(dataset.strip(), path.strip() if sep else None, train_all))
    return out


def load_merge_spec(text: str, load: Callable[[MergeSource], ReIDData]) -> ReIDData:
    """Load every source of ``text`` with ``load`` and merge them; the merged dataset is
    named ``text`` (so a run's config reloads it the same way)."""
    sources = parse_merge_spec(text)
    datasets = [load(s) for s in sources]
    names = source_names(datasets)
    train_all = {n for n, s in zip(names, sources, strict=True) if s.train_all}
    return merge_datasets(datasets, text, train_all=train_all)
