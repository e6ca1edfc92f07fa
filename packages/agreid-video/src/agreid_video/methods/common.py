"""Pieces shared by the CLIP video recipes: loss settings, loss terms, schedule helpers.

TF-CLIP's objective (``peers.md`` §6): identity CE (ε 0.1) on the three heads [CLS, proj,
temporal] × 0.25, batch-hard triplet (margin 0.3) on the three pre-neck features × 1, I2T CE
on the memory logits × 1 and the frame-level CE × 1/T. Each recipe picks its weights and
identity-loss kind through :class:`LossConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from agreid_core.method import DataInfo, LossTerm
from agreid_models.heads.attributes import AGREID_ATTRIBUTES, AttributeSpec
from agreid_video.methods.clip_video_net import FRAME_LOGITS, I2T_LOGITS, PROJ_FEATURES
from agreid_video.methods.losses import (
    AttributeCrossEntropy,
    FrameLoss,
    MemoryLinkedLoss,
    MemoryOwner,
    MemoryToVideoContrast,
)

#: Training tracklets of the AG-VPReID 2025 challenge, an INFERRED estimate (the notes give
#: "more than 13,500" tracklets in all and ≈ 7.2 k distinct test tracklets): only used to turn
#: epoch-based warm-ups into iterations; override ``training.schedule.warmup_iters`` if known.
AGVPREID_TRAIN_TRACKLETS = 6_300
#: G2A-VReID tracklets (train + test, used by TFCLIP-AG-VPReID): 2,788 IDs × 2 (README).
G2A_VREID_TRACKLETS = 5_576

#: (pre-neck feature, logits) output pairs of the three TF-CLIP heads.
HEADS: tuple[tuple[str, str, str], ...] = (
    ("cls", "features_cls", "logits_cls"),
    ("proj", PROJ_FEATURES, "logits_proj"),
    ("tmp", "features_tmp", "logits_tmp"),
)


@dataclass(frozen=True)
class LossConfig:
    """Weights and settings of the TF-CLIP family's loss terms (0 = term left out)."""

    identity: Literal["label-smoothing", "online-label-smoothing"] = "label-smoothing"
    label_smoothing: float = 0.1
    ols_alpha: float = 0.5
    id_weight: float = 0.25
    triplet_margin: float = 0.3
    triplet_weight: float = 1.0
    memory_loss: Literal["i2t", "v2m"] = "i2t"
    memory_weight: float = 1.0
    #: frame-level identity loss weight; ``None`` = 1 / clip length (TF-CLIP)
    frame_weight: float | None = None
    attribute_weight: float = 1.0


def warmup_iters(epochs: int, tracklets: int, batch: int) -> int:
    """An epoch-based warm-up in iterations for ``tracklets`` training tracklets."""
    return epochs * max(1, tracklets // batch)


def identity_loss(cfg: LossConfig, num_classes: int) -> nn.Module:
    """Label-smoothed CE (BoT form, ε) or online label smoothing (α, first-epoch ε)."""
    if cfg.identity == "online-label-smoothing":
        from agreid_losses.online_label_smoothing import OnlineLabelSmoothing

        return OnlineLabelSmoothing(num_classes, alpha=cfg.ols_alpha, epsilon=cfg.label_smoothing)
    from agreid_losses.cross_entropy import CrossEntropyLabelSmooth

    return CrossEntropyLabelSmooth(num_classes, epsilon=cfg.label_smoothing)


def tfclip_loss_terms(
    cfg: LossConfig, owner: MemoryOwner, num_classes: int, clip_length: int
) -> list[LossTerm]:
    """Identity (one module shared by the heads and, for OLS, the I2T term, as X-TFCLIP),
    triplet, memory (I2T CE or V2M Eq. 2; it also builds the model memory) and frame terms."""
    from agreid_losses.triplet import TripletLoss

    terms: list[LossTerm] = []
    shared_id = identity_loss(cfg, num_classes)
    for name, feats, logits in HEADS:
        if cfg.id_weight > 0:
            terms.append(LossTerm(f"id_{name}", shared_id, logits, weight=cfg.id_weight))
        if cfg.triplet_weight > 0:
            triplet = TripletLoss(margin=cfg.triplet_margin)
            terms.append(LossTerm(f"tri_{name}", triplet, feats, weight=cfg.triplet_weight))
    if cfg.memory_weight > 0:
        inner: nn.Module
        if cfg.memory_loss == "v2m":
            inner = MemoryToVideoContrast()
        elif cfg.identity == "online-label-smoothing":
            inner = shared_id
        else:
            inner = identity_loss(cfg, num_classes)
        memory = MemoryLinkedLoss(inner, owner, PROJ_FEATURES)
        terms.append(LossTerm("memory", memory, I2T_LOGITS, weight=cfg.memory_weight))
    frame_weight = 1.0 / clip_length if cfg.frame_weight is None else cfg.frame_weight
    if frame_weight > 0:
        frame = FrameLoss(identity_loss(cfg, num_classes))
        terms.append(LossTerm("frame", frame, FRAME_LOGITS, weight=frame_weight))
    return terms


def known_attributes(info: DataInfo) -> tuple[tuple[AttributeSpec, ...], tuple[int, ...]]:
    """The AG-ReID codebook attributes present in the training data, and their columns in
    the trainer's ``attributes`` target (``info.attribute_names`` order)."""
    by_name = {a.name: a for a in AGREID_ATTRIBUTES}
    specs: list[AttributeSpec] = []
    columns: list[int] = []
    for col, name in enumerate(info.attribute_names):
        if name in by_name:
            specs.append(by_name[name])
            columns.append(col)
    return tuple(specs), tuple(columns)


def attribute_term(
    specs: tuple[AttributeSpec, ...], columns: tuple[int, ...], weight: float
) -> LossTerm:
    """CE per attribute on ``attr_logits`` against the trainer's ``attributes`` target."""
    loss = AttributeCrossEntropy(
        [a.num_classes for a in specs], columns, [a.unknown_index for a in specs]
    )
    return LossTerm("attributes", loss, "attr_logits", target_key="attributes", weight=weight)
