"""A Parquet cache of dataset indexes, keyed by a content signature of the dataset tree.

Video datasets hold millions of frames; listing and parsing them on every load is slow.
:func:`cached_index` stores the index built by a loader under
``<agreid cache>/index/`` (see :func:`agreid_core.data.embedded.cache_dir`) and reuses it while
the tree is unchanged. The signature hashes the relative path, size and mtime (ns) of every
file below the root, walked with :func:`os.scandir` (one ``stat`` per file, no reads), plus the
loader name and version; any added, removed, resized or touched file changes it and the index is
rebuilt. Warnings raised while building are kept next to the Parquet file and replayed on a hit.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl

INDEX_CACHE_FORMAT = "1"


def tree_signature(root: Path) -> str:
    """Hex digest over (relative path, size, mtime_ns) of every file below ``root``."""
    digest = hashlib.blake2b(digest_size=16)
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            rel_name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir():
                subdirs.append((entry.path, rel_name))
                continue
            st = entry.stat()
            digest.update(f"{rel_name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        stack.extend(reversed(subdirs))
    return digest.hexdigest()


def index_cache_dir() -> Path:
    """``<agreid cache>/index``."""
    from agreid_core.data.embedded import cache_dir

    return cache_dir() / "index"


def cached_index(
    root: Path,
    loader_name: str,
    build: Callable[[], pl.DataFrame],
    *,
    version: str = "1",
    warnings: list[str] | None = None,
) -> pl.DataFrame:
    """The index of ``root`` from the cache, or ``build()`` (then stored) when stale or absent.

    ``version`` is the loader's index version: bump it when the loader's output changes.
    ``warnings``: messages appended to it by ``build`` are stored and appended again on a hit.
    """
    resolved = root.resolve()
    owner = hashlib.blake2b(
        f"{resolved}\0{loader_name}\0{version}\0{INDEX_CACHE_FORMAT}".encode(), digest_size=8
    ).hexdigest()
    signature = tree_signature(resolved)
    folder = index_cache_dir()
    stem = f"{loader_name}-{owner}"
    parquet = folder / f"{stem}-{signature}.parquet"
    sidecar = parquet.with_suffix(".warnings.json")
    if parquet.is_file() and sidecar.is_file():
        try:
            index = pl.read_parquet(parquet)
            stored = json.loads(sidecar.read_text())
        except (OSError, ValueError, pl.exceptions.PolarsError):
            pass  # a damaged entry is rebuilt below
        else:
            if warnings is not None and isinstance(stored, list):
                warnings.extend(str(w) for w in stored)
            return index
    start = len(warnings) if warnings is not None else 0
    index = build()
    new_warnings = warnings[start:] if warnings is not None else []
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{stem}-*"):
        stale.unlink(missing_ok=True)
    tmp = parquet.with_name(f".{parquet.name}.{os.getpid()}.tmp")
    index.write_parquet(tmp)
    tmp_json = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    tmp_json.write_text(json.dumps(new_warnings))
    os.replace(tmp_json, sidecar)
    os.replace(tmp, parquet)
    return index
