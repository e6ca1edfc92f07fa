"""CLIP image-to-text identity loss (CLIP-ReID stage 2 / TF-CLIP I2T; card L-I2T).

One text feature per training identity, T (K, D), is fixed during this stage (CLIP-ReID computes it
once from the learned prompts; TF-CLIP uses its CLIP-Memory). With image (or video) features v::

    logits = v · Tᵀ / τ              (optionally on L2-normalised v and T)
    L      = mean_b CE_ε(logits_b, y_b),   q = (1 − ε)·onehot(y) + ε/K  (BoT form; ε = 0: plain CE)

TF-CLIP's I2T logits are the plain inner products ⟨video_proj, memory_k⟩ (no temperature), hence
the defaults τ = 1 and ``normalize=False``; it applies label smoothing (set ε). T is a buffer
(checkpointed, no gradient) set with :meth:`ImageTextLoss.set_text_features`; a forward before
that raises ``RuntimeError``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_class_range, check_identity_bank_args, check_labels
from agreid_losses.cross_entropy import smoothed_targets


class ImageTextLoss(nn.Module):
    """Label-smoothed CE over image-to-text logits v·Tᵀ/τ; ``forward(image_features, pids)``."""

    text_features: Tensor
    text_set: Tensor

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        temperature: float = 1.0,
        epsilon: float = 0.0,
        normalize: bool = False,
    ) -> None:
        super().__init__()
        check_identity_bank_args(num_classes, feat_dim, temperature, epsilon)
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.temperature = float(temperature)
        self.epsilon = float(epsilon)
        self.normalize = normalize
        self.register_buffer("text_features", torch.zeros(num_classes, feat_dim))
        self.register_buffer("text_set", torch.tensor(False))

    @torch.no_grad()
    def set_text_features(self, text_features: Tensor) -> None:
        """Store the per-identity text features (K, D) (detached; normalised if ``normalize``)."""
        expected = (self.num_classes, self.feat_dim)
        if tuple(text_features.shape) != expected:
            raise ValueError(
                f"{type(self).__name__}: text features must have shape {expected}, "
                f"got {tuple(text_features.shape)}"
            )
        t = text_features.detach().to(self.text_features)
        self.text_features.copy_(F.normalize(t, dim=1) if self.normalize else t)
        self.text_set.fill_(True)

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of image features ``inputs`` (B, D) with identity labels ``targets`` (B,)."""
        name = type(self).__name__
        check_labels(inputs, targets, name=name)
        if not bool(self.text_set):
            raise RuntimeError(
                f"{name}: text features are not set; call set_text_features(Tensor[K, D]) first"
            )
        if inputs.shape[1] != self.feat_dim:
            raise ValueError(f"{name}: expected features of dim {self.feat_dim}")
        check_class_range(targets, self.num_classes, name=name)
        v = F.normalize(inputs, dim=1) if self.normalize else inputs
        logits = (v @ self.text_features.to(v.dtype).t()) / self.temperature
        log_probs = F.log_softmax(logits, dim=1)
        q = smoothed_targets(targets, self.num_classes, self.epsilon, "bot", dtype=log_probs.dtype)
        return -(q * log_probs).sum(dim=1).mean()

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, feat_dim={self.feat_dim}, "
            f"temperature={self.temperature}, epsilon={self.epsilon}, normalize={self.normalize}"
        )
