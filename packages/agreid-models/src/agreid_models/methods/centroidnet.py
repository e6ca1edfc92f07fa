"""CentroidNet — the CTL model with ASL and an attribute branch (AG-ReID2023 §A.2).

Paper facts: the centroid model of Wieczorek et al. (CTL) on a ResNet101-IBN (ImageNet),
384×384 train and test input, batch 64, 400 epochs: 200 epochs without attribute
information, optimised with the Asymmetric Loss (ASL), then 200 epochs fine-tuned with an
extra attribute branch trained by BCE; at test time query-to-gallery-centroid distances,
then re-ranking.

CTL code facts (card 4.2): BNNeck (BN bias frozen, bias-free classifier); ID + batch-hard
triplet (margin 0.5) + center loss (5e-4) + centroid triplet, weights 1/1/5e-4/1; Adam,
wd 5e-4, 10 warm-up epochs; test feature = post-BN, cosine.

Card proposals: single-label ASL (γ₊ 0, γ₋ 4, ε 0.1) for the identity loss; P16×K4;
Adam 3.5e-4; steps (67, 117) in each 200-epoch stage (the schedule restarts in stage 2);
attribute branch = Linear(2048 → Σ classes) on the post-BN feature with BCE, weight 1.

Stages: ``stage1`` (no attribute branch) and ``stage2`` (warm-started from stage 1: every
weight and the center-loss centres; the attribute branch when ``attribute_branch``). Each
stage runs ``training.schedule.epochs`` (paper: 200 + 200). ``attribute_branch=False`` keeps
both stages but without the branch, isolating its effect.

Evaluation: ``training.eval.rerank`` is on. The centroid gallery (E-CEN) reads gallery
identity labels, so it is oracle and off by default: ``agreid run --method centroidnet
--oracle --set training.eval.centroid_gallery=true`` reproduces the paper's setting (the
engine keeps one centroid per gallery identity and camera).

Engine approximations (also in ``Recipe.notes``): the centres are trained by the main Adam
(CTL: SGD lr 0.5 with the gradient rescaled by 1/weight); the attribute targets are the
one-hot codes of the 15 categorical AG-ReID attributes (Σ 93 binary columns) because the
embedded data carries the categorical fields, not the 88 binary ``.mat`` columns.

The ``cpu`` profile: IBN-a ResNet with layers (1, 1, 1, 1) (same class) at 64×64, P4×K4,
4 + 4 epochs, random init.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

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
from agreid_core.engine.stages import Stage, StageContext
from agreid_core.method import EMBEDDING, DataInfo, LossTerm, MethodSpec, Recipe
from agreid_models.backbones.ibn import ResNetIBNBackbone
from agreid_models.global_net import GlobalFeatureNet
from agreid_models.heads.attributes import ATTR_LOGITS, AttributeSpec
from agreid_models.heads.bnneck import BNNeck
from agreid_models.heads.pooling import GlobalAveragePooling
from agreid_models.methods.smtl import attribute_columns_of

#: Training images of the AG-ReID2023 split, to turn epochs of warm-up into iterations.
AGREID23_TRAIN_IMAGES = 51_530


@dataclass(frozen=True)
class CentroidNetConfig:
    """CentroidNet's model and loss settings plus the shared training section (per stage)."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    depth: int = 101
    layers: tuple[int, ...] = ()
    last_stride: int = 1
    pretrained: bool = True
    weights: str | None = None
    asl_gamma_pos: float = 0.0
    asl_gamma_neg: float = 4.0
    asl_epsilon: float = 0.1
    triplet_margin: float = 0.5
    center_weight: float = 5e-4
    centroid_triplet: bool = True
    #: stage 2 adds the attribute branch trained by BCE
    attribute_branch: bool = True
    attribute_weight: float = 1.0


