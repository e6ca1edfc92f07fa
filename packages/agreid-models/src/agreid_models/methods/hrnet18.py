"""HRNet-18 + Circle — the AG-ReID2023 Table 3 baseline "HRNet-18 (224 × 224)" (Table 4: circle loss).

No official config exists; the names, the input sizes and "Circle loss" match
``layumi/Person_reID_baseline_pytorch`` (``--use_hr --circle``), README row "HRNet-18 (all
tricks+Circle)": lr 0.01, batch 16, random erasing 0.5, circle, warm-up 5 epochs.

Model (layumi ``ft_net_hr``): timm ``hrnet_w18`` → its fused 2048-channel head map → global
average pooling → ClassBlock: Linear(2048→512) → BatchNorm1d → Dropout(0.5) → Linear(512→C).
Losses: plain cross-entropy on the logits + pairwise circle loss (γ 32, m 0.25) on the L2-normalised
512-d vector taken **after** the dropout, divided by the batch size, both weight 1. Test: the
classifier is dropped; f(x) + f(flip x), L2-normalised, cosine (``EvalConfig.flip``: the mean
of the two gives the same cosine as layumi's sum).

Optimisation (layumi ``train.py``): SGD, momentum 0.9, Nesterov, wd 5e-4; the backbone at
0.1 × lr, the ClassBlock at lr (``OptimConfig.lr`` is the backbone LR, ``head_lr_factor`` 10);
60 epochs, LR × 0.1 at epoch 40 (⌊2·60/3⌋).

Engine approximations (recorded in ``Recipe.notes``):

- layumi warms up by scaling the **loss** from 0.1 to 1 over 5 epochs; with SGD this equals an
  LR warm-up from 0.1 (up to the weight-decay term), so the profile warms up the LR over
  5 epochs of the AG-ReID2023 training split (51,530 images, ⌊51,530 / batch⌋ iterations an
  epoch).
- layumi draws plain shuffled batches; the engine only has the P×K sampler, so the batch size
  is kept as P×4 (K = 4 also guarantees positive pairs for the circle loss).
- layumi fills erased pixels with 0, the engine with its own value.

The ``cpu`` profile: timm ``hrnet_w18_small`` (same class, same 2048-channel head) at 64×64,
P2×K4, 8 epochs, LR 0.01 for backbone and head (random init, nothing to protect with 0.1×).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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
from agreid_core.method import EMBEDDING, DataInfo, LossTerm, MethodSpec, Recipe
from agreid_models.heads.pooling import GlobalAveragePooling

#: Training images of the AG-ReID2023 challenge split (``agreid-formats.md``), used to turn
#: layumi's epoch-based warm-up into iterations.
AGREID23_TRAIN_IMAGES = 51_530

#: Parameter-name prefix of the ClassBlock (the part trained at the full LR).
HEAD_PREFIX = "head."


class ClassBlock(nn.Module):
    """layumi's ClassBlock: Linear(D→bottleneck) → BN1d → Dropout → Linear(bottleneck→C).

    ``forward`` returns ``features`` (the bottleneck vector after the dropout: what the circle
    loss sees in training; at eval the dropout is the identity) and, with ``num_classes > 0``,
    ``logits``. Init as layumi: Kaiming (fan_out) for the first Linear, BN weight N(1, 0.02),
    classifier N(0, ``classifier_std``), zero biases.
    """

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        bottleneck: int = 512,
        dropout: float = 0.5,
        classifier_std: float = 0.001,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, bottleneck)
        nn.init.kaiming_normal_(self.linear.weight, a=0, mode="fan_out")
        nn.init.zeros_(self.linear.bias)
        self.bn = nn.BatchNorm1d(bottleneck)
        nn.init.normal_(self.bn.weight, 1.0, 0.02)
        nn.init.zeros_(self.bn.bias)
        self.dropout = nn.Dropout(dropout)
        self.classifier: nn.Linear | None = None
        if num_classes > 0:
            self.classifier = nn.Linear(bottleneck, num_classes)
            nn.init.normal_(self.classifier.weight, std=classifier_std)
            nn.init.zeros_(self.classifier.bias)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Pooled ``x`` (B, D) → ``features`` (B, bottleneck) and ``logits`` (B, C)."""
        f = self.dropout(self.bn(self.linear(x)))
        out = {"features": f}
        if self.classifier is not None:
            out["logits"] = self.classifier(f)
        return out


