"""TF-CLIP's Sequence-Specific Prompt (SSP) module (Yu et al., AAAI 2024).

Data flow as read from ``AsuradaYuci/TF-CLIP`` (``ImageSpecificPrompt``; ``peers.md`` §6):
the CLIP-Memory (one projected feature per identity, 512-d) and the video tokens (the
frame-averaged projected tokens of a clip) each go through LayerNorm + Linear; then
``num_layers`` (2) prompt-generator layers refine the memory: self-attention over the
memory tokens, cross-attention from the memory to the clip's video tokens, and an MLP, each
pre-norm and residual, with ``heads`` (8) heads and dropout 0.1; an output LayerNorm +
Linear gives the sequence-specific prompts.

The module returns ``SSP(mem, video)``; TF-CLIP's residual memory update is
:meth:`SequenceSpecificPrompt.update` (``mem + SSP(mem, video)``), X-TFCLIP's weighted one is
:class:`~agreid_video.modules.memory_fusion.MemoryAlphaFusion`. TF-CLIP's unused ``alpha``
parameter is left out. Direction: the memory queries the video (as in the code), i.e. every
clip gets its own copy of all identity prompts, conditioned on that clip.
"""

from __future__ import annotations

from torch import Tensor, nn


class PromptGeneratorLayer(nn.Module):
    """Pre-norm self-attention (memory) → cross-attention (memory → video) → MLP."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.1, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_cross = nn.LayerNorm(dim)
        self.norm_video = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, memory: Tensor, video: Tensor) -> Tensor:
        """memory (B, K, D), video (B, N, D) → (B, K, D)."""
        q = self.norm_self(memory)
        memory = memory + self.drop(self.self_attn(q, q, q, need_weights=False)[0])
        q = self.norm_cross(memory)
        kv = self.norm_video(video)
        memory = memory + self.drop(self.cross_attn(q, kv, kv, need_weights=False)[0])
        out: Tensor = memory + self.drop(self.mlp(self.norm_mlp(memory)))
        return out


class SequenceSpecificPrompt(nn.Module):
    """Identity memory × clip tokens → sequence-specific identity prompts.

    Args:
        dim: CLIP embedding dim of memory and video tokens (512 for ViT-B/16).
        heads: attention heads (TF-CLIP: 8).
        num_layers: prompt-generator layers (TF-CLIP: 2).
        dropout: attention / MLP dropout (TF-CLIP: 0.1).
    """

    def __init__(self, dim: int = 512, heads: int = 8, num_layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.memory_in = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim))
        self.video_in = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim))
        self.layers = nn.ModuleList(
            [PromptGeneratorLayer(dim, heads, dropout) for _ in range(num_layers)]
        )
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim))

    def forward(self, memory: Tensor, video: Tensor) -> Tensor:
        """SSP(mem, video).

        Args:
            memory: identity memory (K, D), shared by the batch, or per clip (B, K, D).
            video: clip tokens (B, N, D), e.g. projected tokens averaged over frames.

        Returns:
            (B, K, D) sequence-specific prompts (not yet added to the memory).
        """
        if memory.ndim == 2:
            memory = memory.unsqueeze(0).expand(video.shape[0], -1, -1)
        x = self.memory_in(memory)
        v = self.video_in(video)
        for layer in self.layers:
            x = layer(x, v)
        out: Tensor = self.out(x)
        return out

    def update(self, memory: Tensor, video: Tensor) -> Tensor:
        """TF-CLIP's residual update ``mem + SSP(mem, video)`` → (B, K, D)."""
        out: Tensor = memory + self(memory, video)
        return out
