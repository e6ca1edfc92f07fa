"""Fixtures for cross-package tests: installed example plugins and small synthetic trees."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
EXAMPLE_PLUGINS = {
    "agreid-toy-method": HERE / "plugins" / "agreid-toy-method",
    "agreid-broken-plugin": HERE / "plugins" / "agreid-broken-plugin",
}


def agreid(
    *args: str, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``agreid`` command in a fresh process (real entry-point discovery)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "agreid_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def installed_example_plugins() -> Iterator[dict[str, Path]]:
    """pip-install the third-party example plugins for the session, then uninstall them."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-build-isolation", *map(str, EXAMPLE_PLUGINS.values())],
        check=True,
    )
    try:
        yield EXAMPLE_PLUGINS
    finally:
        subprocess.run([*pip, "uninstall", "-y", *EXAMPLE_PLUGINS], check=False)


@pytest.fixture(scope="session")
def small_synthetic_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-identity synthetic AG-ReID v1 tree."""
    from agreid_core.data.synth import SynthConfig, generate_image_dataset

    root = tmp_path_factory.mktemp("synth") / "tree"
    generate_image_dataset(root, SynthConfig(num_ids=16, seed=3))
    return root
