"""Asymmetric loss, ASL (Ridnik, Ben-Baruch et al., ICCV'21; card L-ASL).

Single-label (identity) form, p = softmax(x), q = (1 − ε)·onehot + ε/K::

    w_y = (1 − p_y)^γ₊,   w_j = p_j^γ₋ (j ≠ y),    L = mean_b −Σ_j q_j · w_j · log p_j

Multi-label form, p = σ(x), shifted negative probability p_m = max(p − clip, 0)::

    L = −Σ_{b,c} [ t·(1 − p)^γ₊·log p + (1 − t)·p_m^γ₋·log(1 − p_m) ]   (logs clamped at ``eps``)

The focusing weights w are differentiated through by default (as the paper's formula reads);
``detach_focal_weight=True`` treats them as constants.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_class_range, check_labels

Reduction = Literal["mean", "sum"]


def _power(base: Tensor, exponent: float) -> Tensor:
    """``base ** exponent`` with x^0 = 1 exactly (no 0·inf in the gradient at base = 0)."""
    if exponent == 0:
        return torch.ones_like(base)
    return base.pow(exponent)


class AsymmetricLossSingleLabel(nn.Module):
    """Single-label ASL on logits (B, K): L = mean_b −Σ_j q_j w_j log p_j, p = softmax.

    w_y = (1−p_y)^γ₊ for the target, w_j = p_j^γ₋ otherwise; q = (1−ε)·onehot + ε/K.
    ``reduction="sum"`` sums over the batch instead of averaging.
    """

    def __init__(
        self,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        epsilon: float = 0.1,
        reduction: Reduction = "mean",
        detach_focal_weight: bool = False,
    ) -> None:
        super().__init__()
        if gamma_pos < 0 or gamma_neg < 0:
            raise ValueError(f"gammas must be >= 0, got {gamma_pos}, {gamma_neg}")
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.gamma_pos = float(gamma_pos)
        self.gamma_neg = float(gamma_neg)
        self.epsilon = float(epsilon)
        self.reduction: Reduction = reduction
        self.detach_focal_weight = detach_focal_weight

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of logits ``inputs`` (B, K) against labels ``targets`` (B,)."""
        check_labels(inputs, targets, name=type(self).__name__)
        k = inputs.shape[1]
        check_class_range(targets, k, name=type(self).__name__)
        log_p = F.log_softmax(inputs, dim=1)
        p = log_p.exp()
        if self.detach_focal_weight:
            p = p.detach()
        onehot = F.one_hot(targets, num_classes=k).to(torch.bool)
        weight = torch.where(onehot, _power(1.0 - p, self.gamma_pos), _power(p, self.gamma_neg))
        q = onehot.to(log_p.dtype) * (1.0 - self.epsilon) + self.epsilon / k
        per_row = -(q * weight * log_p).sum(dim=1)
        return per_row.mean() if self.reduction == "mean" else per_row.sum()

    def extra_repr(self) -> str:
        return (
            f"gamma_pos={self.gamma_pos}, gamma_neg={self.gamma_neg}, epsilon={self.epsilon}, "
            f"reduction={self.reduction!r}"
        )


class AsymmetricLossMultiLabel(nn.Module):
    """Multi-label ASL on logits (B, C) and binary targets (B, C).

    L = −Σ [t (1−p)^γ₊ log p + (1−t) p_m^γ₋ log(1−p_m)], p = σ(x), p_m = max(p − clip, 0).
    ``reduction="sum"`` (ASL's default) sums over all entries; ``"mean"`` divides that sum by B.
    """

    def __init__(
        self,
        gamma_neg: float = 4.0,
        gamma_pos: float = 1.0,
        clip: float = 0.05,
        eps: float = 1e-8,
        reduction: Reduction = "sum",
        detach_focal_weight: bool = False,
    ) -> None:
        super().__init__()
        if gamma_pos < 0 or gamma_neg < 0:
            raise ValueError(f"gammas must be >= 0, got {gamma_pos}, {gamma_neg}")
        if not 0.0 <= clip < 1.0:
            raise ValueError(f"clip must lie in [0, 1), got {clip}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.gamma_neg = float(gamma_neg)
        self.gamma_pos = float(gamma_pos)
        self.clip = float(clip)
        self.eps = float(eps)
        self.reduction: Reduction = reduction
        self.detach_focal_weight = detach_focal_weight

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of logits ``inputs`` (B, C) against 0/1 targets (B, C)."""
        if inputs.dim() != 2 or targets.shape != inputs.shape:
            raise ValueError(
                f"{type(self).__name__}: inputs and targets must both be (B, C), "
                f"got {tuple(inputs.shape)} and {tuple(targets.shape)}"
            )
        t = targets.to(inputs.dtype)
        p = torch.sigmoid(inputs)
        p_m = (p - self.clip).clamp(min=0.0) if self.clip > 0 else p
        log_pos = p.clamp(min=self.eps).log()
        log_neg = (1.0 - p_m).clamp(min=self.eps).log()
        wp, wm = (p.detach(), p_m.detach()) if self.detach_focal_weight else (p, p_m)
        w_pos = _power(1.0 - wp, self.gamma_pos)
        w_neg = _power(wm, self.gamma_neg)
        loss = -(t * w_pos * log_pos + (1.0 - t) * w_neg * log_neg).sum()
        return loss / inputs.shape[0] if self.reduction == "mean" else loss

    def extra_repr(self) -> str:
        return (
            f"gamma_neg={self.gamma_neg}, gamma_pos={self.gamma_pos}, clip={self.clip}, "
            f"reduction={self.reduction!r}"
        )
