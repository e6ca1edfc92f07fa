"""ResNet backbones (timm) with the ReID "last stride 1" option.

With ``last_stride=1`` the first block of ``layer4`` keeps stride 1, so a 256×128 input gives
a 16×8 final map instead of 8×4 (Luo et al., "Bag of Tricks", CVPRW 2019).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from agreid_models.backbones.pretrained import create_timm


def set_last_stride(resnet: Any, stride: int) -> None:
    """Set the stride of ``layer4``'s first block (its strided convs and shortcut)."""
    block = resnet.layer4[0]
    for module in block.modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (stride, stride)
        if isinstance(module, nn.AvgPool2d) and module.stride == 2:  # resnet-d shortcuts
            module.stride = stride
            module.kernel_size = stride


class ResNetBackbone(nn.Module):
    """A timm ResNet trunk returning the final feature map (B, C, H', W')."""

    def __init__(
        self,
        depth: int = 50,
        last_stride: int = 1,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        self.body: Any = create_timm(
            f"resnet{depth}", pretrained, weights, num_classes=0, global_pool=""
        )
        set_last_stride(self.body, last_stride)
        self.feature_dim: int = int(self.body.num_features)

    def forward(self, x: Tensor) -> Tensor:
        """Feature map of ``x``."""
        out: Tensor = self.body.forward_features(x)
        return out
