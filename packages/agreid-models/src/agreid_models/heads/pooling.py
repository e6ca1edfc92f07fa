"""Global pooling of a feature map into a vector."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class GeneralizedMeanPooling(nn.Module):
    """GeM: (mean(x.clamp(eps) ** p)) ** (1/p) with learnable p (Radenović et al. 2018)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) → (B, C)."""
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


class GlobalAveragePooling(nn.Module):
    """(B, C, H, W) → (B, C) by averaging."""

    def forward(self, x: Tensor) -> Tensor:
        """Average over the spatial dims."""
        return x.mean(dim=(2, 3))
