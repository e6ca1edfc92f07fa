"""X-TFCLIP's learnable frame-position embedding combined with the camera embedding.

X-TFCLIP (AG-VPReID 2025 challenge A.1; ``BiDAlab/X-TFCLIP``, ``peers.md`` §6, part T-FPE)
learns ``video_embed`` (SEQ_LEN × 768) and adds it, together with TF-CLIP's camera SIE,
to each frame's CLS token. This module holds both tables and returns or adds the per-frame
vector ``p_t + λ·c_cam`` for (B, T, D) per-frame features; feed :meth:`bias` to
``CLIPImageTower.encode_video(cls_bias=...)`` to add it to the CLS token as X-TFCLIP does.
Unlike the reference code, the embedding is never silently skipped: camera ids are
required when ``num_cameras > 0``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class FrameCameraEmbedding(nn.Module):
    """Learnable frame-position (T_max, D) + camera (num_cameras, D) embeddings.

    Args:
        dim: feature width D.
        max_frames: longest clip (X-TFCLIP: SEQ_LEN = 8).
        num_cameras: cameras; 0 = frame positions only.
        sie_coef: λ, the camera-embedding scale (TF-CLIP/X-TFCLIP: 1.0).
    """

    def __init__(
        self, dim: int, max_frames: int = 8, num_cameras: int = 0, sie_coef: float = 1.0
    ) -> None:
        super().__init__()
        self.frame_embed = nn.Parameter(torch.zeros(max_frames, dim))
        nn.init.trunc_normal_(self.frame_embed, std=0.02)
        self.cam_embed: nn.Parameter | None = None
        if num_cameras > 0:
            self.cam_embed = nn.Parameter(torch.zeros(num_cameras, dim))
            nn.init.trunc_normal_(self.cam_embed, std=0.02)
        self.sie_coef = sie_coef

    def bias(self, num_frames: int, camids: Tensor | None = None, batch: int = 1) -> Tensor:
        """The added vectors (B, T, D).

        ``camids`` is (B,) per clip or (B, T) per frame; without cameras ``batch`` sets B.
        """
        if num_frames > self.frame_embed.shape[0]:
            raise ValueError(f"{num_frames} frames > max_frames={self.frame_embed.shape[0]}")
        out = self.frame_embed[:num_frames].unsqueeze(0)
        if self.cam_embed is None:
            return out.expand(camids.shape[0] if camids is not None else batch, -1, -1)
        if camids is None:
            raise ValueError("this embedding has cameras: pass camids")
        cam = self.cam_embed[camids.long()]
        cam = cam.unsqueeze(1) if camids.ndim == 1 else cam
        return out + self.sie_coef * cam

    def forward(self, frames: Tensor, camids: Tensor | None = None) -> Tensor:
        """Per-frame features (B, T, D) → (B, T, D) with frame position + camera added."""
        return frames + self.bias(frames.shape[1], camids, frames.shape[0]).to(frames.dtype)
