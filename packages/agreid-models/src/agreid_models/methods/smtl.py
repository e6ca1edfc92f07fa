"""SMTL — Straight Multi-task Learning for aerial-ground ReID (AG-ReID2023 §A.5, Table 5).

Paper facts: ResNet-50 (ImageNet); three tasks combined as
L = L_AM + γ·L_BH + λ·L_AMAttr with γ = 0.54, λ = 0.25: (a) softmax with an additive angular
margin on the normalised feature, (b) batch-hard triplet (the "proxy for the missing
gradients" of the normalised task), (c) the same margin softmax over the M = 15 categorical
AG-ReID attributes; images resized to 288×144 and randomly cropped to 256×128; batches drawn
from each view (C0 aerial, C2 wearable, C3 CCTV). AM0 = margin 0. Table 5 lists six
configurations with their epochs: BH 151, AM 260, AM0 261, AMBH 251, AM0BH 204,
AM0BHattr 1277 (the best, 81.29 Rank-1: the default ``smtl``).

Card proposals (base paper [29] settings were not retrievable): GAP 2048 → BN1d → f; ArcFace
s 30, m 0.3 (AM0: m 0); triplet margin 0.3 on f; 15 ArcFace attribute classifiers with the
codebook's class counts (``unknown`` is an ordinary class); P 8 IDs × each view × K 4;
Adam 3.5e-4, wd 5e-4, 10 warm-up epochs, ×0.1 at 60 % and 85 % of the run; cosine on f.

Engine approximations (also in ``Recipe.notes``):

- resize 288×144 + crop 256×128 → resize to 256×128 + zero-pad 16 + random crop (the engine
  resizes to the input size first; its pad is one value for both sides);
- "per view" batches → the ``platform-pk`` sampler: P identities × K images from every
  platform the identity was seen on (all of them, not a random Q = 2);
- BNNeck's BN (bias frozen) stands in for the plain BN1d;
- the attribute classifiers live in the loss (like the identity ArcFace head); when the
  training data has no attribute columns the attribute term is left out (recorded in notes).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import Tensor, nn

from agreid_core.config import (
    AugmentConfig,
    EvalConfig,
    InputConfig,
    OptimConfig,
    SamplerConfig,
    ScheduleConfig,
    TrainingConfig,
)
from agreid_core.method import DataInfo, LossTerm, MethodSpec, Recipe
from agreid_models.backbones.resnet import ResNetBackbone
from agreid_models.global_net import GlobalFeatureNet
from agreid_models.heads.attributes import AGREID_ATTRIBUTES, AttributeSpec
from agreid_models.heads.bnneck import BNNeck
from agreid_models.heads.pooling import GlobalAveragePooling

log = logging.getLogger(__name__)

#: Training images of the AG-ReID2023 split, to turn epochs of warm-up into iterations.
AGREID23_TRAIN_IMAGES = 51_530

#: Table 5 configuration → (AM term on, AM margin, triplet on, attribute term on, epochs).
VARIANTS: dict[str, tuple[bool, float, bool, bool, int]] = {
    "bh": (False, 0.0, True, False, 151),
    "am": (True, 0.3, False, False, 260),
    "am0": (True, 0.0, False, False, 261),
    "ambh": (True, 0.3, True, False, 251),
    "am0bh": (True, 0.0, True, False, 204),
    "am0bhattr": (True, 0.0, True, True, 1277),
}


@dataclass(frozen=True)
class SMTLConfig:
    """SMTL's model and loss settings plus the shared training section (each task switchable)."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    depth: int = 50
    last_stride: int = 1
    pretrained: bool = True
    weights: str | None = None
    #: task (a): additive angular margin softmax; margin 0 is AM0
    use_am: bool = True
    am_scale: float = 30.0
    am_margin: float = 0.0
    #: task (b): batch-hard triplet, weight γ
    use_triplet: bool = True
    triplet_weight: float = 0.54
    triplet_margin: float = 0.3
    #: task (c): margin softmax over the 15 attributes, weight λ (same s and m as task (a))
    use_attributes: bool = True
    attribute_weight: float = 0.25


