"""Shape checks shared by the losses (private)."""

from __future__ import annotations

import torch
from torch import Tensor


def check_labels(inputs: Tensor, targets: Tensor, *, name: str) -> None:
    """Raise ``ValueError`` unless ``inputs`` is (B, D) and ``targets`` is (B,) integer labels."""
    if inputs.dim() != 2:
        raise ValueError(f"{name}: inputs must be 2-D (B, D), got shape {tuple(inputs.shape)}")
    if targets.dim() != 1 or targets.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"{name}: targets must have shape ({inputs.shape[0]},), got {tuple(targets.shape)}"
        )
    if targets.dtype.is_floating_point or targets.dtype.is_complex or targets.dtype == torch.bool:
        raise ValueError(f"{name}: targets must be integer identity labels, got {targets.dtype}")


def check_class_range(targets: Tensor, num_classes: int, *, name: str) -> None:
    """Raise ``ValueError`` if a label lies outside ``[0, num_classes)``."""
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
        raise ValueError(
            f"{name}: labels must lie in [0, {num_classes}), "
            f"got min {int(targets.min())}, max {int(targets.max())}"
        )


def check_identity_bank_args(
    num_classes: int, feat_dim: int, temperature: float, epsilon: float
) -> None:
    """Raise ``ValueError`` unless a per-identity (K, D) bank loss gets K, D ≥ 1, τ > 0, ε ∈ [0, 1]."""
    if num_classes < 1 or feat_dim < 1:
        raise ValueError(
            f"num_classes and feat_dim must be positive, got {num_classes}, {feat_dim}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")


def zero_loss(inputs: Tensor) -> Tensor:
    """A scalar 0 that stays attached to the graph of ``inputs`` (gradients are zeros)."""
    return inputs.sum() * 0.0
