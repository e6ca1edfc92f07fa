"""Video-to-memory (V2M) contrastive loss against an identity memory (card L-I2T / L-V2M).

A memory bank M (K, D) holds one feature per training identity (a buffer: checkpointed, never
receives gradients). ``refresh_from_features(features, labels, camids)`` (epoch start) sets
M_k = normalize(mean_{i : y_i = k} normalize(f_i)), as TF-CLIP builds its CLIP-Memory (per-ID
mean). With v_b = normalize(features_b) (``normalize=True``; raw features otherwise) and s = v·M/τ:

- ``mode="video"`` (default; TF-CLIP's I2T form, per video over all memories)::

      L = mean_b CE_ε( [v_b·M_k / τ]_k , y_b )          (label smoothing q = (1−ε)·onehot + ε/K)

- ``mode="memory"`` (TFCLIP-AG-VPReID, AG-VPReID 2025 appendix A.2, Eq. 2: per memory, over the
  B batch videos)::

      L(k) = −1/|P(k)| Σ_{p ∈ P(k)} log( exp(v_p·M_k/τ) / Σ_{j ≤ B} exp(v_j·M_k/τ) ),
      L    = mean over the identities k of the batch

The paper gives no temperature, so τ defaults to 1. After the loss, in training mode, the memory
of every identity k of the batch moves towards the batch (no gradient)::

      M_k ← normalize( m · M_k + (1 − m) · mean_{b : y_b = k} v_b )      (no normalize if off)

Averaging the batch per identity makes the update independent of the batch order. ``momentum=1``
keeps the memory fixed between refreshes (TF-CLIP's CLIP-Memory is built once and never updated).
The default m = 0.2 is Cluster Contrast's (Dai et al. 2022) value: a design choice, not a
published TFCLIP-AG-VPReID setting. Forward before any refresh raises ``RuntimeError``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import (
    check_class_range,
    check_identity_bank_args,
    check_labels,
    zero_loss,
)
from agreid_losses.cross_entropy import smoothed_targets

MemoryMode = Literal["video", "memory"]


def video_to_memory_loss(
    features: Tensor,
    targets: Tensor,
    memory: Tensor,
    present: Tensor,
    temperature: float,
    epsilon: float = 0.0,
) -> Tensor:
    """Per-video CE over all memories (``mode="video"``); absent memories are masked out."""
    logits = (features @ memory.t()) / temperature
    logits = logits.masked_fill(~present.unsqueeze(0), float("-inf"))
    valid = present[targets]
    if not bool(valid.any()):
        return zero_loss(features)
    log_probs = F.log_softmax(logits[valid], dim=1)
    q = smoothed_targets(targets[valid], memory.shape[0], epsilon, "bot", dtype=log_probs.dtype)
    q = q * present.unsqueeze(0)  # no target mass on absent memories
    q = q / q.sum(dim=1, keepdim=True)
    return -(q * log_probs.masked_fill(~present.unsqueeze(0), 0.0)).sum(dim=1).mean()


def memory_to_video_losses(
    features: Tensor, targets: Tensor, memory: Tensor, temperature: float
) -> tuple[Tensor, Tensor]:
    """Eq. 2 per identity of the batch: ``(identities (P,), L(k) (P,))`` (``mode="memory"``)."""
    ids = torch.unique(targets)
    logits = (memory[ids] @ features.t()) / temperature  # (P, B): memory k against every video
    log_probs = F.log_softmax(logits, dim=1)
    pos = (targets.unsqueeze(0) == ids.unsqueeze(1)).to(log_probs.dtype)
    return ids, -(log_probs * pos).sum(dim=1) / pos.sum(dim=1)


class VideoMemoryContrastLoss(nn.Module):
    """Contrastive loss of features against a per-identity memory with momentum update.

    ``forward(features, pids)``; see the module docstring for the two modes and the update rule.
    """

    memory: Tensor
    present: Tensor
    refreshed: Tensor

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        temperature: float = 1.0,
        momentum: float = 0.2,
        mode: MemoryMode = "video",
        epsilon: float = 0.0,
        normalize: bool = True,
        feature_key: str = "features",
    ) -> None:
        super().__init__()
        check_identity_bank_args(num_classes, feat_dim, temperature, epsilon)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
        if mode not in ("video", "memory"):
            raise ValueError(f"mode must be 'video' or 'memory', got {mode!r}")
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.temperature = float(temperature)
        self.momentum = float(momentum)
        self.mode: MemoryMode = mode
        self.epsilon = float(epsilon)
        self.normalize = normalize
        self.feature_key = feature_key
        self.register_buffer("memory", torch.zeros(num_classes, feat_dim))
        self.register_buffer("present", torch.zeros(num_classes, dtype=torch.bool))
        self.register_buffer("refreshed", torch.tensor(False))

    def _prepare(self, features: Tensor) -> Tensor:
        return F.normalize(features, dim=1) if self.normalize else features

    @torch.no_grad()
    def refresh_from_features(
        self, features: Tensor, labels: Tensor, camids: Tensor | None = None
    ) -> None:
        """Set M_k to the (normalised) mean feature of identity k over ``features`` (N, D)."""
        name = type(self).__name__
        check_labels(features, labels, name=name)
        if features.shape[1] != self.feat_dim:
            raise ValueError(f"{name}: expected features of dim {self.feat_dim}")
        check_class_range(labels, self.num_classes, name=name)
        f = self._prepare(features.detach().to(self.memory))
        labels = labels.to(f.device)
        sums = torch.zeros_like(self.memory).index_add_(0, labels, f)
        counts = torch.bincount(labels, minlength=self.num_classes)
        present = counts > 0
        means = sums / counts.clamp(min=1).unsqueeze(1).to(sums.dtype)
        self.memory.copy_(self._prepare(means) if self.normalize else means)
        self.present.copy_(present)
        self.refreshed.fill_(True)

    @torch.no_grad()
    def momentum_update(self, features: Tensor, targets: Tensor) -> None:
        """M_k ← [normalize](m·M_k + (1−m)·mean_{b : y_b = k} v_b) for every identity of the batch."""
        v = self._prepare(features.detach().to(self.memory))
        targets = targets.to(v.device)
        sums = torch.zeros_like(self.memory).index_add_(0, targets, v)
        counts = torch.bincount(targets, minlength=self.num_classes)
        seen = counts > 0
        batch_mean = sums[seen] / counts[seen].unsqueeze(1).to(sums.dtype)
        # An identity without a memory yet starts from its batch mean.
        old = torch.where(self.present[seen].unsqueeze(1), self.memory[seen], batch_mean)
        new = self.momentum * old + (1.0 - self.momentum) * batch_mean
        self.memory[seen] = self._prepare(new) if self.normalize else new
        self.present[seen] = True

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Scalar loss of features ``inputs`` (B, D) with identity labels ``targets`` (B,)."""
        name = type(self).__name__
        check_labels(inputs, targets, name=name)
        if not bool(self.refreshed):
            raise RuntimeError(
                f"{name}: the memory is not initialised; call refresh_from_features(features, "
                "labels, camids) with the training set's features before the first forward"
            )
        if inputs.shape[1] != self.feat_dim:
            raise ValueError(f"{name}: expected features of dim {self.feat_dim}")
        check_class_range(targets, self.num_classes, name=name)
        v = self._prepare(inputs)
        # A copy: the in-place momentum update below must not touch a tensor saved for backward.
        memory = self.memory.detach().clone().to(v.dtype)
        if self.mode == "video":
            loss = video_to_memory_loss(
                v, targets, memory, self.present, self.temperature, self.epsilon
            )
        else:
            ids, per_id = memory_to_video_losses(v, targets, memory, self.temperature)
            keep = self.present[ids]
            loss = per_id[keep].mean() if bool(keep.any()) else zero_loss(inputs)
        if self.training:
            self.momentum_update(inputs, targets)
        return loss

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, feat_dim={self.feat_dim}, "
            f"temperature={self.temperature}, momentum={self.momentum}, mode={self.mode!r}, "
            f"epsilon={self.epsilon}, normalize={self.normalize}"
        )