def attribute_columns_of(info: DataInfo) -> list[tuple[AttributeSpec, int]]:
    """Codebook attributes present in the training data, each with its column in the trainer's
    ``attributes`` target (columns named by the ``.mat`` field or the codebook name)."""
    found: list[tuple[AttributeSpec, int]] = []
    for spec in AGREID_ATTRIBUTES:
        for col, name in enumerate(info.attribute_names):
            if name in (spec.mat_field, spec.name):
                found.append((spec, col))
                break
    return found


class AttributeMarginLoss(nn.Module):
    """Mean over attributes of a margin softmax (ArcFace s, m) on one shared feature.

    ``forward(features (B, D), attributes (B, A))``: column ``columns[i]`` holds the codes of
    ``specs[i]``; an unknown code (−1) is mapped to the attribute's ``unknown`` class.
    """

    def __init__(
        self,
        in_dim: int,
        columns: list[tuple[AttributeSpec, int]],
        scale: float,
        margin: float,
    ) -> None:
        super().__init__()
        from agreid_losses.margin_heads import ArcFace, MarginSoftmaxLoss

        if not columns:
            raise ValueError("AttributeMarginLoss needs at least one attribute column")
        self.names = tuple(spec.name for spec, _ in columns)
        self.columns = tuple(col for _, col in columns)
        self.unknown = tuple(
            spec.unknown_index if spec.unknown_index is not None else -1 for spec, _ in columns
        )
        self.heads = nn.ModuleDict(
            {
                spec.name: MarginSoftmaxLoss(ArcFace(in_dim, spec.num_classes, scale, margin))
                for spec, _ in columns
            }
        )

    def forward(self, features: Tensor, attributes: Tensor) -> Tensor:
        """Scalar mean of the per-attribute losses."""
        losses = []
        for name, col, unknown in zip(self.names, self.columns, self.unknown, strict=True):
            codes = attributes[:, col]
            codes = torch.where(codes < 0, torch.full_like(codes, unknown), codes)
            losses.append(self.heads[name](features, codes))
        return torch.stack(losses).mean()


