"""The Parquet index cache: hits on an unchanged tree, rebuilds when a file changes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from agreid_core.data import cache
from agreid_core.data.dataset import LoadOptions
from agreid_core.data.datasets import agvpreid, mars

from .conftest import write_image
from .test_agvpreid import make_tree


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREID_CACHE", str(tmp_path / "cache"))


def _counter(frame: pl.DataFrame) -> tuple[list[int], Callable[[], pl.DataFrame]]:
    calls = [0]

    def build() -> pl.DataFrame:
        calls[0] += 1
        return frame

    return calls, build


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_hit_touch_and_add(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write_image(root / "a" / "x.jpg", 0)
    frame = pl.DataFrame({"path": ["x"], "frames": [["x/1.jpg", "x/2.jpg"]]})
    calls, build = _counter(frame)
    first = cache.cached_index(root, "demo", build)
    second = cache.cached_index(root, "demo", build)
    assert calls[0] == 1 and second.equals(first)
    assert second.schema["frames"] == pl.List(pl.String())
    assert list((cache.index_cache_dir()).glob("demo-*.parquet"))
    _bump_mtime(root / "a" / "x.jpg")
    cache.cached_index(root, "demo", build)
    assert calls[0] == 2
    write_image(root / "a" / "b" / "y.jpg", 1)
    cache.cached_index(root, "demo", build)
    cache.cached_index(root, "demo", build)
    assert calls[0] == 3
    assert len(list(cache.index_cache_dir().glob("demo-*.parquet"))) == 1  # stale removed


def test_version_and_loader_name_are_part_of_the_key(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write_image(root / "x.jpg", 0)
    calls, build = _counter(pl.DataFrame({"a": [1]}))
    cache.cached_index(root, "demo", build, version="1")
    cache.cached_index(root, "demo", build, version="2")
    cache.cached_index(root, "other", build, version="2")
    assert calls[0] == 3


def test_warnings_are_replayed(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write_image(root / "x.jpg", 0)

    def build_with(warnings: list[str]) -> Callable[[], pl.DataFrame]:
        def build() -> pl.DataFrame:
            warnings.append("w1")
            return pl.DataFrame({"a": [1]})

        return build

    first: list[str] = ["earlier"]
    cache.cached_index(root, "demo", build_with(first), warnings=first)
    second: list[str] = []
    cache.cached_index(root, "demo", lambda: pytest.fail("rebuilt"), warnings=second)
    assert first == ["earlier", "w1"] and second == ["w1"]


def test_signature_sees_size_and_names(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write_image(root / "x.jpg", 0)
    sig = cache.tree_signature(root)
    assert cache.tree_signature(root) == sig
    (root / "x.jpg").rename(root / "y.jpg")
    assert cache.tree_signature(root) != sig


def test_agvpreid_loader_uses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "AG-VPReID")
    real = agvpreid.build_agvpreid_index
    calls = [0]

    def counting(tree: Path, warnings: list[str], strict: bool) -> pl.DataFrame:
        calls[0] += 1
        return real(tree, warnings, strict)

    monkeypatch.setattr(agvpreid, "build_agvpreid_index", counting)
    first = agvpreid.load_agvpreid(root, LoadOptions())
    second = agvpreid.load_agvpreid(root, LoadOptions())
    assert calls[0] == 1 and second.index.equals(first.index)
    frame = Path(first.index["frames"][0][0])
    _bump_mtime(frame)
    agvpreid.load_agvpreid(root, LoadOptions())
    assert calls[0] == 2
    agvpreid.load_agvpreid(root, LoadOptions(strict=True))  # strict bypasses the cache
    agvpreid.load_agvpreid(root, LoadOptions(strict=True))
    assert calls[0] == 4


def test_mars_loader_uses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_mars import MARS_TEST, MARS_TRAIN, write_query, write_split

    root = tmp_path / "MARS"
    write_split(root, "train", MARS_TRAIN, 4)
    write_split(root, "test", MARS_TEST, 4)
    write_query(root, [1, 3])
    real = mars.build_mars_index
    calls = [0]

    def counting(tree: Path, warnings: list[str], strict: bool) -> pl.DataFrame:
        calls[0] += 1
        return real(tree, warnings, strict)

    monkeypatch.setattr(mars, "build_mars_index", counting)
    mars.load_mars(root, LoadOptions())
    mars.load_mars(root, LoadOptions())
    assert calls[0] == 1
    write_query(root, [1])  # a changed protocol file rebuilds
    data = mars.load_mars(root, LoadOptions())
    assert calls[0] == 2 and data.rows_of(["query"]).height == 1
