"""ACP-VPReID (v): learnable view prompts + a cross-view transformer over the frames.

Paper (AG-VPReID 2025 challenge, Appendix A.3): "learnable view embeddings and cross-view
transformers guide feature aggregation across time and perspective"; 12 heads. Internals
follow method card 5.4 (item 5), a design proposal: the sample's view prompt tokens
(``num_prompts`` per view) are prepended to the per-frame features [e_v; x_1 … x_T], plus a
learnable frame-position embedding, and an ``nn.TransformerEncoder`` (pre-norm, GELU, MLP 4·D,
dropout 0.3 in ACP) runs over them. The sequence feature is
``mean_t(x_t) + W_o · out[first prompt]`` with ``W_o`` zero-initialised, so at init it
equals the temporal average (TF-CLIP's pooling).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from agreid_video.modules.views import VIEWS, check_views


class ViewPromptTransformer(nn.Module):
    """View prompts prepended to frame features, cross-view transformer, sequence feature.

    Args:
        dim: feature width D.
        num_views: views V (3).
        num_prompts: prompt tokens per view.
        heads: attention heads (ACP: 12).
        num_layers: encoder layers.
        dropout: encoder dropout (ACP: 0.3).
        max_frames: longest clip (size of the frame-position table).
    """

    def __init__(
        self,
        dim: int,
        num_views: int = len(VIEWS),
        num_prompts: int = 1,
        heads: int = 8,
        num_layers: int = 1,
        dropout: float = 0.3,
        max_frames: int = 8,
    ) -> None:
        super().__init__()
        self.num_views = num_views
        self.num_prompts = num_prompts
        self.prompts = nn.Parameter(torch.zeros(num_views, num_prompts, dim))
        nn.init.trunc_normal_(self.prompts, std=0.02)
        self.frame_pos = nn.Parameter(torch.zeros(max_frames, dim))
        nn.init.trunc_normal_(self.frame_pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim,
            heads,
            dim_feedforward=4 * dim,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False
        )
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward_tokens(self, frames: Tensor, views: Tensor) -> Tensor:
        """frames (B, T, D), views (B,) → encoder output (B, P + T, D), prompts first."""
        b, t, _ = frames.shape
        if t > self.frame_pos.shape[0]:
            raise ValueError(f"{t} frames > max_frames={self.frame_pos.shape[0]}")
        views = check_views(views, b, self.num_views)
        prompts = self.prompts[views].to(frames.dtype)  # (B, P, D)
        x = torch.cat([prompts, frames + self.frame_pos[:t].to(frames.dtype)], dim=1)
        out: Tensor = self.encoder(x)
        return out

    def forward(self, frames: Tensor, views: Tensor) -> Tensor:
        """frames (B, T, D), views (B,) → sequence feature (B, D)."""
        tokens = self.forward_tokens(frames, views)
        out: Tensor = frames.mean(dim=1) + self.out(tokens[:, 0])
        return out
