"""X-TFCLIP's learnable weighting of the CLIP identity memory and the SSP output.

X-TFCLIP (AG-VPReID 2025 challenge A.1; ``peers.md`` §6) replaces TF-CLIP's residual
memory update ``mem + SSP(mem, video)`` by ``α·mem + (1 − α)·SSP(mem, video)`` with
``α = σ(a)`` and the raw parameter ``a`` initialised to 0.5 (α ≈ 0.62), so α stays in (0, 1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MemoryAlphaFusion(nn.Module):
    """``σ(a)·memory + (1 − σ(a))·projected`` with a learnable scalar ``a``.

    Args:
        init: initial raw value of ``a`` (X-TFCLIP: 0.5).
    """

    def __init__(self, init: float = 0.5) -> None:
        super().__init__()
        self.raw_alpha = nn.Parameter(torch.tensor(float(init)))

    @property
    def alpha(self) -> Tensor:
        """α = σ(a) ∈ (0, 1)."""
        return torch.sigmoid(self.raw_alpha)

    def forward(self, memory: Tensor, projected: Tensor) -> Tensor:
        """Mix broadcastable tensors, e.g. memory (K, D) with SSP output (B, K, D)."""
        a = self.alpha.to(projected.dtype)
        out: Tensor = a * memory + (1 - a) * projected
        return out
