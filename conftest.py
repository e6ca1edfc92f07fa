"""Repository-wide test setup: keep agreid's cache (generated data, index cache) out of the
user's home and never reach a model hub."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_agreid_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    old = os.environ.get("AGREID_CACHE")
    os.environ["AGREID_CACHE"] = str(tmp_path_factory.mktemp("agreid-cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("AGREID_CACHE", None)
        else:
            os.environ["AGREID_CACHE"] = old
