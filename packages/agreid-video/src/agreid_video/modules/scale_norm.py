"""ACP-VPReID (iv): scale-adaptive normalisation conditioned on the camera type (view).

Paper (AG-VPReID 2025 challenge, Appendix A.3): "to handle size discrepancies across
views, we apply scale normalization layers conditioned on camera type". No internals are
given. FiLM-style conditional normalisation: a non-affine LayerNorm (or BatchNorm) followed
by the sample's own view's scale γ_v and shift β_v.

- ``residual=False``: ``y = γ_v ⊙ N(x) + β_v`` with γ_v = 1, β_v = 0 at init.
- ``residual=True`` (method card 5.4, item 3): ``y = x + γ_v ⊙ N(x) + β_v`` with γ_v, β_v
  zero at init (identity at init).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_video.modules.views import VIEWS, check_views

NormKind = Literal["layer", "batch"]


class ScaleAdaptiveNorm(nn.Module):
    """Non-affine normalisation + per-view affine (γ_v, β_v).

    Args:
        dim: feature width D.
        num_views: views V (3).
        norm: ``layer`` (per sample over D) or ``batch`` (BatchNorm over all samples and
            frames, running statistics, no affine).
        residual: add the modulated feature to the input (card 5.4) instead of replacing it.
    """

    def __init__(
        self,
        dim: int,
        num_views: int = len(VIEWS),
        norm: NormKind = "layer",
        residual: bool = False,
    ) -> None:
        super().__init__()
        if norm not in ("layer", "batch"):
            raise ValueError(f"norm must be 'layer' or 'batch', got {norm!r}")
        self.num_views = num_views
        self.norm_kind: NormKind = norm
        self.residual = residual
        self.bn: nn.BatchNorm1d | None = (
            nn.BatchNorm1d(dim, affine=False) if norm == "batch" else None
        )
        self.gamma = nn.Parameter(torch.full((num_views, dim), 0.0 if residual else 1.0))
        self.beta = nn.Parameter(torch.zeros(num_views, dim))

    def normalise(self, x: Tensor) -> Tensor:
        """The non-affine normalisation of (B, …, D)."""
        if self.bn is None:
            return F.layer_norm(x, x.shape[-1:])
        out: Tensor = self.bn(x.reshape(-1, x.shape[-1])).reshape(x.shape)
        return out

    def forward(self, x: Tensor, views: Tensor) -> Tensor:
        """x (B, D) or (B, …, D), views (B,) → same shape."""
        views = check_views(views, x.shape[0], self.num_views)
        shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
        gamma = self.gamma[views].reshape(shape).to(x.dtype)
        beta = self.beta[views].reshape(shape).to(x.dtype)
        y = gamma * self.normalise(x) + beta
        return x + y if self.residual else y
