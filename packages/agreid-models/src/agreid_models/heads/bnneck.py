"""BNNeck (Luo et al. 2019): a normalisation layer between the metric and the ID loss.

The triplet loss sees the pooled feature before the neck; the classifier sees the feature
after it. The BatchNorm's bias is frozen at zero and the classifier has no bias.
``norm="in"`` uses InstanceNorm over the feature vector instead (X-TFCLIP's variant).
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn


class InstanceNorm1dVector(nn.Module):
    """InstanceNorm of each feature vector (B, D) over its D entries, no affine."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm1d(1, eps=eps, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise each row to zero mean and unit variance."""
        out: Tensor = self.norm(x.unsqueeze(1)).squeeze(1)
        return out


class BNNeck(nn.Module):
    """Pooled feature → norm → bias-free linear classifier.

    Returns a dict with ``features`` (before the neck), ``neck_features`` (after) and, when
    ``num_classes > 0``, ``logits``.
    """

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        norm: Literal["bn", "in"] = "bn",
        classifier_std: float = 0.001,
    ) -> None:
        super().__init__()
        self.norm: nn.Module
        if norm == "bn":
            bn = nn.BatchNorm1d(in_dim)
            nn.init.ones_(bn.weight)
            nn.init.zeros_(bn.bias)
            bn.bias.requires_grad_(False)
            self.norm = bn
        else:
            self.norm = InstanceNorm1dVector()
        self.classifier: nn.Linear | None = None
        if num_classes > 0:
            self.classifier = nn.Linear(in_dim, num_classes, bias=False)
            nn.init.normal_(self.classifier.weight, std=classifier_std)

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        """Apply the neck (and classifier) to pooled ``features``."""
        neck = self.norm(features)
        out = {"features": features, "neck_features": neck}
        if self.classifier is not None:
            out["logits"] = self.classifier(neck)
        return out
