"""Cosine classifiers with class-level margins: CircleSoftmax, ArcFace, CosFace (cards H-CS, H-ARC).

Each head holds class weights W (K, D) and computes c = cos(f, W_k) = f̂·Ŵ_kᵀ. ``forward(features,
targets=None)`` returns logits (B, K): with ``targets`` the margin is applied to the target column
(and CircleSoftmax re-weights every column), without ``targets`` (inference) the logits are s·c.
The margin depends only on whether targets are passed, not on ``module.training``.

    CircleSoftmax:  target s·α_p·(c − (1 − m)),  others s·α_n·(c − m),
                    α_p = [1 + m − c]₊, α_n = [c + m]₊ (detached)       (fast-reid any_softmax)
    ArcFace:        target s·cos(θ_y + m), others s·c;  θ = arccos c.  When θ_y + m > π the
                    target uses c − (1 − cos m) instead (continuous at θ_y = π − m and monotone)
    CosFace:        target s·(c − m), others s·c                      (AM-softmax)

:class:`MarginSoftmaxLoss` wraps a head and label-smoothed cross-entropy into a loss module
``forward(features, targets) -> scalar``; this is what the plugin registers.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_class_range, check_labels
from agreid_losses.cross_entropy import CrossEntropyLabelSmooth, Variant


def _onehot(cos: Tensor, targets: Tensor) -> Tensor:
    return F.one_hot(targets, num_classes=cos.shape[1]).to(torch.bool)


def circle_logits(cos: Tensor, targets: Tensor, scale: float, margin: float) -> Tensor:
    """CircleSoftmax logits from cosines (B, K) and labels (B,)."""
    alpha_p = (1.0 + margin - cos.detach()).clamp(min=0.0)
    alpha_n = (cos.detach() + margin).clamp(min=0.0)
    s_p = scale * alpha_p * (cos - (1.0 - margin))
    s_n = scale * alpha_n * (cos - margin)
    return torch.where(_onehot(cos, targets), s_p, s_n)


def arcface_logits(cos: Tensor, targets: Tensor, scale: float, margin: float) -> Tensor:
    """ArcFace logits s·cos(θ_y + m) on the target column, s·cos θ elsewhere."""
    cos_m, sin_m = math.cos(margin), math.sin(margin)
    sin = (1.0 - cos * cos).clamp(min=1e-12).sqrt()
    shifted = cos * cos_m - sin * sin_m  # cos(θ + m)
    # θ + m > π  ⇔  cos θ < cos(π − m) = −cos m: keep the target logit monotone in θ.
    fallback = cos - (1.0 - cos_m)
    target = torch.where(cos < -cos_m, fallback, shifted)
    return scale * torch.where(_onehot(cos, targets), target, cos)


def cosface_logits(cos: Tensor, targets: Tensor, scale: float, margin: float) -> Tensor:
    """CosFace / AM-softmax logits s·(c − m·onehot)."""
    return scale * (cos - margin * _onehot(cos, targets).to(cos.dtype))


class CosineMarginHead(nn.Module):
    """Bias-free cosine classifier c = f̂·Ŵᵀ (weights N(0, 0.01)); subclasses define the margin."""

    def __init__(self, in_features: int, num_classes: int, scale: float, margin: float) -> None:
        super().__init__()
        if in_features < 1 or num_classes < 1:
            raise ValueError(
                f"in_features and num_classes must be positive, got {in_features}, {num_classes}"
            )
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.in_features = in_features
        self.num_classes = num_classes
        self.scale = float(scale)
        self.margin = float(margin)
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.normal_(self.weight, std=0.01)

    def cosine(self, features: Tensor) -> Tensor:
        """cos(f_b, W_k), shape (B, K)."""
        return F.linear(F.normalize(features, dim=1), F.normalize(self.weight, dim=1))

    def margin_logits(self, cos: Tensor, targets: Tensor) -> Tensor:
        """Logits (B, K) from cosines (B, K) and labels (B,), margin applied."""
        raise NotImplementedError

    def forward(self, features: Tensor, targets: Tensor | None = None) -> Tensor:
        """Logits (B, K); the margin is applied only when ``targets`` (B,) is given."""
        if features.dim() != 2 or features.shape[1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__}: features must be (B, {self.in_features}), "
                f"got {tuple(features.shape)}"
            )
        cos = self.cosine(features)
        if targets is None:
            return self.scale * cos
        check_labels(features, targets, name=type(self).__name__)
        check_class_range(targets, self.num_classes, name=type(self).__name__)
        return self.margin_logits(cos, targets)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"scale={self.scale}, margin={self.margin}"
        )


class CircleSoftmax(CosineMarginHead):
    """Class-level circle logits: target s·[1+m−c]₊·(c−(1−m)), others s·[c+m]₊·(c−m); α detached."""

    def __init__(
        self, in_features: int, num_classes: int, scale: float = 64.0, margin: float = 0.35
    ) -> None:
        super().__init__(in_features, num_classes, scale, margin)

    def margin_logits(self, cos: Tensor, targets: Tensor) -> Tensor:
        return circle_logits(cos, targets, self.scale, self.margin)


class ArcFace(CosineMarginHead):
    """ArcFace: target logit s·cos(θ_y + m), others s·cos θ_j (m = 0: normalised softmax)."""

    def __init__(
        self, in_features: int, num_classes: int, scale: float = 30.0, margin: float = 0.5
    ) -> None:
        if not 0.0 <= margin < math.pi:
            raise ValueError(f"ArcFace margin must lie in [0, π), got {margin}")
        super().__init__(in_features, num_classes, scale, margin)

    def margin_logits(self, cos: Tensor, targets: Tensor) -> Tensor:
        return arcface_logits(cos, targets, self.scale, self.margin)


class CosFace(CosineMarginHead):
    """CosFace / AM-softmax: target logit s·(cos θ_y − m), others s·cos θ_j."""

    def __init__(
        self, in_features: int, num_classes: int, scale: float = 30.0, margin: float = 0.35
    ) -> None:
        super().__init__(in_features, num_classes, scale, margin)

    def margin_logits(self, cos: Tensor, targets: Tensor) -> Tensor:
        return cosface_logits(cos, targets, self.scale, self.margin)


class MarginSoftmaxLoss(nn.Module):
    """Loss = label-smoothed CE(head(f, y), y) for a margin head (its class weights live here).

    ``epsilon``/``variant`` as in :class:`CrossEntropyLabelSmooth` (ε = 0: plain cross-entropy).
    The head is ``self.head``; at test time use its cosine or drop it.
    """

    def __init__(
        self, head: CosineMarginHead, epsilon: float = 0.0, variant: Variant = "bot"
    ) -> None:
        super().__init__()
        self.head = head
        self.criterion = CrossEntropyLabelSmooth(epsilon=epsilon, variant=variant)

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of features ``inputs`` (B, D) with labels ``targets`` (B,)."""
        logits = cast(Tensor, self.head(inputs, targets))
        return cast(Tensor, self.criterion(logits, targets))
