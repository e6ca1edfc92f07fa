"""HRNet-W18 (Wang et al., TPAMI 2020) via timm, as used by layumi's ``ft_net_hr``.

The backbone returns timm's ``forward_features`` output: the four high-to-low resolution
branches are fused by the classification head (``incre_modules`` → ``downsamp_modules`` →
``final_layer``) into one **2048-channel map at stride 32** (a 256×128 input gives 8×4).
``hrnet_w18_small`` (same class, same 2048-channel head) is the tiny variant.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from agreid_models.backbones.pretrained import create_timm

HRNET_VARIANTS: tuple[str, ...] = ("hrnet_w18", "hrnet_w18_small", "hrnet_w18_small_v2")
"""timm model names accepted as ``variant``."""


class HRNetBackbone(nn.Module):
    """timm HRNet trunk returning the head's fused map (B, 2048, H/32, W/32).

    Args:
        variant: a timm HRNet-W18 name (``hrnet_w18`` for the paper, ``hrnet_w18_small``
            for tests).
        pretrained: timm ImageNet weights when reachable, else random init with a warning.
        weights: local ``.pth`` / ``.safetensors`` file with timm's key names (wins).
    """

    def __init__(
        self,
        variant: str = "hrnet_w18",
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        if variant not in HRNET_VARIANTS:
            raise ValueError(f"unknown HRNet variant {variant!r}; expected one of {HRNET_VARIANTS}")
        self.body: Any = create_timm(variant, pretrained, weights, num_classes=0, global_pool="")
        self.feature_dim: int = int(self.body.num_features)

    def forward(self, x: Tensor) -> Tensor:
        """Fused 2048-channel feature map of ``x``."""
        out: Tensor = self.body.forward_features(x)
        return out
