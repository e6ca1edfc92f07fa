"""Batch-wise augmentation on the tensor's device (kornia).

Train: horizontal flip → zero-pad + random crop back to size → normalise → random erasing.
Erasing runs after normalisation with value 0, i.e. it fills with the dataset mean, as the
bag-of-tricks baseline does. Test: normalisation only.
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import Tensor, nn

from agreid_core.config import AugmentConfig, InputConfig


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


def build_train_augmentation(aug: AugmentConfig, inp: InputConfig) -> nn.Module:
    """The train-time pipeline for uint8 (B, 3, H, W) batches; returns normalised floats."""
    steps: list[nn.Module] = [Normalize((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))]  # uint8 → [0, 1]
    if aug.flip > 0:
        steps.append(K.RandomHorizontalFlip(p=aug.flip))
    if aug.pad > 0:
        steps.append(K.RandomCrop((inp.height, inp.width), padding=aug.pad, fill=0.0))
    steps.append(Normalize(inp.mean, inp.std))
    if aug.random_erasing > 0:
        steps.append(K.RandomErasing(p=aug.random_erasing, value=0.0))
    return nn.Sequential(*steps)


def build_test_transform(inp: InputConfig) -> nn.Module:
    """The test-time pipeline: normalisation only."""
    return Normalize(inp.mean, inp.std)
