"""TF-CLIP's Temporal Memory Diffusion (TMD) (Yu et al., AAAI 2024).

Data flow as read from ``AsuradaYuci/TF-CLIP`` (``Temporal_Memory_Difusion`` /
``CrossFramelAttentionBlock``; ``peers.md`` §6), one block, width 768, 12 heads:

1. Temporal memory construction (TMC): each frame's token mean (B, T, C) goes through
   ``message_fc`` (Linear); the T message tokens exchange information by self-attention
   across frames (pre-norm, residual) → one memory ("message") token per frame.
2. Memory diffusion (MD): each frame's message token is appended to that frame's tokens
   (1 + N + 1) and a pre-norm transformer block (attention + MLP) runs over them, so the
   cross-frame memory diffuses into every token; the message token is then dropped.

TF-CLIP feeds ``image_features.detach()``: with ``detach_input=True`` (default) no gradient
flows from TMD back into the backbone. Frame-level feature = token mean (B, T, C); temporal
feature = frame mean (B, C) (:meth:`TemporalMemoryDiffusion.pool`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TemporalMemoryDiffusion(nn.Module):
    """Cross-frame message tokens diffused into every frame's tokens.

    Args:
        dim: token width (768 for CLIP ViT-B/16).
        heads: attention heads (TF-CLIP: 12).
        mlp_ratio: MLP hidden ratio of the diffusion block.
        dropout: attention dropout.
        detach_input: detach the input tokens (TF-CLIP does).
    """

    def __init__(
        self,
        dim: int = 768,
        heads: int = 12,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        detach_input: bool = True,
    ) -> None:
        super().__init__()
        self.detach_input = detach_input
        self.message_fc = nn.Linear(dim, dim)
        self.message_norm = nn.LayerNorm(dim)
        self.message_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def messages(self, tokens: Tensor) -> Tensor:
        """TMC: tokens (B, T, L, C) → one cross-frame memory token per frame (B, T, C)."""
        msg = self.message_fc(tokens.mean(dim=2))
        q = self.message_norm(msg)
        out: Tensor = msg + self.message_attn(q, q, q, need_weights=False)[0]
        return out

    def forward(self, tokens: Tensor) -> Tensor:
        """Frame tokens (B, T, L, C) → diffused frame tokens (B, T, L, C)."""
        if self.detach_input:
            tokens = tokens.detach()
        b, t, length, c = tokens.shape
        msg = self.messages(tokens)
        x = torch.cat([tokens, msg.unsqueeze(2)], dim=2).reshape(b * t, length + 1, c)
        q = self.norm1(x)
        x = x + self.attn(q, q, q, need_weights=False)[0]
        x = x + self.mlp(self.norm2(x))
        out: Tensor = x[:, :length].reshape(b, t, length, c)
        return out

    @staticmethod
    def pool(tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Diffused tokens (B, T, L, C) → frame features (B, T, C) and clip feature (B, C)."""
        frames = tokens.mean(dim=2)
        return frames, frames.mean(dim=1)
