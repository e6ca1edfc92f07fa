"""Spatial attention on CNN feature maps: MFE's attention head and BENTO's attention block.

:class:`SpatialAttention` / :class:`SpatialAttentionHead` (MFE encoder 2, after PSTA,
Wang et al. ICCV 2021): a learned map ``A = σ(score(x))`` of shape (B, 1, H, W) reweights
the feature map before global pooling, ``x ⊙ A`` (or ``x + x ⊙ A`` with ``residual``).
``score`` is one k×k conv C→1, or 1×1 conv C→h → ReLU → k×k conv h→1 when
``hidden_channels`` is given. This is the simple conv→sigmoid form; PSTA's relation-based
SRA gate (relations between all h·w positions) is not implemented here.

:class:`SpatialChannelAttention` (BENTO's "spatial-channel attention" in its CNNs). The
challenge paper's reference for it is unresolved, so this follows CBAM (Woo et al.,
"CBAM: Convolutional Block Attention Module", ECCV 2018) in CBAM's order, channel first:

1. channel gate ``Mc = σ(MLP(avgpool(x)) + MLP(maxpool(x)))``, (B, C, 1, 1), with one
   shared MLP 1×1 conv C→C/r → ReLU → 1×1 conv C/r→C (no biases), r = 16;
2. ``y = x ⊙ Mc``;
3. spatial gate ``Ms = σ(conv_k([mean_c(y); max_c(y)]))``, (B, 1, H, W): a k×k conv (k 7,
   no bias) over the channel-wise mean and max maps, stacked in that order (mean first);
   CBAM's BatchNorm after this conv is left out;
4. ``out = x + γ ⊙ (y ⊙ Ms)`` with a per-channel ``γ`` initialised to 0, so the block is the
   identity at initialisation (the project's rule for added modules); ``residual=False``
   gives CBAM's plain ``out = y ⊙ Ms``.

Placement (after ResNet ``layer2`` and ``layer3``) is a design proposal, see
:func:`attach_spatial_channel_attention`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from agreid_models.heads.mgn import stage_out_channels


class SpatialAttention(nn.Module):
    """Learned spatial attention map (conv → sigmoid) that reweights a feature map.

    ``forward(x)`` returns ``(attended, attention)``: ``x ⊙ A`` (``x + x ⊙ A`` when
    ``residual``) of shape (B, C, H, W) and ``A`` in (0, 1) of shape (B, 1, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int | None = None,
        kernel_size: int = 1,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        pad = kernel_size // 2
        self.residual = residual
        self.score: nn.Module
        if hidden_channels is None:
            self.score = nn.Conv2d(in_channels, 1, kernel_size, padding=pad)
        else:
            self.score = nn.Sequential(
                nn.Conv2d(in_channels, hidden_channels, 1, bias=False),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden_channels, 1, kernel_size, padding=pad),
            )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Reweight ``x`` (B, C, H, W) by its attention map."""
        attention = self.score(x).sigmoid()
        attended = x * attention
        if self.residual:
            attended = x + attended
        return attended, attention


class SpatialAttentionHead(nn.Module):
    """Spatial attention then global pooling: (B, C, H, W) → named outputs.

    Returns ``features`` (B, C) the pooled attended map, ``attention`` (B, 1, H, W) and
    ``attended`` (B, C, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int | None = None,
        kernel_size: int = 1,
        residual: bool = False,
        pool: Literal["avg", "max"] = "avg",
    ) -> None:
        super().__init__()
        self.attention = SpatialAttention(in_channels, hidden_channels, kernel_size, residual)
        self.pool = pool

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Attend, then pool over H and W."""
        attended, attention = self.attention(x)
        pooled = attended.mean(dim=(2, 3)) if self.pool == "avg" else attended.amax(dim=(2, 3))
        return {"features": pooled, "attention": attention, "attended": attended}


class SpatialChannelAttention(nn.Module):
    """CBAM-style channel-then-spatial attention block (see the module docstring).

    ``forward(x)`` returns the refined map (B, C, H, W); :meth:`attend` also returns the
    channel gate (B, C, 1, 1) and the spatial gate (B, 1, H, W).
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        kernel_size: int = 7,
        residual: bool = True,
        zero_init: bool = True,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.residual = residual
        self.gamma: nn.Parameter | None = None
        if residual:
            init = 0.0 if zero_init else 1.0
            self.gamma = nn.Parameter(torch.full((1, channels, 1, 1), init))

    def attend(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(out, channel_gate, spatial_gate)`` for ``x`` (B, C, H, W)."""
        avg = x.mean(dim=(2, 3), keepdim=True)
        mx = x.amax(dim=(2, 3), keepdim=True)
        channel_gate = (self.mlp(avg) + self.mlp(mx)).sigmoid()
        y = x * channel_gate
        pooled = torch.cat([y.mean(dim=1, keepdim=True), y.amax(dim=1, keepdim=True)], dim=1)
        spatial_gate = self.spatial(pooled).sigmoid()
        refined = y * spatial_gate
        out = x + self.gamma * refined if self.gamma is not None else refined
        return out, channel_gate, spatial_gate

    def forward(self, x: Tensor) -> Tensor:
        """The refined feature map."""
        return self.attend(x)[0]


def attach_spatial_channel_attention(
    resnet: Any,
    after: Sequence[str] = ("layer2", "layer3"),
    reduction: int = 16,
    kernel_size: int = 7,
) -> dict[str, SpatialChannelAttention]:
    """Insert a :class:`SpatialChannelAttention` after each named stage of ``resnet``.

    Each stage ``name`` becomes ``nn.Sequential(stage, block)``, so load pretrained weights
    before attaching (the stage's parameter names gain a ``0.`` prefix). With the default
    zero-initialised ``γ`` the network's output is unchanged at first. Returns the blocks.
    """
    blocks: dict[str, SpatialChannelAttention] = {}
    for name in after:
        stage = getattr(resnet, name)
        block = SpatialChannelAttention(stage_out_channels(stage), reduction, kernel_size)
        setattr(resnet, name, nn.Sequential(stage, block))
        blocks[name] = block
    return blocks
