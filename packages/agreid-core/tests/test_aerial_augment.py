"""Aerial augmentations, the aerial profile and clip-consistent video augmentation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from agreid_core.config import AugmentConfig, InputConfig
from agreid_core.data.aerial_augment import (
    AERIAL_DEFAULTS,
    RandomLowResolution,
    aerial_config,
    aerial_steps,
)
from agreid_core.data.augment import build_clip_augmentation, build_train_augmentation

INP = InputConfig(height=32, width=16, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
OFF = AugmentConfig(flip=0.0, pad=0, random_erasing=0.0)


def _aerial_at(base: AugmentConfig, p: float) -> AugmentConfig:
    """``base`` with every aerial probability set to ``p``."""
    probabilities: dict[str, Any] = dict.fromkeys(AERIAL_DEFAULTS, p)
    return dataclasses.replace(base, **probabilities)


ALL_AERIAL = _aerial_at(OFF, 1.0)


def _images(b: int = 4, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, 32, 16), generator=g, dtype=torch.uint8)


def _laplacian_energy(x: Tensor) -> Tensor:
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).expand(3, 1, 3, 3)
    return F.conv2d(x, kernel, groups=3).abs().flatten(1).sum(1)


def test_defaults_add_no_steps_and_aerial_profile_turns_them_on() -> None:
    assert aerial_steps(AugmentConfig()) == []
    assert len(aerial_steps(aerial_config())) == 6
    custom = aerial_config(AugmentConfig(grayscale=0.9))
    assert custom.grayscale == 0.9 and custom.low_res == AERIAL_DEFAULTS["low_res"]


def test_all_aerial_steps_keep_shape_and_dtype() -> None:
    torch.manual_seed(0)
    out = build_train_augmentation(ALL_AERIAL, INP)(_images())
    assert out.shape == (4, 3, 32, 16) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_probability_zero_is_identity() -> None:
    x = _images()
    for step in aerial_steps(_aerial_at(OFF, 1e-9)):
        step.p = 0.0  # kornia applies ``p`` per sample; 0 never applies
        torch.testing.assert_close(step(x.float() / 255), x.float() / 255)
    torch.testing.assert_close(build_train_augmentation(OFF, INP)(x), x.float() / 255)


def test_low_resolution_removes_high_frequencies() -> None:
    torch.manual_seed(0)
    x = _images().float() / 255
    out = RandomLowResolution(p=1.0)(x)
    assert out.shape == x.shape
    assert (_laplacian_energy(out) < 0.6 * _laplacian_energy(x)).all()


def test_low_resolution_respects_p_per_sample() -> None:
    torch.manual_seed(1)
    x = _images(64).float() / 255
    changed = (RandomLowResolution(p=0.5)(x) != x).flatten(1).any(1)
    assert 0 < int(changed.sum()) < 64


def test_low_resolution_rejects_bad_scale() -> None:
    with pytest.raises(ValueError, match="scale"):
        RandomLowResolution((0.5, 1.5))


def test_rotation_changes_the_image() -> None:
    torch.manual_seed(0)
    aug = build_train_augmentation(
        dataclasses.replace(OFF, rotation=1.0, rotation_degrees=10.0), INP
    )
    x = _images()
    assert ((aug(x) - x.float() / 255).abs().flatten(1).amax(1) > 1e-3).all(), (
        "every image must be rotated"
    )


def test_grayscale_gives_equal_channels() -> None:
    out = build_train_augmentation(dataclasses.replace(OFF, grayscale=1.0), INP)(_images())
    torch.testing.assert_close(out[:, 0], out[:, 1])
    torch.testing.assert_close(out[:, 1], out[:, 2])


def test_clip_frames_share_parameters_and_clips_differ() -> None:
    torch.manual_seed(0)
    aug = _aerial_at(AugmentConfig(flip=0.5, pad=4, random_erasing=1.0), 1.0)
    clip_aug = build_clip_augmentation(aug, InputConfig(height=32, width=16))
    frame = _images(1)
    # 6 identical clips of 4 identical frames
    clips = frame[:, None].expand(6, 4, 3, 32, 16).contiguous()
    out = clip_aug(clips)
    assert out.shape == (6, 4, 3, 32, 16) and out.dtype == torch.float32
    for t in range(1, 4):
        torch.testing.assert_close(out[:, t], out[:, 0])
    assert all(not torch.allclose(out[0], out[b]) for b in range(1, 6))
