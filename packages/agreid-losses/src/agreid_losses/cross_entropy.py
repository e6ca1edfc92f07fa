"""Label-smoothed cross-entropy in the two forms used by ReID code (card L-CE).

``bot`` (BoT / TransReID ``CrossEntropyLabelSmooth``)::

    q = (1 − ε)·onehot(y) + ε / K,        L = mean_b  −Σ_j q_bj · log softmax(x_b)_j

``fastreid`` (fast-reid ``cross_entropy_loss``)::

    q_y = 1 − ε,  q_j = ε / (K − 1) for j ≠ y,
    L = Σ_b ℓ_b / max(#{b : ℓ_b ≠ 0}, 1),   ℓ_b = −Σ_j q_bj · log softmax(x_b)_j

The fast-reid form divides the summed loss by the number of rows whose loss is non-zero (at least
1), not by B. For finite logits and ε > 0 every row is non-zero, so this equals the batch mean;
it differs only when some rows are exactly 0 (e.g. ε = 0 and a saturated softmax).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_class_range, check_labels

Variant = Literal["bot", "fastreid"]


def smoothed_targets(
    targets: Tensor,
    num_classes: int,
    epsilon: float,
    variant: Variant,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """The soft target matrix q (B, K) of the chosen variant (no gradient)."""
    if variant == "bot":
        off, on = epsilon / num_classes, 1.0 - epsilon + epsilon / num_classes
    else:
        off = epsilon / (num_classes - 1) if num_classes > 1 else 0.0
        on = 1.0 - epsilon
    q = torch.full((targets.shape[0], num_classes), off, dtype=dtype, device=targets.device)
    q.scatter_(1, targets.unsqueeze(1), on)
    return q


class CrossEntropyLabelSmooth(nn.Module):
    """Label-smoothed cross-entropy on logits (B, K) and int labels (B,).

    ``variant="bot"``: q = (1−ε)·onehot + ε/K, mean over the batch.
    ``variant="fastreid"``: q_y = 1−ε, q_{j≠y} = ε/(K−1); the summed loss is divided by the number
    of rows with non-zero loss (fast-reid's normalisation). ε = 0 gives plain cross-entropy.
    ``num_classes`` is optional; when given, the logits' width must match it.
    """

    def __init__(
        self, num_classes: int | None = None, epsilon: float = 0.1, variant: Variant = "bot"
    ) -> None:
        super().__init__()
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        if variant not in ("bot", "fastreid"):
            raise ValueError(f"variant must be 'bot' or 'fastreid', got {variant!r}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = num_classes
        self.epsilon = float(epsilon)
        self.variant: Variant = variant

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of logits ``inputs`` (B, K) against labels ``targets`` (B,)."""
        check_labels(inputs, targets, name=type(self).__name__)
        k = inputs.shape[1]
        if self.num_classes is not None and k != self.num_classes:
            raise ValueError(f"expected {self.num_classes} logits per row, got {k}")
        if self.variant == "fastreid" and k < 2 and self.epsilon > 0:
            raise ValueError("the fastreid variant needs at least 2 classes (ε / (K − 1))")
        check_class_range(targets, k, name=type(self).__name__)
        log_probs = F.log_softmax(inputs, dim=1)
        q = smoothed_targets(targets, k, self.epsilon, self.variant, log_probs.dtype)
        per_row = -(q * log_probs).sum(dim=1)
        if self.variant == "bot":
            return per_row.mean()
        non_zero = (per_row.detach() != 0).sum().clamp(min=1)
        return per_row.sum() / non_zero

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, epsilon={self.epsilon}, variant={self.variant!r}"
