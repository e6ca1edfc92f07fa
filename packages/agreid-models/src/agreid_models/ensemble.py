"""Feature-level fusion of separately trained models (card E-ENS; BENTO and MFE).

:class:`FusedEnsemble` wraps trained members and returns as its ``embedding`` the
concatenation ``[√w₁·f̂₁, …, √w_M·f̂_M]`` of the L2-normalised member embeddings f̂ᵢ. For two
images with fused features F and G::

    F·G = Σᵢ wᵢ cos(fᵢ, gᵢ),      ‖F‖² = ‖G‖² = Σᵢ wᵢ,
    cos(F, G) = Σᵢ wᵢ cos(fᵢ, gᵢ) / Σᵢ wᵢ

so the cosine distance of the fused features ranks every gallery exactly as the (weighted)
sum, or mean, of the members' cosine similarities (MFE: "sum of the three cosine scores";
BENTO: "the models averaged"). Equal weights give the plain mean.

Members may expect different input normalisations (TransReID: mean = std = 0.5). With
``input_stats`` the ensemble receives images normalised once (the evaluation's
``(mean, std)``) and re-normalises them for each member: ``x' = (x·std + mean − m')/s'``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_core.method import EMBEDDING

#: Per-channel (mean, std) of an input normalisation.
Stats = tuple[tuple[float, float, float], tuple[float, float, float]]


class Renormalize(nn.Module):
    """Turn images normalised with ``source`` (mean, std) into images normalised with ``target``."""

    scale: Tensor
    shift: Tensor

    def __init__(self, source: Stats, target: Stats) -> None:
        super().__init__()
        (m, s), (m2, s2) = source, target
        scale = torch.tensor(s) / torch.tensor(s2)
        shift = (torch.tensor(m) - torch.tensor(m2)) / torch.tensor(s2)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        """``images`` (B, 3, H, W) in the target normalisation."""
        return images * self.scale + self.shift


class FusedEnsemble(nn.Module):
    """Concatenated, weighted, L2-normalised member embeddings (see the module docstring).

    Args:
        members: trained models whose eval-mode ``forward(images, camids)`` has ``embedding``.
        weights: one non-negative weight per member (default all 1); at least one > 0.
        input_stats: optional ``(source, [target per member])`` input normalisations;
            a member whose target equals the source gets its images unchanged.
    """

    def __init__(
        self,
        members: Sequence[nn.Module],
        weights: Sequence[float] | None = None,
        input_stats: tuple[Stats, Sequence[Stats]] | None = None,
    ) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        w = [1.0] * len(members) if weights is None else [float(x) for x in weights]
        if len(w) != len(members):
            raise ValueError(f"{len(w)} weights for {len(members)} members")
        if any(x < 0 for x in w) or not any(x > 0 for x in w):
            raise ValueError(f"weights must be >= 0 with at least one > 0, got {w}")
        self.members = nn.ModuleList(members)
        self.weights = tuple(w)
        adapters: list[nn.Module] = [nn.Identity() for _ in members]
        if input_stats is not None:
            source, targets = input_stats
            if len(targets) != len(members):
                raise ValueError(f"{len(targets)} input normalisations for {len(members)} members")
            adapters = [
                nn.Identity() if tuple(t) == tuple(source) else Renormalize(source, t)
                for t in targets
            ]
        self.adapters = nn.ModuleList(adapters)

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """``{"embedding": (B, Σ Dᵢ)}``: √wᵢ-scaled unit member embeddings, concatenated."""
        parts = []
        for member, adapter, w in zip(self.members, self.adapters, self.weights, strict=True):
            emb = member(adapter(images), camids)[EMBEDDING]
            parts.append(F.normalize(emb.float(), dim=1) * w**0.5)
        return {EMBEDDING: torch.cat(parts, dim=1)}


def fused_similarity(member_embeddings: Sequence[tuple[Tensor, Tensor]]) -> Tensor:
    """Σᵢ cos(qᵢ, gᵢ) for per-member ``(query (Q, Dᵢ), gallery (G, Dᵢ))`` pairs: (Q, G)."""
    if not member_embeddings:
        raise ValueError("no member embeddings")
    total = torch.zeros(())
    for q, g in member_embeddings:
        total = total + F.normalize(q, dim=1) @ F.normalize(g, dim=1).T
    return total
