"""Centroid triplet loss of CTL (Wieczorek et al. 2021; card L-CTL).

The batch must hold P identities × K ≥ 2 images each (any order). For k = 0..K−1::

    q_p = k-th image of identity p (in batch order)
    c_p = mean of identity p's other K − 1 images
    L_k = batch-hard triplet (margin m) on the 2P points [q_1..q_P; c_1..c_P], labels [p; p]
    L   = mean_k L_k
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from agreid_losses._checks import check_labels
from agreid_losses.triplet import batch_hard_triplet


def group_pk(targets: Tensor) -> tuple[Tensor, Tensor]:
    """Indices (P, K) of each identity's images in batch order, and the P labels.

    Raises ``ValueError`` unless every identity has the same number K ≥ 2 of images.
    """
    labels, counts = torch.unique(targets, return_counts=True)
    k = int(counts[0]) if counts.numel() else 0
    if counts.numel() == 0 or bool((counts != k).any()) or k < 2:
        found = dict(zip(labels.tolist(), counts.tolist(), strict=True))
        raise ValueError(
            "CentroidTripletLoss needs a P×K batch: every identity must appear the same number "
            f"K >= 2 of times; images per identity: {found}"
        )
    order = torch.argsort(targets, stable=True)
    return order.view(labels.numel(), k), labels


class CentroidTripletLoss(nn.Module):
    """Centroid triplet loss: mean_k of batch-hard triplet on [k-th queries; other-image centroids].

    For each k, the k-th image of every identity is its query and the mean of that identity's other
    K−1 images its centroid; L_k = batch-hard triplet (margin m, soft if m is 0/None) on the 2P
    points. Requires a P×K batch (ValueError otherwise).
    """

    def __init__(self, margin: float | None = 0.3, normalize_features: bool = False) -> None:
        super().__init__()
        if margin is not None and margin < 0:
            raise ValueError(f"margin must be >= 0 or None (soft margin), got {margin}")
        self.margin = margin
        self.normalize_features = normalize_features

    def per_k(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """The K losses L_k, shape (K,)."""
        check_labels(inputs, targets, name=type(self).__name__)
        index, labels = group_pk(targets)
        emb = inputs[index]  # (P, K, D)
        k = emb.shape[1]
        total = emb.sum(dim=1)
        pair_labels = torch.cat([labels, labels])
        losses = []
        for i in range(k):
            query = emb[:, i]
            centroid = (total - query) / (k - 1)
            points = torch.cat([query, centroid], dim=0)
            losses.append(
                batch_hard_triplet(points, pair_labels, self.margin, self.normalize_features)
            )
        return torch.stack(losses)

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of features ``inputs`` (B = P·K, D) with labels ``targets`` (B,)."""
        return self.per_k(inputs, targets).mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, normalize_features={self.normalize_features}"
