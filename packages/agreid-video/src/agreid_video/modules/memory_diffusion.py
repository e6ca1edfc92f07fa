"""ACP-VPReID (ii): temporal memory diffusion with view-aware memory banks.

Paper (AG-VPReID 2025 challenge, Appendix A.3): "view-aware memory banks that store
long-term temporal features and use gated attention to adaptively retrieve relevant
information". No internals are given; design choices here:

- One learnable bank per view, ``banks`` (V, M, D) with M slots (trained with the model;
  ``load_banks`` may overwrite a bank, e.g. with per-identity mean features as in method
  card 5.4). Each sample reads **its own view's** bank (card 5.4 proposes reading the
  opposite platform's bank; pass ``read_views`` to do that).
- Retrieval: multi-head cross-attention, queries = LayerNorm(frame features) (B, T, D),
  keys/values = the sample's bank (M, D) → r_t.
- Gate: ``g_t = σ(W_g [x_t; r_t] + b_g)`` per channel; diffusion back into the frames:
  ``x_t + s · g_t ⊙ r_t`` with a learnable scalar ``s`` (``init_scale``; 0 makes the module
  the identity at init, as card 5.4's zero-init rule).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from agreid_video.modules.views import VIEWS, check_views


class ViewMemoryDiffusion(nn.Module):
    """Gated cross-attention from frame features into the sample's view memory bank.

    Args:
        dim: feature width D.
        num_slots: memory slots M per view.
        num_views: views V (3).
        heads: attention heads.
        dropout: attention dropout.
        init_scale: initial value of the learnable output scale ``s``.
    """

    def __init__(
        self,
        dim: int,
        num_slots: int = 16,
        num_views: int = len(VIEWS),
        heads: int = 8,
        dropout: float = 0.0,
        init_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.num_views = num_views
        self.banks = nn.Parameter(torch.zeros(num_views, num_slots, dim))
        nn.init.trunc_normal_(self.banks, std=0.02)
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.gate = nn.Linear(2 * dim, dim)
        self.scale = nn.Parameter(torch.tensor(float(init_scale)))

    @torch.no_grad()
    def load_banks(self, view: int, features: Tensor) -> None:
        """Overwrite view ``view``'s bank with (M, D) features."""
        self.banks[view].copy_(features)

    def retrieve(self, frames: Tensor, views: Tensor) -> tuple[Tensor, Tensor]:
        """Read memory r (B, T, D) and gate g (B, T, D) for frames (B, T, D)."""
        bank = self.banks[views].to(frames.dtype)  # (B, M, D)
        r = self.attn(self.norm(frames), bank, bank, need_weights=False)[0]
        g = torch.sigmoid(self.gate(torch.cat([frames, r], dim=-1)))
        return r, g

    def forward(self, frames: Tensor, views: Tensor, read_views: Tensor | None = None) -> Tensor:
        """frames (B, T, D), views (B,) → (B, T, D) = x + s·g⊙r.

        ``read_views`` (B,) overrides which bank each sample reads (default: ``views``).
        """
        views = check_views(views, frames.shape[0], self.num_views)
        if read_views is not None:
            views = check_views(read_views, frames.shape[0], self.num_views)
        r, g = self.retrieve(frames, views)
        return frames + self.scale.to(frames.dtype) * g * r