def _training(epochs: int) -> TrainingConfig:
    """The card's proposed schedule for a run of ``epochs`` at 256×128 (crop of 288×144)."""
    batch = 8 * 2 * 4
    return TrainingConfig(
        input=InputConfig(height=256, width=128),
        sampler=SamplerConfig(name="platform-pk", ids_per_batch=8, instances_per_id=4),
        augment=AugmentConfig(flip=0.5, pad=16, random_erasing=0.0),
        optim=OptimConfig(name="adam", lr=3.5e-4, weight_decay=5e-4),
        schedule=ScheduleConfig(
            epochs=epochs,
            kind="multistep",
            milestones=(round(0.6 * epochs), round(0.85 * epochs)),
            gamma=0.1,
            warmup_iters=10 * (AGREID23_TRAIN_IMAGES // batch),
            warmup_factor=0.1,
        ),
        eval=EvalConfig(metric="cosine"),
        num_workers=8,
    )


def variant_paper(variant: str) -> SMTLConfig:
    """Table 5's configuration ``variant`` with its epochs, on ResNet-50."""
    am, margin, bh, attr, epochs = VARIANTS[variant]
    return SMTLConfig(
        training=_training(epochs),
        use_am=am,
        am_margin=margin,
        use_triplet=bh,
        triplet_weight=0.54 if am else 1.0,
        use_attributes=attr,
    )


def variant_cpu(variant: str) -> SMTLConfig:
    """The same losses small: ResNet-18 at 64×32 (crop of 72×36 ≈ pad 4), P2 × views × K2,
    8 epochs (× 0.1 after 5), random init (lr 1e-3 and 8 epochs, as BoT's cpu profile)."""
    cfg = variant_paper(variant)
    training = TrainingConfig(
        input=InputConfig(height=64, width=32),
        sampler=SamplerConfig(name="platform-pk", ids_per_batch=2, instances_per_id=2),
        augment=AugmentConfig(flip=0.5, pad=4, random_erasing=0.0),
        optim=OptimConfig(name="adam", lr=1e-3, weight_decay=5e-4),
        schedule=ScheduleConfig(
            epochs=8, milestones=(5,), gamma=0.1, warmup_iters=20, warmup_factor=0.1
        ),
        eval=EvalConfig(metric="cosine", batch_size=128),
        num_workers=2,
    )
    return dataclasses.replace(cfg, training=training, depth=18, pretrained=False)


def build(cfg: SMTLConfig, info: DataInfo) -> Recipe:
    """ResNet → GAP → BN → f; the enabled tasks: ArcFace (a), triplet (b), attributes (c)."""
    from agreid_losses.margin_heads import ArcFace, MarginSoftmaxLoss
    from agreid_losses.triplet import TripletLoss

    backbone = ResNetBackbone(cfg.depth, cfg.last_stride, cfg.pretrained, cfg.weights)
    dim = backbone.feature_dim
    model = GlobalFeatureNet(backbone, GlobalAveragePooling(), BNNeck(dim, 0), "neck")
    notes: dict[str, str] = {
        "crop": "resize to the crop size + pad/crop instead of resize 288×144 + crop 256×128",
        "sampler": "platform-pk: K per platform of every identity instead of Q random views",
    }
    losses: list[LossTerm] = []
    if cfg.use_am:
        head = ArcFace(dim, info.num_classes, cfg.am_scale, cfg.am_margin)
        losses.append(LossTerm("am", MarginSoftmaxLoss(head), input_key="neck_features"))
    if cfg.use_triplet:
        losses.append(
            LossTerm(
                "triplet",
                TripletLoss(margin=cfg.triplet_margin),
                input_key="neck_features",
                weight=cfg.triplet_weight,
            )
        )
    if cfg.use_attributes:
        columns = attribute_columns_of(info)
        if columns:
            attr = AttributeMarginLoss(dim, columns, cfg.am_scale, cfg.am_margin)
            losses.append(
                LossTerm(
                    "attributes",
                    attr,
                    input_key="neck_features",
                    target_key="attributes",
                    weight=cfg.attribute_weight,
                )
            )
        else:
            log.warning("SMTL: the training data has no AG-ReID attributes; task (c) is off")
            notes["attributes"] = "left out: the training data has no attribute columns"
    if not losses:
        raise ValueError("SMTL needs at least one task: set use_am, use_triplet or use_attributes")
    return Recipe(
        model=model,
        losses=losses,
        head_parameter_prefixes=("neck.",),
        notes=notes,
    )


def _spec(variant: str) -> MethodSpec[SMTLConfig]:
    """The spec of Table 5's configuration ``variant``."""
    return MethodSpec(
        summary=f"SMTL {variant.upper()}: ResNet-50, ArcFace + γ·triplet + λ·attribute ArcFace "
        "(AG-ReID2023 A.5, Table 5)",
        profiles={"paper": partial(variant_paper, variant), "cpu": partial(variant_cpu, variant)},
        build=build,
        reference="Randhawa, Sabri, Doretto, SMTL (AG-ReID2023 challenge A.5); Sabri et al., "
        "Joint Discriminative and Metric Embedding Learning for Person ReID, ISVC 2022",
    )


#: Registered name → spec: ``smtl`` is Table 5's best configuration (AM0BHattr).
SPECS: dict[str, MethodSpec[SMTLConfig]] = {
    "smtl": _spec("am0bhattr"),
    **{f"smtl-{v}": _spec(v) for v in VARIANTS},
}
