"""Attribute BCE with unknown entries ignored (card L-BCE, CentroidNet stage 2).

With logits x (B, A), targets t (B, A) in [0, 1] and the mask V of known entries (t ≥ 0)::

    ℓ_ba = −[ w_a·t_ba·log σ(x_ba) + (1 − t_ba)·log(1 − σ(x_ba)) ]   (w = ``pos_weight``, default 1)
    L = Σ_{(b,a)∈V} ℓ_ba / |V|          (``reduction="sum"``: no division)

Any negative target (e.g. −1) marks an unknown attribute value. If no entry is known the loss is
0, attached to the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import zero_loss

Reduction = Literal["mean", "sum"]


class AttributeBCELoss(nn.Module):
    """BCE-with-logits over binary attribute columns; entries with target < 0 are ignored.

    L = mean over known (b, a) of −[w_a t log σ(x) + (1−t) log(1−σ(x))]; ``pos_weight`` w (A,)
    optionally up-weights positives per attribute.
    """

    pos_weight: Tensor | None

    def __init__(
        self, pos_weight: Sequence[float] | Tensor | None = None, reduction: Reduction = "mean"
    ) -> None:
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction: Reduction = reduction
        weight = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=torch.float32)
        if weight is not None and weight.dim() != 1:
            raise ValueError(f"pos_weight must be 1-D (A,), got shape {tuple(weight.shape)}")
        self.register_buffer("pos_weight", weight)

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of attribute logits ``inputs`` (B, A) against targets (B, A)."""
        if inputs.dim() != 2 or targets.shape != inputs.shape:
            raise ValueError(
                f"{type(self).__name__}: inputs and targets must both be (B, A), "
                f"got {tuple(inputs.shape)} and {tuple(targets.shape)}"
            )
        if self.pos_weight is not None and self.pos_weight.shape[0] != inputs.shape[1]:
            raise ValueError(
                f"pos_weight has {self.pos_weight.shape[0]} entries "
                f"for {inputs.shape[1]} attributes"
            )
        t = targets.to(inputs.dtype)
        known = t >= 0
        if bool((t > 1).any()):
            raise ValueError("attribute targets must lie in [0, 1] (negative = unknown)")
        if not bool(known.any()):
            return zero_loss(inputs)
        pos_weight = None if self.pos_weight is None else self.pos_weight.to(inputs.dtype)
        per_entry = F.binary_cross_entropy_with_logits(
            inputs, t.clamp(min=0.0), pos_weight=pos_weight, reduction="none"
        )
        total = per_entry[known].sum()
        return total / known.sum() if self.reduction == "mean" else total

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, pos_weight={self.pos_weight is not None}"
