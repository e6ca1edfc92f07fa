"""Batch-hard triplet loss, with a hard margin or the soft margin (card L-TRI).

For every anchor a of the batch, with Euclidean distances d (sqrt clamped at 1e-12)::

    d_ap = max_{p : y_p = y_a, p ≠ a} d(a, p)        (hardest positive)
    d_an = min_{n : y_n ≠ y_a}        d(a, n)        (hardest negative)
    margin m > 0:        L = mean_a max(0, d_ap − d_an + m)
    soft (m None or 0):  L = mean_a log(1 + exp(d_ap − d_an))

Anchors with no other image of their identity, or with no image of another identity, in the batch
are excluded from the mean. When no anchor is valid (e.g. a single-identity batch) the loss is 0,
still attached to the graph (zero gradients).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_labels, zero_loss

Mining = Literal["batch_hard"]


def euclidean_distances(x: Tensor, y: Tensor) -> Tensor:
    """Pairwise ``sqrt(clamp(‖x_i‖² + ‖y_j‖² − 2 x_i·y_j, min=1e-12))`` of (N, D) and (M, D)."""
    xx = x.pow(2).sum(dim=1, keepdim=True)
    yy = y.pow(2).sum(dim=1, keepdim=True).t()
    return (xx + yy - 2.0 * (x @ y.t())).clamp(min=1e-12).sqrt()


def hardest_pairs(dist: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Batch-hard mining on a square distance matrix.

    Returns ``(d_ap, d_an, valid)``, each (N,); ``valid`` marks anchors that have at least one
    positive (other than themselves) and one negative. Entries of invalid anchors are ±inf.
    """
    same = targets.unsqueeze(0) == targets.unsqueeze(1)
    eye = torch.eye(dist.shape[0], dtype=torch.bool, device=dist.device)
    pos = same & ~eye
    neg = ~same
    d_ap = dist.masked_fill(~pos, float("-inf")).amax(dim=1)
    d_an = dist.masked_fill(~neg, float("inf")).amin(dim=1)
    valid = pos.any(dim=1) & neg.any(dim=1)
    return d_ap, d_an, valid


def batch_hard_triplet(
    features: Tensor, targets: Tensor, margin: float | None, normalize_features: bool = False
) -> Tensor:
    """Batch-hard triplet loss of ``features`` (N, D) with labels (N,); see the module docstring."""
    if normalize_features:
        features = F.normalize(features, dim=1)
    dist = euclidean_distances(features, features)
    d_ap, d_an, valid = hardest_pairs(dist, targets)
    if not bool(valid.any()):
        return zero_loss(features)
    gap = d_ap[valid] - d_an[valid]
    if margin is None or margin == 0:
        return F.softplus(gap).mean()
    return F.relu(gap + margin).mean()


class TripletLoss(nn.Module):
    """Batch-hard triplet: mean_a max(0, d_ap − d_an + m); softplus(d_ap − d_an) if m is 0/None.

    d_ap = hardest positive (excluding the anchor itself), d_an = hardest negative, Euclidean with
    the sqrt clamped at 1e-12; optionally on L2-normalised features. Anchors without a positive or
    a negative in the batch are excluded; with none left the loss is 0 (attached to the graph).
    """

    def __init__(
        self,
        margin: float | None = 0.3,
        normalize_features: bool = False,
        mining: Mining = "batch_hard",
    ) -> None:
        super().__init__()
        if margin is not None and margin < 0:
            raise ValueError(f"margin must be >= 0 or None (soft margin), got {margin}")
        if mining != "batch_hard":
            raise ValueError(f"unknown mining {mining!r}; supported: 'batch_hard'")
        self.margin = margin
        self.normalize_features = normalize_features
        self.mining: Mining = mining

    @property
    def soft(self) -> bool:
        """True when the soft margin log(1 + exp(·)) is used."""
        return self.margin is None or self.margin == 0

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of features ``inputs`` (B, D) with identity labels ``targets`` (B,)."""
        check_labels(inputs, targets, name=type(self).__name__)
        return batch_hard_triplet(inputs, targets, self.margin, self.normalize_features)

    def extra_repr(self) -> str:
        return (
            f"margin={self.margin}, normalize_features={self.normalize_features}, "
            f"mining={self.mining!r}"
        )
