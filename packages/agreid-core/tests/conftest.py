"""Shared fixtures: small AG-ReID v1 trees written in the exact published layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

V1_FOLDERS = (
    "bounding_box_train",
    "query_all_c0",
    "bounding_box_test_all_c3",
    "query_all_c3",
    "bounding_box_test_all_c0",
)


def write_image(path: Path, seed: int, size: tuple[int, int] = (16, 32)) -> None:
    """A small random RGB JPEG (width, height = size)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def make_v1_tree(root: Path) -> dict[str, list[str]]:
    """Two train and two test identities; returns the file names written per folder."""
    files: dict[str, list[str]] = {
        "bounding_box_train": [
            "P0001T04041A0C0F31.jpg",
            "P0001T04041A0C3F40.jpg",
            "P0002T04041A1C0F5.jpg",
            "P0002T04041A1C3F6.jpg",
        ],
        "query_all_c0": ["P0010T02140A2C0F1.jpg", "P0011T02140A2C0F2.jpg"],
        "bounding_box_test_all_c3": ["P0010T02140A2C3F7.jpg", "P0011T02140A2C3F8.jpg"],
        "query_all_c3": ["P0010T02140A2C3F9.jpg"],
        "bounding_box_test_all_c0": ["P0010T02140A2C0F10.jpg", "P0011T02140A2C0F11.jpg"],
    }
    for i, (folder, names) in enumerate(files.items()):
        for j, name in enumerate(names):
            write_image(root / folder / name, seed=100 * i + j)
    return files


@pytest.fixture
def v1_tree(tmp_path: Path) -> Path:
    """A valid small AG-ReID v1 tree."""
    root = tmp_path / "AG-ReID"
    make_v1_tree(root)
    return root
