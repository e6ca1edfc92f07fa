"""Decoding (including corrupt files) and the batch-wise augmentation pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agreid_core.config import AugmentConfig, InputConfig
from agreid_core.data.augment import Normalize, build_test_transform, build_train_augmentation
from agreid_core.data.dataset import DatasetError
from agreid_core.data.decode import read_image

from .conftest import write_image


def test_read_image_resizes_to_uint8_chw(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    write_image(path, seed=0, size=(20, 50))
    img = read_image(path, 32, 16)
    assert img.shape == (3, 32, 16) and img.dtype == torch.uint8


def test_truncated_and_missing_images_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    write_image(path, seed=0)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DatasetError, match="broken.jpg: cannot decode"):
        read_image(path, 8, 8)
    with pytest.raises(DatasetError, match="missing.jpg"):
        read_image(tmp_path / "missing.jpg", 8, 8)


def test_normalize_matches_formula() -> None:
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    out = Normalize((0.5, 0.5, 0.5), (0.25, 0.5, 1.0))(x)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([2.0, 1.0, 0.5]))


def test_train_augmentation_shapes_and_erasing_fills_the_mean() -> None:
    torch.manual_seed(0)
    inp = InputConfig(height=32, width=16)
    aug = build_train_augmentation(AugmentConfig(flip=0.0, pad=0, random_erasing=1.0), inp)
    x = torch.full((4, 3, 32, 16), 255, dtype=torch.uint8)
    out = aug(x)
    assert out.shape == (4, 3, 32, 16)
    white = build_test_transform(inp)(x)
    erased = (out != white).any(dim=1)
    assert erased.any(), "random erasing with p=1 must erase something"
    # erased pixels hold 0 after normalisation, i.e. the dataset mean
    assert torch.all(out.permute(0, 2, 3, 1)[erased] == 0)


def test_flip_only_pipeline_flips_or_keeps() -> None:
    inp = InputConfig(height=4, width=4, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    aug = build_train_augmentation(AugmentConfig(flip=1.0, pad=0, random_erasing=0.0), inp)
    x = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4).repeat(1, 3, 1, 1)
    torch.testing.assert_close(aug(x), torch.flip(x.float() / 255, dims=[3]))
