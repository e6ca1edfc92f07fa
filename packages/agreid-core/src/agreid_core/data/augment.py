"""Batch-wise augmentation on the tensor's device (kornia).

Train: horizontal flip → zero-pad + random crop back to size → [aerial steps] → normalise →
random erasing.
Erasing runs after normalisation with value 0, i.e. it fills with the dataset mean, as the
bag-of-tricks baseline does. Test: normalisation only. Video clips: the same steps with one
random draw per clip (:func:`build_clip_augmentation`).
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import Tensor, nn

from agreid_core.config import AugmentConfig, InputConfig
from agreid_core.data.aerial_augment import aerial_steps


class Normalize(nn.Module):
    """uint8 or [0,1] float images → (x − mean) / std, channel-wise."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        """Normalise a (B, C, H, W) batch."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images
        return (x - self.get_buffer("mean")) / self.get_buffer("std")


def _train_steps(aug: AugmentConfig, inp: InputConfig, normalize: nn.Module) -> list[nn.Module]:
    """The train steps for [0, 1] float images: geometry, aerial steps, ``normalize``, erasing."""
    steps: list[nn.Module] = []
    if aug.flip > 0:
        steps.append(K.RandomHorizontalFlip(p=aug.flip))
    if aug.pad > 0:
        steps.append(K.RandomCrop((inp.height, inp.width), padding=aug.pad, fill=0.0))
    steps.extend(aerial_steps(aug))
    steps.append(normalize)
    if aug.random_erasing > 0:
        steps.append(K.RandomErasing(p=aug.random_erasing, value=0.0))
    return steps


def build_train_augmentation(aug: AugmentConfig, inp: InputConfig) -> nn.Module:
    """The train-time pipeline for uint8 (B, 3, H, W) batches; returns normalised floats.

    Aerial steps (:mod:`agreid_core.data.aerial_augment`) run after flip/crop and before
    normalisation when their probabilities are > 0.
    """
    to_unit = Normalize((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # uint8 → [0, 1]
    return nn.Sequential(to_unit, *_train_steps(aug, inp, Normalize(inp.mean, inp.std)))


class ClipAugmentation(nn.Module):
    """The train pipeline for (B, T, C, H, W) clips: one random draw per clip, shared by its frames."""

    def __init__(self, aug: AugmentConfig, inp: InputConfig) -> None:
        super().__init__()
        self.to_unit = Normalize((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        normalize = K.Normalize(mean=torch.tensor(inp.mean), std=torch.tensor(inp.std))
        self.video = K.VideoSequential(
            *_train_steps(aug, inp, normalize), data_format="BTCHW", same_on_frame=True
        )

    def forward(self, clips: Tensor) -> Tensor:
        """Augment and normalise a uint8 or [0, 1] float clip batch."""
        b, t = clips.shape[:2]
        x = self.to_unit(clips.flatten(0, 1)).unflatten(0, (b, t))
        out: Tensor = self.video(x)
        return out


def build_clip_augmentation(aug: AugmentConfig, inp: InputConfig) -> nn.Module:
    """The train-time pipeline for video: :func:`build_train_augmentation`'s steps, clip-consistent."""
    return ClipAugmentation(aug, inp)


def build_test_transform(inp: InputConfig) -> nn.Module:
    """The test-time pipeline: normalisation only."""
    return Normalize(inp.mean, inp.std)
