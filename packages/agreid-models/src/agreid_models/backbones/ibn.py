"""IBN-a ResNet-50/101 built on timm's ResNet (timm ships no IBN-Net).

IBN-a (Pan et al., "Two at Once: Enhancing Learning and Generalization Capacities via
IBN-Net", ECCV 2018): in every bottleneck of ``layer1``–``layer3`` the first BatchNorm
(``bn1``, after the first 1×1 conv) is replaced by :class:`IBN`, which normalises the first
half of the channels with an affine InstanceNorm and the rest with BatchNorm. The stem and
``layer4`` keep plain BatchNorm, so the deep features stay discriminative.

The submodules are named ``IN`` and ``BN`` and the trunk uses torchvision/timm ResNet key
names, so IBN-Net's released ``resnet50_ibn_a`` / ``resnet101_ibn_a`` state dicts load with
``weights=PATH`` (their ``fc.*`` keys are ignored).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor, nn

from agreid_models.backbones.pretrained import create_timm, load_local_weights
from agreid_models.backbones.resnet import set_last_stride

log = logging.getLogger("agreid.models")

IBN_STAGES: tuple[str, ...] = ("layer1", "layer2", "layer3")
"""The stages whose bottlenecks get an IBN layer in IBN-a."""


class IBN(nn.Module):
    """Instance-batch normalisation: InstanceNorm(affine) on the first ``ratio`` of channels.

    Args:
        channels: number of input channels.
        ratio: fraction of channels normalised by InstanceNorm (0.5 in IBN-a).
    """

    def __init__(self, channels: int, ratio: float = 0.5) -> None:
        super().__init__()
        self.num_instance = int(channels * ratio)
        if not 0 < self.num_instance < channels:
            raise ValueError(f"IBN ratio {ratio} leaves an empty half of {channels} channels")
        self.IN = nn.InstanceNorm2d(self.num_instance, affine=True)
        self.BN = nn.BatchNorm2d(channels - self.num_instance)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise the two channel groups separately and concatenate them back."""
        first, rest = torch.split(x, [self.num_instance, x.shape[1] - self.num_instance], dim=1)
        return torch.cat([self.IN(first.contiguous()), self.BN(rest.contiguous())], dim=1)


def convert_to_ibn_a(resnet: Any, ratio: float = 0.5) -> None:
    """Replace ``bn1`` of every block in ``layer1``–``layer3`` of a timm ResNet by :class:`IBN`."""
    for stage in IBN_STAGES:
        for block in getattr(resnet, stage):
            bn = block.bn1
            if not isinstance(bn, nn.BatchNorm2d):
                raise TypeError(f"{stage} block has bn1 of type {type(bn).__name__}")
            block.bn1 = IBN(bn.num_features, ratio)


class ResNetIBNBackbone(nn.Module):
    """IBN-a ResNet trunk returning the final feature map (B, 2048, H/16, W/16) at last stride 1.

    Args:
        depth: 50 or 101 (bottleneck ResNets; layers (3,4,6,3) / (3,4,23,3)).
        last_stride: stride of ``layer4``'s first block (1 for ReID, 2 as in ImageNet).
        pretrained: timm has no IBN-a weights; without ``weights`` this logs a warning and
            uses random initialisation.
        weights: local ``.pth`` / ``.safetensors`` state dict (e.g. IBN-Net's release).
        layers: blocks per stage, overriding the depth's (e.g. ``(1, 1, 1, 1)`` for tests).
    """

    def __init__(
        self,
        depth: int = 50,
        last_stride: int = 1,
        pretrained: bool = False,
        weights: str | None = None,
        layers: tuple[int, int, int, int] | None = None,
    ) -> None:
        super().__init__()
        if depth not in (50, 101):
            raise ValueError(f"IBN-a ResNet depth must be 50 or 101, got {depth}")
        kwargs: dict[str, Any] = {"num_classes": 0, "global_pool": ""}
        if layers is not None:
            kwargs["layers"] = tuple(layers)
        self.body: Any = create_timm(f"resnet{depth}", False, None, **kwargs)
        convert_to_ibn_a(self.body)
        set_last_stride(self.body, last_stride)
        self.feature_dim: int = int(self.body.num_features)
        if weights:
            load_local_weights(self.body, weights)
        elif pretrained:
            log.warning(
                "no hub weights exist for resnet%d-ibn-a; using random initialisation. "
                "Pass a local file with weights=PATH (e.g. IBN-Net's resnet%d_ibn_a).",
                depth,
                depth,
            )

    def forward(self, x: Tensor) -> Tensor:
        """Feature map of ``x``."""
        out: Tensor = self.body.forward_features(x)
        return out
