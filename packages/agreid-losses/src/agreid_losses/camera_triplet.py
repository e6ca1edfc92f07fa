"""Batch-hard camera-aware softmax-triplet loss L_ch (BENTO, AG-ReID 2023 appendix A.3; card L-PRX).

BENTO only names "a batch-hard camera softmax-triplet loss"; this form is the card's design
proposal. On cosine similarities s of the L2-normalised batch features, for every anchor a::

    s_ap = min_{p : y_p = y_a, cam_p ≠ cam_a} s(a, p)             hardest cross-camera positive
    s_an = max_{n : y_n ≠ y_a, cam_n = cam_a} s(a, n)             hardest same-camera negative
           (max over every camera when the anchor's camera holds no other identity)
    L    = mean_a −log( exp(s_ap/τ) / (exp(s_ap/τ) + exp(s_an/τ)) )
         = mean_a softplus((s_an − s_ap) / τ),       τ = 0.05

Anchors without a cross-camera positive or without any negative are excluded from the mean; with
none left the loss is 0 (attached to the graph).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_losses._checks import check_labels, zero_loss


def camera_hardest_similarities(
    sim: Tensor, targets: Tensor, camids: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Camera-aware batch-hard mining on a square similarity matrix (N, N).

    Returns ``(s_ap, s_an, valid)``: the least similar same-identity sample from another camera,
    the most similar other-identity sample from the same camera (any camera if there is none),
    and whether the anchor has both. Entries of invalid anchors are ±inf.
    """
    same_id = targets.unsqueeze(0) == targets.unsqueeze(1)
    same_cam = camids.unsqueeze(0) == camids.unsqueeze(1)
    pos = same_id & ~same_cam
    neg = ~same_id
    neg_cam = neg & same_cam
    neg = torch.where(neg_cam.any(dim=1, keepdim=True), neg_cam, neg)
    s_ap = sim.masked_fill(~pos, float("inf")).amin(dim=1)
    s_an = sim.masked_fill(~neg, float("-inf")).amax(dim=1)
    valid = pos.any(dim=1) & neg.any(dim=1)
    return s_ap, s_an, valid


class CameraSoftmaxTripletLoss(nn.Module):
    """mean_a softplus((s_an − s_ap)/τ): cross-camera hardest positive, same-camera hardest negative.

    ``forward(features, pids, camids)``; cosine similarities of the L2-normalised features.
    """

    def __init__(self, temperature: float = 0.05) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, inputs: Tensor, targets: Tensor, camids: Tensor | None = None) -> Tensor:
        """Scalar loss of features ``inputs`` (B, D), labels ``targets`` (B,), ``camids`` (B,)."""
        name = type(self).__name__
        check_labels(inputs, targets, name=name)
        if camids is None:
            raise ValueError(f"{name}: camids are required (LossTerm extra_targets=('camids',))")
        check_labels(inputs, camids, name=f"{name} (camids)")
        f = F.normalize(inputs, dim=1)
        s_ap, s_an, valid = camera_hardest_similarities(f @ f.t(), targets, camids)
        if not bool(valid.any()):
            return zero_loss(inputs)
        return F.softplus((s_an[valid] - s_ap[valid]) / self.temperature).mean()

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
