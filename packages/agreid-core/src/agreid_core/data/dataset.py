"""Loaded datasets, their evaluation protocols, and what a dataset plugin registers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl


class DatasetError(ValueError):
    """A dataset tree that cannot be read; the message names the file or folder."""


@dataclass(frozen=True)
class ProtocolSpec:
    """A query/gallery evaluation protocol, defined by the subsets it draws from.

    ``name`` is what tables show (``A→G``); ``query_subsets`` / ``gallery_subsets`` name the
    ``subset`` values of the index that form each side. ``distractor_subsets`` names gallery
    subsets of pure distractors that a challenge's submission skips when it picks a top-1
    identity (AG-ReID 2023's ``gallery_add_on``); they stay in every ranking.
    """

    name: str
    query_subsets: tuple[str, ...]
    gallery_subsets: tuple[str, ...]
    description: str = ""
    distractor_subsets: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadOptions:
    """Options every loader accepts. ``strict`` turns counted warnings into errors."""

    strict: bool = False


@dataclass
class ReIDData:
    """A dataset as loaded: the sample index plus the protocols it supports."""

    name: str
    root: Path
    kind: Literal["image", "video"]
    index: pl.DataFrame
    protocols: tuple[ProtocolSpec, ...]
    warnings: list[str] = field(default_factory=list)

    def train(self) -> pl.DataFrame:
        """Rows of the training split."""
        return self.index.filter(pl.col("split") == "train")

    def rows_of(self, subsets: Sequence[str]) -> pl.DataFrame:
        """Rows whose ``subset`` is one of ``subsets``."""
        return self.index.filter(pl.col("subset").is_in(list(subsets)))

    def protocol(self, name: str) -> ProtocolSpec:
        """The protocol called ``name``."""
        for p in self.protocols:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.protocols)
        raise KeyError(f"dataset {self.name!r} has no protocol {name!r}; it has: {known}")


Loader = Callable[[Path | None, LoadOptions], ReIDData]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: how to load it, and whether it needs a path on disk."""

    summary: str
    load: Loader
    kind: Literal["image", "video"] = "image"
    needs_path: bool = True
    reference: str = ""