class ClassBlockNet(nn.Module):
    """Backbone map → GAP → ClassBlock (layumi ``ft_net_hr`` / ``ft_net_swin``).

    Outputs ``pooled`` (B, D), ``features`` (B, 512), ``logits`` and ``embedding``
    (= ``features``; in eval mode the 512-d bottleneck without dropout or classifier).
    """

    def __init__(self, backbone: nn.Module, head: ClassBlock) -> None:
        super().__init__()
        self.backbone = backbone
        self.pool = GlobalAveragePooling()
        self.head = head

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids are unused)."""
        pooled = self.pool(self.backbone(images))
        out: dict[str, Tensor] = {"pooled": pooled, **self.head(pooled)}
        out[EMBEDDING] = out["features"]
        return out


def layumi_training(
    size: tuple[int, int], lr: float, ids_per_batch: int, epochs: int = 60, warm_epochs: int = 5
) -> TrainingConfig:
    """layumi's O-SGD-STEP recipe at ``size`` with head LR ``lr`` and batch ``ids_per_batch``×4."""
    batch = ids_per_batch * 4
    return TrainingConfig(
        input=InputConfig(height=size[0], width=size[1]),
        sampler=SamplerConfig(ids_per_batch=ids_per_batch, instances_per_id=4),
        augment=AugmentConfig(flip=0.5, pad=10, random_erasing=0.5),
        optim=OptimConfig(
            name="sgd", lr=lr * 0.1, momentum=0.9, weight_decay=5e-4, head_lr_factor=10.0
        ),
        schedule=ScheduleConfig(
            epochs=epochs,
            kind="multistep",
            milestones=(2 * epochs // 3,),
            gamma=0.1,
            warmup_iters=warm_epochs * (AGREID23_TRAIN_IMAGES // batch),
            warmup_factor=0.1,
        ),
        eval=EvalConfig(metric="cosine", flip=True),
        num_workers=8,
    )


def layumi_cpu_training(size: tuple[int, int]) -> TrainingConfig:
    """The small version: P2×K4, 8 epochs, SGD 0.01 everywhere, 1 warm-up epoch (~2,000 images)."""
    return TrainingConfig(
        input=InputConfig(height=size[0], width=size[1]),
        sampler=SamplerConfig(ids_per_batch=2, instances_per_id=4),
        augment=AugmentConfig(flip=0.5, pad=4, random_erasing=0.5),
        optim=OptimConfig(name="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4),
        schedule=ScheduleConfig(
            epochs=8, kind="multistep", milestones=(5,), warmup_iters=250, warmup_factor=0.1
        ),
        eval=EvalConfig(metric="cosine", flip=True, batch_size=128),
        num_workers=2,
    )


def circle_recipe(
    backbone: nn.Module,
    feature_dim: int,
    info: DataInfo,
    *,
    bottleneck: int,
    dropout: float,
    classifier_std: float,
    circle_gamma: float,
    circle_margin: float,
) -> Recipe:
    """ClassBlockNet on ``backbone`` with CE on the logits + circle / B on the 512-d features."""
    from agreid_losses.circle import PairwiseCircleLoss

    head = ClassBlock(feature_dim, info.num_classes, bottleneck, dropout, classifier_std)
    losses = [
        LossTerm("ce", nn.CrossEntropyLoss(), input_key="logits"),
        LossTerm(
            "circle",
            PairwiseCircleLoss(gamma=circle_gamma, margin=circle_margin, normalize_by_batch=True),
            input_key="features",
        ),
    ]
    return Recipe(
        model=ClassBlockNet(backbone, head),
        losses=losses,
        head_parameter_prefixes=(HEAD_PREFIX,),
        notes={
            "warmup": "LR warm-up over 5 epochs instead of layumi's loss warm-up",
            "sampler": "P×K with K=4 instead of layumi's shuffled batches (same batch size)",
        },
    )


class CircleHeadSettings(Protocol):
    """The ClassBlock and circle-loss fields a method config passes to :func:`circle_recipe`."""

    @property
    def bottleneck(self) -> int: ...
    @property
    def dropout(self) -> float: ...
    @property
    def classifier_std(self) -> float: ...
    @property
    def circle_gamma(self) -> float: ...
    @property
    def circle_margin(self) -> float: ...


class HRNetCircleSettings(CircleHeadSettings, Protocol):
    """:class:`CircleHeadSettings` plus the HRNet backbone fields."""

    @property
    def variant(self) -> str: ...
    @property
    def pretrained(self) -> bool: ...
    @property
    def weights(self) -> str | None: ...


def configured_circle_recipe(
    backbone: nn.Module, feature_dim: int, info: DataInfo, cfg: CircleHeadSettings
) -> Recipe:
    """:func:`circle_recipe` with the head and loss settings read from ``cfg``."""
    return circle_recipe(
        backbone,
        feature_dim,
        info,
        bottleneck=cfg.bottleneck,
        dropout=cfg.dropout,
        classifier_std=cfg.classifier_std,
        circle_gamma=cfg.circle_gamma,
        circle_margin=cfg.circle_margin,
    )


def hrnet_circle_recipe(cfg: HRNetCircleSettings, info: DataInfo) -> Recipe:
    """HRNet ``cfg.variant`` → GAP → ClassBlock; CE + circle / B (HRNet-18, LENS-AG-Net)."""
    from agreid_models.backbones.hrnet import HRNetBackbone

    backbone = HRNetBackbone(cfg.variant, cfg.pretrained, cfg.weights)
    return configured_circle_recipe(backbone, backbone.feature_dim, info, cfg)


@dataclass(frozen=True)
class HRNet18Config:
    """HRNet-18 + circle: model and loss settings plus the shared training section."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    variant: str = "hrnet_w18"
    pretrained: bool = True
    weights: str | None = None
    bottleneck: int = 512
    dropout: float = 0.5
    classifier_std: float = 0.001
    circle_gamma: float = 32.0
    circle_margin: float = 0.25


def paper() -> HRNet18Config:
    """layumi "HRNet-18 (all tricks+Circle)" at the 224×224 of Table 3: lr 0.01, batch 16."""
    return HRNet18Config(training=layumi_training((224, 224), lr=0.01, ids_per_batch=4))


def cpu() -> HRNet18Config:
    """``hrnet_w18_small`` (same class) at 64×64, random init, P2×K4, 8 epochs."""
    return HRNet18Config(
        training=layumi_cpu_training((64, 64)), variant="hrnet_w18_small", pretrained=False
    )


def build(cfg: HRNet18Config, info: DataInfo) -> Recipe:
    """HRNet-W18 → GAP (2048) → ClassBlock(512); CE + circle / B."""
    return hrnet_circle_recipe(cfg, info)


SPEC: MethodSpec[HRNet18Config] = MethodSpec(
    summary="HRNet-18 + circle: HRNet-W18, GAP, ClassBlock(512), CE + circle/B, SGD (layumi)",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="Wang et al., Deep High-Resolution Representation Learning, TPAMI 2020; Sun et al., "
    "Circle Loss, CVPR 2020; layumi Person_reID_baseline_pytorch; AG-ReID2023 baseline",
)
