"""Pairwise circle loss (Sun et al., CVPR'20; card L-CIR), as layumi trains it.

On L2-normalised features f̂, over all pairs i < j of the batch: s_p = f̂_i·f̂_j for same-identity
pairs, s_n for different-identity pairs. With margin m and scale γ::

    α_p = [1 + m − s_p]₊,  α_n = [s_n + m]₊          (detached)
    Δ_p = 1 − m,           Δ_n = m
    L = softplus( LSE_n(γ α_n (s_n − Δ_n)) + LSE_p(−γ α_p (s_p − Δ_p)) )
    normalize_by_batch: L / B   (layumi's ``criterion_circle(...) / batch_size``)

A batch without any positive or any negative pair gives 0 (the limit of the formula: LSE over an
empty set is −∞ and softplus(−∞) = 0), attached to the graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_labels, zero_loss


def pair_similarities(features: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Cosine similarities of the pairs i < j: ``(s_p, s_n)`` for same / different labels."""
    f = F.normalize(features, dim=1)
    sim = f @ f.t()
    i, j = torch.triu_indices(f.shape[0], f.shape[0], offset=1, device=f.device)
    s = sim[i, j]
    same = targets[i] == targets[j]
    return s[same], s[~same]


def circle_loss(s_p: Tensor, s_n: Tensor, gamma: float, margin: float) -> Tensor:
    """softplus(LSE(γ α_n (s_n − m)) + LSE(−γ α_p (s_p − (1 − m)))), α's detached."""
    alpha_p = (1.0 + margin - s_p.detach()).clamp(min=0.0)
    alpha_n = (s_n.detach() + margin).clamp(min=0.0)
    logit_p = -gamma * alpha_p * (s_p - (1.0 - margin))
    logit_n = gamma * alpha_n * (s_n - margin)
    return F.softplus(torch.logsumexp(logit_n, dim=0) + torch.logsumexp(logit_p, dim=0))


class PairwiseCircleLoss(nn.Module):
    """Pairwise circle loss over all pairs i<j on L2-normalised features (Sun et al. CVPR'20).

    L = softplus(LSE_n(γ α_n (s_n − m)) + LSE_p(−γ α_p (s_p − 1 + m))), α_p = [1+m−s_p]₊,
    α_n = [s_n+m]₊ detached; divided by the batch size B when ``normalize_by_batch``.
    """

    def __init__(
        self, gamma: float = 32.0, margin: float = 0.25, normalize_by_batch: bool = True
    ) -> None:
        super().__init__()
        if gamma <= 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        self.gamma = float(gamma)
        self.margin = float(margin)
        self.normalize_by_batch = normalize_by_batch

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of features ``inputs`` (B, D) (normalised here) with labels (B,)."""
        check_labels(inputs, targets, name=type(self).__name__)
        s_p, s_n = pair_similarities(inputs, targets)
        if s_p.numel() == 0 or s_n.numel() == 0:
            return zero_loss(inputs)
        loss = circle_loss(s_p, s_n, self.gamma, self.margin)
        if self.normalize_by_batch:
            loss = loss / inputs.shape[0]
        return loss

    def extra_repr(self) -> str:
        return (
            f"gamma={self.gamma}, margin={self.margin}, "
            f"normalize_by_batch={self.normalize_by_batch}"
        )