class CentroidNetModel(nn.Module):
    """IBN ResNet → GAP → BNNeck, plus an optional attribute branch on the post-BN feature.

    Outputs ``features`` (pre-BN), ``neck_features``, ``logits``, ``embedding`` (post-BN) and,
    with ``attribute_outputs > 0``, ``attr_logits`` (B, attribute_outputs).
    """

    def __init__(self, backbone: nn.Module, dim: int, num_classes: int, attribute_outputs: int):
        super().__init__()
        self.net = GlobalFeatureNet(backbone, GlobalAveragePooling(), BNNeck(dim, num_classes))
        self.attributes: nn.Linear | None = None
        if attribute_outputs > 0:
            self.attributes = nn.Linear(dim, attribute_outputs)
            nn.init.normal_(self.attributes.weight, std=0.001)
            nn.init.zeros_(self.attributes.bias)

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids are unused)."""
        out = self.net(images, camids)
        if self.attributes is not None:
            out[ATTR_LOGITS] = self.attributes(out[EMBEDDING])
        return dict(out)


class OneHotAttributeBCE(nn.Module):
    """BCE on attribute logits against one-hot codes of categorical attribute columns.

    ``forward(logits (B, Σ k), attributes (B, A))``: attribute ``specs[i]`` occupies
    ``k_i`` logit columns and reads target column ``columns[i]``; an unknown code (−1 or the
    attribute's ``unknown`` class) makes all its k_i targets unknown (ignored).
    """

    def __init__(self, columns: list[tuple[AttributeSpec, int]]) -> None:
        super().__init__()
        from agreid_losses.attribute_bce import AttributeBCELoss

        if not columns:
            raise ValueError("OneHotAttributeBCE needs at least one attribute column")
        self.columns = tuple(col for _, col in columns)
        self.num_classes = tuple(spec.num_classes for spec, _ in columns)
        self.unknown = tuple(spec.unknown_index for spec, _ in columns)
        self.bce = AttributeBCELoss()

    @property
    def out_dim(self) -> int:
        """Σ k: the logit columns this loss expects."""
        return sum(self.num_classes)

    def targets(self, attributes: Tensor) -> Tensor:
        """(B, Σ k) float targets in {0, 1}, −1 where unknown."""
        parts = []
        for col, k, unknown in zip(self.columns, self.num_classes, self.unknown, strict=True):
            codes = attributes[:, col]
            known = (codes >= 0) & (codes < k) & (codes != (-1 if unknown is None else unknown))
            onehot = nn.functional.one_hot(codes.clamp(0, k - 1), k).float()
            parts.append(torch.where(known[:, None], onehot, torch.full_like(onehot, -1.0)))
        return torch.cat(parts, dim=1)

    def forward(self, logits: Tensor, attributes: Tensor) -> Tensor:
        """Scalar BCE over the known one-hot entries."""
        loss: Tensor = self.bce(logits, self.targets(attributes))
        return loss


def _training(
    size: tuple[int, int], ids: int, epochs: int, milestones: tuple[int, ...]
) -> TrainingConfig:
    """CTL's O-ADAM-MS with 10 warm-up epochs for one stage."""
    batch = ids * 4
    return TrainingConfig(
        input=InputConfig(height=size[0], width=size[1]),
        sampler=SamplerConfig(ids_per_batch=ids, instances_per_id=4),
        augment=AugmentConfig(flip=0.5, pad=10, random_erasing=0.5),
        optim=OptimConfig(name="adam", lr=3.5e-4, weight_decay=5e-4),
        schedule=ScheduleConfig(
            epochs=epochs,
            kind="multistep",
            milestones=milestones,
            gamma=0.1,
            warmup_iters=10 * (AGREID23_TRAIN_IMAGES // batch),
            warmup_factor=0.1,
        ),
        eval=EvalConfig(metric="cosine", rerank=True, rerank_k1=20, rerank_k2=6),
        num_workers=8,
    )


def paper() -> CentroidNetConfig:
    """ResNet101-IBN at 384×384, P16×K4, 200 + 200 epochs, re-ranking on."""
    return CentroidNetConfig(training=_training((384, 384), 16, 200, (67, 117)))


def cpu() -> CentroidNetConfig:
    """IBN-a ResNet (1,1,1,1) at 64×64, P4×K4, 4 + 4 epochs, random init, lr 1e-3."""
    t = _training((64, 64), 4, 4, (3,))
    t = dataclasses.replace(
        t,
        augment=AugmentConfig(flip=0.5, pad=4, random_erasing=0.5),
        optim=dataclasses.replace(t.optim, lr=1e-3),
        schedule=dataclasses.replace(t.schedule, warmup_iters=20),
        eval=dataclasses.replace(t.eval, batch_size=128),
        num_workers=2,
    )
    return CentroidNetConfig(training=t, depth=50, layers=(1, 1, 1, 1), pretrained=False)


def build_stage(cfg: CentroidNetConfig, info: DataInfo, with_attributes: bool) -> Recipe:
    """The CTL recipe with ASL; with the attribute branch and its BCE when asked."""
    from agreid_losses.asymmetric import AsymmetricLossSingleLabel
    from agreid_losses.center import CenterLoss
    from agreid_losses.centroid_triplet import CentroidTripletLoss
    from agreid_losses.triplet import TripletLoss

    layers = tuple(cfg.layers)
    backbone = ResNetIBNBackbone(
        cfg.depth,
        cfg.last_stride,
        cfg.pretrained,
        cfg.weights,
        layers=(layers[0], layers[1], layers[2], layers[3]) if layers else None,
    )
    dim = backbone.feature_dim
    attr_loss = None
    if with_attributes:
        columns = attribute_columns_of(info)
        if not columns:
            raise ValueError(
                "CentroidNet's attribute branch needs AG-ReID attribute columns in the training "
                "data; set attribute_branch=false for data without them"
            )
        attr_loss = OneHotAttributeBCE(columns)
    model = CentroidNetModel(backbone, dim, info.num_classes, attr_loss.out_dim if attr_loss else 0)
    asl = AsymmetricLossSingleLabel(cfg.asl_gamma_pos, cfg.asl_gamma_neg, cfg.asl_epsilon)
    losses = [
        LossTerm("asl", asl, input_key="logits"),
        LossTerm("triplet", TripletLoss(margin=cfg.triplet_margin), input_key="features"),
        LossTerm(
            "center",
            CenterLoss(info.num_classes, dim),
            input_key="features",
            weight=cfg.center_weight,
        ),
    ]
    if cfg.centroid_triplet:
        ctl = CentroidTripletLoss(margin=cfg.triplet_margin)
        losses.append(LossTerm("centroid_triplet", ctl, input_key="features"))
    if attr_loss is not None:
        losses.append(
            LossTerm(
                "attributes",
                attr_loss,
                input_key=ATTR_LOGITS,
                target_key="attributes",
                weight=cfg.attribute_weight,
            )
        )
    return Recipe(
        model=model,
        losses=losses,
        head_parameter_prefixes=("net.neck.", "attributes."),
        notes={
            "centers": "trained by the main optimiser (CTL: SGD lr 0.5, grads / weight)",
            "attributes": "one-hot codes of the 15 categorical attributes (93 columns)",
        },
    )


def build(cfg: CentroidNetConfig, info: DataInfo) -> Recipe:
    """The stage-1 recipe (no attribute branch): what conformance checks build."""
    return build_stage(cfg, info, with_attributes=False)


def warm_start(recipe: Recipe, previous: Recipe) -> None:
    """Load ``previous``'s model weights and same-named loss modules into ``recipe``.

    Parameters only the new recipe has (the attribute branch) keep their initialisation.
    """
    missing, unexpected = recipe.model.load_state_dict(previous.model.state_dict(), strict=False)
    if unexpected or any(not k.startswith("attributes.") for k in missing):
        raise RuntimeError(f"warm start mismatch: missing {missing}, unexpected {unexpected}")
    old = {t.name: t.loss for t in previous.losses}
    for term in recipe.losses:
        if term.name in old:
            term.loss.load_state_dict(old[term.name].state_dict())


def _stage2(ctx: StageContext, info: DataInfo) -> Recipe:
    cfg: CentroidNetConfig = ctx.config
    recipe = build_stage(cfg, info, with_attributes=cfg.attribute_branch)
    warm_start(recipe, ctx.recipes["stage1"])
    return recipe


def stages(cfg: CentroidNetConfig) -> list[Stage]:
    """``stage1`` (ASL + triplets + center) then ``stage2`` (warm start, + attribute BCE)."""
    return [
        Stage(
            "stage1",
            lambda ctx, info: build_stage(ctx.config, info, with_attributes=False),
            summary="identity losses only",
        ),
        Stage(
            "stage2",
            _stage2,
            summary="warm start from stage1"
            + (", attribute branch + BCE" if cfg.attribute_branch else ""),
        ),
    ]


SPEC: MethodSpec[CentroidNetConfig] = MethodSpec(
    summary="CentroidNet: ResNet101-IBN CTL with ASL, 2 stages (+attribute BCE), re-ranking",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="Wieczorek et al., On the Unreasonable Effectiveness of Centroids in Image "
    "Retrieval, ICONIP 2021; Ridnik et al., Asymmetric Loss, ICCV 2021; AG-ReID2023 A.2",
    stages=stages,
)

#: Registered name → spec.
SPECS: dict[str, MethodSpec[CentroidNetConfig]] = {"centroidnet": SPEC}
