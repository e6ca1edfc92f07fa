"""Center loss (Wen et al. ECCV'16, as in BoT / CTL; card L-CEN).

    L = (1/B) Σ_b ‖f_b − c_{y_b}‖²        (no ½), centers c ∈ R^{K×D} initialised N(0, 1)

The centers are an ``nn.Parameter`` of this module: give them to an optimiser (CTL uses SGD
lr 0.5 with the center gradients rescaled by 1/weight).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from agreid_losses._checks import check_class_range, check_labels


class CenterLoss(nn.Module):
    """Center loss Σ_b ‖f_b − c_{y_b}‖² / B with learnable centers (K, D) initialised N(0, 1)."""

    def __init__(self, num_classes: int, feat_dim: int) -> None:
        super().__init__()
        if num_classes < 1 or feat_dim < 1:
            raise ValueError(
                f"num_classes and feat_dim must be positive, got {num_classes}, {feat_dim}"
            )
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of features ``inputs`` (B, D) with labels ``targets`` (B,)."""
        check_labels(inputs, targets, name=type(self).__name__)
        if inputs.shape[1] != self.feat_dim:
            raise ValueError(f"expected features of dim {self.feat_dim}, got {inputs.shape[1]}")
        check_class_range(targets, self.num_classes, name=type(self).__name__)
        diff = inputs - self.centers[targets]
        return diff.pow(2).sum(dim=1).mean()

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, feat_dim={self.feat_dim}"
