"""Aerial-specific batch-wise augmentations (kornia, on the tensor's device).

Drone crops are small, blurred by platform motion, seen at oblique angles and under
varied illumination. :func:`aerial_steps` turns the aerial fields of
:class:`~agreid_core.config.AugmentConfig` into kornia modules, which
:func:`~agreid_core.data.augment.build_train_augmentation` inserts before normalisation;
every step is off (probability 0) by default. :func:`aerial_config` switches them on at the
strengths of :data:`AERIAL_DEFAULTS`, the ``"aerial"`` augmentation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from kornia.augmentation import random_generator as rg
from kornia.augmentation._2d.intensity.base import IntensityAugmentationBase2D
from torch import Tensor

from agreid_core.config import AugmentConfig

#: Probabilities of the ``"aerial"`` augmentation. Strengths come from the config's
#: defaults: rotation within ±``rotation_degrees`` (10°), brightness/contrast/saturation
#: jitter ±``jitter_strength`` (0.2), low resolution at 1/4–1/2 of the size, 5-pixel motion blur.
AERIAL_DEFAULTS: dict[str, float] = {
    "low_res": 0.3,
    "motion_blur": 0.2,
    "rotation": 0.3,
    "color_jitter": 0.5,
    "grayscale": 0.1,
    "sharpness": 0.2,
}


class RandomLowResolution(IntensityAugmentationBase2D):
    """Downsample by a random factor in ``scale`` (antialiased), then upsample back (bilinear).

    The factor is drawn per sample; the probability gate ``p`` is per sample, as in every
    kornia augmentation, and parameters replay through ``forward(x, params=...)``.
    """

    def __init__(
        self,
        scale: tuple[float, float] = (0.25, 0.5),
        p: float = 0.5,
        same_on_batch: bool = False,
        keepdim: bool = False,
    ) -> None:
        super().__init__(p=p, same_on_batch=same_on_batch, keepdim=keepdim)
        if not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"scale must satisfy 0 < low ≤ high ≤ 1, got {scale}")
        self._param_generator = rg.PlainUniformGenerator((scale, "scale", None, None))

    def apply_transform(
        self,
        input: Tensor,
        params: dict[str, Tensor],
        flags: dict[str, Any],
        transform: Tensor | None = None,
    ) -> Tensor:
        """Degrade each image of ``input`` at its own drawn scale."""
        h, w = input.shape[-2:]
        out = []
        for image, s in zip(input, params["scale"].tolist(), strict=True):
            small = (max(1, round(h * s)), max(1, round(w * s)))
            low = F.interpolate(
                image[None], size=small, mode="bilinear", antialias=True, align_corners=False
            )
            out.append(F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False))
        return torch.cat(out).to(input.dtype)


def aerial_steps(aug: AugmentConfig) -> list[K.AugmentationBase2D]:
    """The enabled aerial steps for [0, 1] float images, in application order."""
    steps: list[K.AugmentationBase2D] = []
    if aug.rotation > 0 and aug.rotation_degrees > 0:
        steps.append(K.RandomRotation(aug.rotation_degrees, p=aug.rotation))
    if aug.low_res > 0:
        steps.append(RandomLowResolution((0.25, 0.5), p=aug.low_res))
    if aug.motion_blur > 0:
        steps.append(
            K.RandomMotionBlur(kernel_size=5, angle=45.0, direction=0.5, p=aug.motion_blur)
        )
    if aug.sharpness > 0:
        steps.append(K.RandomSharpness((0.5, 1.5), p=aug.sharpness))
    if aug.color_jitter > 0:
        s = aug.jitter_strength
        steps.append(K.ColorJiggle(brightness=s, contrast=s, saturation=s, p=aug.color_jitter))
    if aug.grayscale > 0:
        steps.append(K.RandomGrayscale(p=aug.grayscale))
    return steps


def aerial_config(aug: AugmentConfig | None = None) -> AugmentConfig:
    """``aug`` (default: the baseline) with each aerial probability it leaves at 0 set from :data:`AERIAL_DEFAULTS`."""
    base = aug if aug is not None else AugmentConfig()
    updates: dict[str, Any] = {
        name: p for name, p in AERIAL_DEFAULTS.items() if getattr(base, name) == 0
    }
    return dataclasses.replace(base, **updates)
