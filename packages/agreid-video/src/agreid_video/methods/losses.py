"""Loss adapters the CLIP video recipes need on top of :mod:`agreid_losses`.

- :class:`FrameLoss`: TF-CLIP's frame-level identity loss. The model gives one logit row per
  frame (B, T, K); the clip label is repeated over the T frames and any (B, K) loss (label
  smoothing CE, online label smoothing) is applied to the (B·T, K) rows.
- :class:`MemoryLinkedLoss`: a loss on logits computed against the model's identity memory
  (TF-CLIP's I2T over the SSP-refined CLIP-Memory). Its ``refresh_from_features`` hook (called
  by the trainer at every epoch start with eval-mode per-tracklet features) builds that memory,
  so the memory lives in the model (it is needed at forward time) while the trainer's loss
  hooks keep it current.
- :class:`AttributeCrossEntropy`: one CE per categorical soft-biometric attribute on the
  concatenated attribute logits, unknown targets (< 0 or the attribute's ``unknown`` class)
  ignored (X-TFCLIP's predicted masking needs a trained attribute head).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MemoryOwner(Protocol):
    """What :class:`MemoryLinkedLoss` needs from a model: a way to (re)build its memory."""

    def build_memory(self, features: Tensor, labels: Tensor) -> bool:
        """Build the identity memory from per-tracklet features; True if it changed."""
        ...


class FrameLoss(nn.Module):
    """Apply a (B·T, K) identity loss to per-frame logits (B, T, K) with clip labels (B,)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Mean loss over all frames of all clips."""
        if inputs.ndim != 3 or inputs.shape[0] != targets.shape[0]:
            raise ValueError(
                f"FrameLoss: expected logits (B, T, K) and labels (B,), got "
                f"{tuple(inputs.shape)} and {tuple(targets.shape)}"
            )
        t = inputs.shape[1]
        out: Tensor = self.inner(inputs.flatten(0, 1), targets.repeat_interleave(t))
        return out


class MemoryLinkedLoss(nn.Module):
    """A loss on memory logits whose epoch-start hook rebuilds the model's identity memory.

    Args:
        inner: the loss applied to the model's memory logits (B, K) and labels.
        owner: the model holding the memory (kept as a plain reference, not a submodule, so
            the criterion does not re-register the model's parameters).
        feature_key: the eval-mode model output the memory is built from.
    """

    def __init__(self, inner: nn.Module, owner: MemoryOwner, feature_key: str) -> None:
        super().__init__()
        self.inner = inner
        self.feature_key = feature_key
        self._owner: list[MemoryOwner] = [owner]

    @torch.no_grad()
    def refresh_from_features(
        self, features: Tensor, labels: Tensor, camids: Tensor | None = None
    ) -> None:
        """Build the owner's memory from per-tracklet ``features`` (N, D) and ``labels`` (N,)."""
        self._owner[0].build_memory(features, labels)

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """The inner loss of memory logits ``inputs`` (B, K)."""
        out: Tensor = self.inner(inputs, targets)
        return out


class AttributeCrossEntropy(nn.Module):
    """Mean over attributes of the CE of each attribute's logits, unknown targets ignored.

    Args:
        num_classes: classes per attribute, in the column order of the logits.
        columns: for each attribute, its column in the trainer's ``attributes`` target.
        unknown_indices: each attribute's ``unknown`` class (ignored as a target), or None.
    """

    def __init__(
        self,
        num_classes: Sequence[int],
        columns: Sequence[int],
        unknown_indices: Sequence[int | None] | None = None,
    ) -> None:
        super().__init__()
        if len(num_classes) != len(columns):
            raise ValueError("num_classes and columns must have one entry per attribute")
        self.num_classes = tuple(int(k) for k in num_classes)
        self.columns = tuple(int(c) for c in columns)
        unknown = unknown_indices if unknown_indices is not None else [None] * len(columns)
        self.unknown_indices = tuple(unknown)

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Logits (B, Σ k) and attribute codes (B, A_data) → scalar loss."""
        chunks = torch.split(inputs, list(self.num_classes), dim=-1)
        parts: list[Tensor] = []
        for chunk, col, k, unknown in zip(
            chunks, self.columns, self.num_classes, self.unknown_indices, strict=True
        ):
            y = targets[:, col].long()
            known = (y >= 0) & (y < k)
            if unknown is not None:
                known = known & (y != unknown)
            if bool(known.any()):
                parts.append(F.cross_entropy(chunk[known], y[known]))
        if not parts:
            return inputs.sum() * 0.0
        return torch.stack(parts).mean()


class MemoryToVideoContrast(nn.Module):
    """TFCLIP-AG-VPReID's V2M loss (AG-VPReID 2025 appendix A.2, Eq. 2) on a similarity matrix.

    ``inputs`` S (B, K) holds ``cos(v_j, M'_k)`` for every clip j and identity memory k (the
    model's refined memory, τ = 1 as the paper gives none). For every identity y of the batch::

        L(y) = −1/|P(y)| Σ_{p ∈ P(y)} log( exp(S[p, y]) / Σ_{j ≤ B} exp(S[j, y]) )

    and the loss is the mean of L(y) over the batch identities.
    """

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """Similarities (B, K) and labels (B,) → scalar loss."""
        ids = torch.unique(targets)
        columns = inputs[:, ids] / self.temperature  # (B, P): memory of each batch id
        log_probs = F.log_softmax(columns, dim=0)  # softmax over the B clips
        positive = (targets.unsqueeze(1) == ids.unsqueeze(0)).to(log_probs.dtype)
        per_id = -(log_probs * positive).sum(dim=0) / positive.sum(dim=0)
        out: Tensor = per_id.mean()
        return out
