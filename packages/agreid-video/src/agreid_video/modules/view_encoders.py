"""ACP-VPReID (i): view-specific feature encoding (AG-VPReID 2025 challenge, Appendix A.3).

The paper: "tracklets from different views (aerial, ground, wearable) are processed through
dedicated transformation layers". It gives no internals; this follows the design proposal of
method card 5.4 (part T-ACP): one residual bottleneck adapter per view,
``x + A_v(x)`` with ``A_v = Linear(D→D/4) – GELU – Linear(D/4→D)`` and the last layer
zero-initialised (identity at initialisation). Each sample goes through the adapter of its
own view only, so a view's parameters get gradients only from samples of that view.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from agreid_video.modules.views import VIEWS, check_views


class ViewAdapter(nn.Module):
    """Bottleneck MLP ``Linear – GELU – Linear`` (the residual is added by the caller)."""

    def __init__(self, dim: int, hidden: int, zero_init: bool = True) -> None:
        super().__init__()
        self.down = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.up = nn.Linear(hidden, dim)
        if zero_init:
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(…, D) → (…, D)."""
        out: Tensor = self.up(self.act(self.down(x)))
        return out


class ViewSpecificEncoders(nn.Module):
    """One residual adapter per view, routed by a (B,) view-id tensor.

    Args:
        dim: feature width D (768 for CLIP ViT-B/16 tokens).
        num_views: number of views (3: aerial, cctv, wearable).
        hidden: adapter bottleneck width; default ``dim // 4`` (192 for 768).
        zero_init: zero-init each adapter's last layer (identity at init).
    """

    def __init__(
        self,
        dim: int,
        num_views: int = len(VIEWS),
        hidden: int | None = None,
        zero_init: bool = True,
    ) -> None:
        super().__init__()
        self.num_views = num_views
        width = hidden if hidden is not None else max(1, dim // 4)
        self.adapters = nn.ModuleList(
            [ViewAdapter(dim, width, zero_init) for _ in range(num_views)]
        )

    def forward(self, x: Tensor, views: Tensor) -> Tensor:
        """x (B, …, D) (e.g. (B, T, D) or (B, T, N, D)), views (B,) → (B, …, D)."""
        views = check_views(views, x.shape[0], self.num_views)
        delta = torch.zeros_like(x)
        for v, adapter in enumerate(self.adapters):
            idx = (views == v).nonzero().squeeze(1)
            if idx.numel():
                delta = delta.index_copy(0, idx, adapter(x.index_select(0, idx)).to(x.dtype))
        return x + delta
