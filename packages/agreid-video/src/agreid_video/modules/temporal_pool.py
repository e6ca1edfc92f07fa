"""Pooling of per-frame features (B, T, D) into one clip feature (B, D)."""

from __future__ import annotations

import torch
from einops import reduce
from torch import Tensor, nn


class TemporalAveragePooling(nn.Module):
    """The mean over frames (TF-CLIP's temporal average)."""

    def forward(self, frames: Tensor) -> Tensor:
        """(B, T, D) → (B, D)."""
        out: Tensor = reduce(frames, "b t d -> b d", "mean")
        return out


class TemporalAttentionPooling(nn.Module):
    """Attention pooling over frames (X-TFCLIP): ``a_t = softmax_t(w₂ᵀ tanh(W₁ x_t))``.

    Returns ``Σ_t a_t x_t``. The scoring vector ``w₂`` starts at zero, so at initialisation
    the weights are uniform and the module equals :class:`TemporalAveragePooling`.
    """

    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)
        nn.init.zeros_(self.score.weight)

    def weights(self, frames: Tensor) -> Tensor:
        """Attention weights (B, T), summing to one over T."""
        logits: Tensor = self.score(torch.tanh(self.proj(frames))).squeeze(-1)
        return logits.softmax(dim=1)

    def forward(self, frames: Tensor) -> Tensor:
        """(B, T, D) → (B, D)."""
        pooled: Tensor = torch.einsum("bt,btd->bd", self.weights(frames), frames)
        return pooled
