"""ACP-VPReID (iii): motion-aware gating from frame differences.

Paper (AG-VPReID 2025 challenge, Appendix A.3): "temporal differences between frames are
used to emphasize dynamic content and suppress static noise". No internals are given; this
follows method card 5.4 (item 4) with one documented change:

- motion ``m_t = |x_t − x_{t−1}|`` per channel, ``m_1 = m_2`` (zeros for T = 1);
- **change**: instead of LayerNorm(m_t) (scale-invariant in m, so weak and strong motion
  would gate alike) m_t is divided by the clip's mean feature magnitude, ``m̂_t = m_t /
  (mean|x| + ε)``: relative motion that keeps its size and is exactly 0 for a static clip;
- gate ``g_t = σ(W₂ GELU(W₁ m̂_t))`` ∈ (0, 1)^D with **bias-free** layers, so a static clip
  gives exactly :data:`STATIC_GATE` = 0.5 everywhere;
- output ``x_t ⊙ (1 + tanh(a)·(2 g_t − 1))`` with a learnable scalar ``a`` (init 0): the
  identity at init, and for any ``a`` the identity on a static clip (``2·0.5 − 1 = 0``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

STATIC_GATE = 0.5
"""The gate value of a clip whose frames are all equal."""


class MotionGating(nn.Module):
    """Channel gates from frame differences, applied multiplicatively to (B, T, D) features.

    Args:
        dim: feature width D.
        hidden: gate MLP width (default ``dim // 4``).
        init_strength: initial raw strength ``a`` (0 = identity at init).
        eps: stabiliser of the magnitude normalisation.
    """

    def __init__(
        self, dim: int, hidden: int | None = None, init_strength: float = 0.0, eps: float = 1e-6
    ) -> None:
        super().__init__()
        width = hidden if hidden is not None else max(1, dim // 4)
        self.fc1 = nn.Linear(dim, width, bias=False)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(width, dim, bias=False)
        self.strength = nn.Parameter(torch.tensor(float(init_strength)))
        self.eps = eps

    @staticmethod
    def motion(frames: Tensor) -> Tensor:
        """|x_t − x_{t−1}| (B, T, D), the first frame taking the second's difference."""
        if frames.shape[1] < 2:
            return torch.zeros_like(frames)
        diff = (frames[:, 1:] - frames[:, :-1]).abs()
        return torch.cat([diff[:, :1], diff], dim=1)

    def gate(self, frames: Tensor) -> Tensor:
        """Gates g (B, T, D) in (0, 1); exactly ``STATIC_GATE`` for a static clip."""
        scale = frames.abs().mean(dim=(1, 2), keepdim=True) + self.eps
        m = self.motion(frames) / scale
        g: Tensor = torch.sigmoid(self.fc2(self.act(self.fc1(m))))
        return g

    def forward(self, frames: Tensor) -> Tensor:
        """(B, T, D) → (B, T, D) = x ⊙ (1 + tanh(a)·(2g − 1))."""
        g = self.gate(frames)
        return frames * (1 + torch.tanh(self.strength) * (2 * g - 1))
