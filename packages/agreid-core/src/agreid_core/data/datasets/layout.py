"""Shared steps of loaders for folder-per-split layouts: check the root, scan each split."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from agreid_core.data.cache import cached_index
from agreid_core.data.dataset import DatasetError

#: ``scanner(folder, subset, split, warnings, strict) -> index rows``.
FolderScanner = Callable[[Path, str, str, list[str], bool], list[dict[str, object]]]


def warn_or_raise(message: str, warnings: list[str], strict: bool) -> None:
    """Count ``message`` as a loader warning, or raise it as a :class:`DatasetError` when strict."""
    if strict:
        raise DatasetError(message)
    warnings.append(message)


def require_root(root: Path | None, layout: str) -> Path:
    """``root`` if it is an existing folder, else a :class:`DatasetError` naming it."""
    if root is None:
        raise DatasetError(f"{layout} needs the dataset folder (--data PATH)")
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder does not exist")
    return root


def scan_split_folders(
    root: Path,
    subsets: Mapping[str, str],
    scanner: FolderScanner,
    layout: str,
    warnings: list[str],
    strict: bool,
    expected: str = "",
) -> list[dict[str, object]]:
    """Scan ``root/<subset>`` for every subset (→ split); each must exist and hold images."""
    rows: list[dict[str, object]] = []
    for subset, split in subsets.items():
        folder = root / subset
        if not folder.is_dir():
            listing = expected or ", ".join(subsets)
            raise DatasetError(
                f"{folder}: missing folder (expected the {layout} layout: {listing})"
            )
        found = scanner(folder, subset, split, warnings, strict)
        if not found:
            raise DatasetError(f"{folder}: no parsable images in this split")
        rows.extend(found)
    return rows


def load_index(
    root: Path,
    loader_name: str,
    strict: bool,
    warnings: list[str],
    build: Callable[[], pl.DataFrame],
    version: str = "1",
) -> pl.DataFrame:
    """``build()`` through the Parquet index cache (keyed by the tree's signature).

    Strict loads bypass the cache so that every warning is re-checked and raised.
    """
    if strict:
        return build()
    return cached_index(root, loader_name, build, version=version, warnings=warnings)
