"""OSNet (Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification", ICCV 2019).

Written from the paper's description (timm has no OSNet):

- stem: 7×7 conv stride 2 (64 ch at x1.0) + BN + ReLU, 3×3 max-pool stride 2;
- ``conv2`` / ``conv3`` / ``conv4``: two omni-scale bottlenecks each (256 / 384 / 512 ch);
  ``conv2`` and ``conv3`` end with a transition (1×1 conv + BN + ReLU, 2×2 average pool);
- ``conv5``: 1×1 conv + BN + ReLU (512 ch).

An omni-scale bottleneck reduces channels by 4 with a 1×1 conv, runs ``T=4`` streams of
1..4 stacked *lite 3×3* layers (pointwise 1×1 then depthwise 3×3, BN, ReLU), so stream ``t``
has a receptive field of (2t+1)×(2t+1); a *unified aggregation gate* (GAP → FC → ReLU → FC →
sigmoid, one module whose weights are shared by all streams) rescales each stream's
channels, the gated streams are summed, a 1×1 conv + BN restores the width and a residual
(projected with 1×1 conv + BN when widths differ) is added before the final ReLU.

The backbone returns the ``conv5`` map (B, 512·width, H/16, W/16); the paper's final
512→512 FC embedding and the classifier belong to heads.
"""

from __future__ import annotations

import logging

from torch import Tensor, nn

from agreid_models.backbones.pretrained import load_local_weights

log = logging.getLogger("agreid.models")

OSNET_CHANNELS: tuple[int, int, int, int] = (64, 256, 384, 512)
"""Stem and stage widths of OSNet x1.0."""


class ConvBNReLU(nn.Sequential):
    """Convolution + BatchNorm (+ ReLU)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        relu: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class LiteConv3x3(nn.Module):
    """Lite 3×3: pointwise 1×1 conv, depthwise 3×3 conv, BN, ReLU."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.depthwise = nn.Conv2d(out_ch, out_ch, 3, 1, 1, groups=out_ch, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the factorised 3×3 convolution."""
        out: Tensor = self.relu(self.bn(self.depthwise(self.pointwise(x))))
        return out


class AggregationGate(nn.Module):
    """Channel gate: GAP → FC(c→c/r) → ReLU → FC(c/r→c) → sigmoid, multiplied into ``x``."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        """``x`` scaled by its channel-wise gate values."""
        gate: Tensor = self.sigmoid(self.fc2(self.relu(self.fc1(self.pool(x)))))
        return x * gate


class OSBlock(nn.Module):
    """Omni-scale residual bottleneck with ``num_streams`` lite-3×3 streams and a shared gate."""

    def __init__(
        self, in_ch: int, out_ch: int, num_streams: int = 4, bottleneck_reduction: int = 4
    ) -> None:
        super().__init__()
        mid = max(out_ch // bottleneck_reduction, 1)
        self.reduce = ConvBNReLU(in_ch, mid, 1)
        self.streams = nn.ModuleList(
            nn.Sequential(*[LiteConv3x3(mid, mid) for _ in range(t)])
            for t in range(1, num_streams + 1)
        )
        self.gate = AggregationGate(mid)
        self.expand = ConvBNReLU(mid, out_ch, 1, relu=False)
        self.shortcut: nn.Module = (
            ConvBNReLU(in_ch, out_ch, 1, relu=False) if in_ch != out_ch else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Residual omni-scale transform of ``x``."""
        reduced = self.reduce(x)
        fused: Tensor = self.gate(self.streams[0](reduced))
        for stream in self.streams[1:]:
            fused = fused + self.gate(stream(reduced))  # one gate, shared by every stream
        out: Tensor = self.relu(self.expand(fused) + self.shortcut(x))
        return out


def _stage(in_ch: int, out_ch: int, blocks: int, transition: bool) -> nn.Sequential:
    layers: list[nn.Module] = [OSBlock(in_ch if i == 0 else out_ch, out_ch) for i in range(blocks)]
    if transition:
        layers += [ConvBNReLU(out_ch, out_ch, 1), nn.AvgPool2d(2, stride=2)]
    return nn.Sequential(*layers)


class OSNetBackbone(nn.Module):
    """OSNet trunk returning the ``conv5`` feature map (B, ``feature_dim``, H/16, W/16).

    Args:
        width: width multiplier (1.0 = OSNet x1.0 with 512 output channels; 0.25 for tests).
        blocks: omni-scale bottlenecks in ``conv2``–``conv4`` (2, 2, 2 in the paper).
        pretrained: no hub weights exist; without ``weights`` this logs a warning and uses
            random initialisation.
        weights: local ``.pth`` / ``.safetensors`` state dict with this module's key names.
    """

    def __init__(
        self,
        width: float = 1.0,
        blocks: tuple[int, int, int] = (2, 2, 2),
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        c0, c1, c2, c3 = (max(int(c * width), 1) for c in OSNET_CHANNELS)
        self.conv1 = ConvBNReLU(3, c0, 7, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = _stage(c0, c1, blocks[0], transition=True)
        self.conv3 = _stage(c1, c2, blocks[1], transition=True)
        self.conv4 = _stage(c2, c3, blocks[2], transition=False)
        self.conv5 = ConvBNReLU(c3, c3, 1)
        self.feature_dim: int = c3
        self._init_weights()
        if weights:
            load_local_weights(self, weights)
        elif pretrained:
            log.warning(
                "no hub weights exist for osnet (width %s); using random initialisation. "
                "Pass a local file with weights=PATH to use your own.",
                width,
            )

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Feature map of ``x``."""
        x = self.maxpool(self.conv1(x))
        x = self.conv4(self.conv3(self.conv2(x)))
        out: Tensor = self.conv5(x)
        return out
