"""MFE — multi-feature ensemble of three separately trained encoders (AG-ReID2023 A.4; card 4.4).

Paper facts: three ImageNet-initialised encoders trained separately on AG-ReID only:

1. ``ctl``: whole-image ResNet-50 following CTL (Wieczorek et al.): triplet (margin 0.3) +
   center + CE + centroid triplet; 120 epochs, Adam 3.5e-4;
2. ``attention``: ResNet-50 with PSTA's spatial attention, triplet + CE; 500 epochs,
   Adam 3e-4;
3. ``vit``: TransReID ViT with overlapping stride-12 patches, soft triplet; 120 epochs,
   SGD 0.008;

gallery features averaged per identity; final score = sum of the three cosine similarities.

Mapping onto the engine (card values where the paper is silent):

- each encoder is one stage with its own :class:`~agreid_core.config.TrainingConfig`
  section (``ctl``, ``attention``, ``vit``: optimiser, schedule, sampler, normalisation);
  the method's ``training`` section gives the shared input size and the evaluation;
- ``ctl``: ResNet (last stride 1) → GAP → BNNeck; CE on the logits, batch-hard triplet,
  center (5e-4) and centroid triplet on the pooled feature; embedding = post-BN;
- ``attention``: ResNet → 1×1 conv (2048 → 1024) + BN + ReLU →
  :class:`~agreid_models.heads.spatial_attention.SpatialAttentionHead` (1×1 conv C → C/8 →
  ReLU → conv → sigmoid map, residual ``x + x ⊙ A``) → BNNeck; label-smoothed CE + triplet
  on cosine distance (PSTA); this is the simple spatial gate, not PSTA's relation-based SRA
  gate (the card's image version of it is not implemented);
- ``vit``: :class:`~agreid_models.backbones.vit.ViTBackbone` (stride 12, SIE ×3 on the
  camera) → BNNeck; CE without smoothing + soft-margin triplet; embedding = pre-BN CLS.
  TransReID's JPM branch is not implemented (no shared JPM head exists yet);
- fusion: :class:`~agreid_models.ensemble.FusedEnsemble`, whose cosine distance ranks as the
  sum of the encoders' cosine similarities; it re-normalises the evaluation images for the
  ViT's mean = std = 0.5;
- ``encoders`` lists the members (drop one for an ablation, e.g.
  ``--set encoders=ctl,vit``); ``encoder_weights`` weights them (empty: equal);
- the gallery centroids read gallery identity labels, so they are oracle and off by default:
  ``agreid run --method mfe --oracle --set training.eval.centroid_gallery=true`` reproduces
  the paper's setting (centroids of the fused, per-encoder-normalised features).

The ``cpu`` profile: ResNet-18 trunks and a ViT of width 64 / 2 layers at 64×32, 1 epoch
each, random initialisation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

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
from agreid_models.global_net import GlobalFeatureNet
from agreid_models.heads.bnneck import BNNeck
from agreid_models.heads.pooling import GlobalAveragePooling

Encoder = Literal["ctl", "attention", "vit"]
ENCODERS: tuple[Encoder, ...] = ("ctl", "attention", "vit")

#: Training images of the AG-ReID2023 split, to turn warm-up epochs into iterations.
AGREID23_TRAIN_IMAGES = 51_530
#: TransReID's pixel normalisation.
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class MFEConfig:
    """MFE's encoders, their losses and per-encoder training sections."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    encoders: tuple[str, ...] = ENCODERS
    encoder_weights: tuple[float, ...] = ()
    ctl: TrainingConfig = field(default_factory=TrainingConfig)
    attention: TrainingConfig = field(default_factory=TrainingConfig)
    vit: TrainingConfig = field(default_factory=TrainingConfig)
    depth: int = 50
    last_stride: int = 1
    pretrained: bool = True
    ctl_margin: float = 0.3
    ctl_label_smoothing: float = 0.0
    ctl_center_weight: float = 5e-4
    ctl_centroid_triplet: bool = True
    attention_reduce_dim: int = 1024
    attention_label_smoothing: float = 0.1
    attention_margin: float = 0.3
    vit_embed_dim: int = 0
    vit_depth: int = 0
    vit_heads: int = 0
    vit_sie: bool = True
    vit_sie_coef: float = 3.0
    vit_drop_path: float = 0.1


def _check_encoders(encoders: Sequence[str]) -> tuple[Encoder, ...]:
    unknown = [e for e in encoders if e not in ENCODERS]
    if not encoders or unknown or len(set(encoders)) != len(encoders):
        raise ValueError(
            f"encoders must be distinct names from {', '.join(ENCODERS)}, got {tuple(encoders)}"
        )
    return tuple(e for e in ENCODERS if e in encoders)


class AttentionEncoder(nn.Module):
    """ResNet → 1×1 reduction (conv + BN + ReLU) → spatial attention + GAP → BNNeck.

    Outputs ``features`` (pooled, attended), ``neck_features``, ``logits``, ``attention``
    (B, 1, h, w) and ``embedding`` (post-BN).
    """

    def __init__(self, backbone: nn.Module, in_dim: int, dim: int, num_classes: int) -> None:
        super().__init__()
        from agreid_models.heads.spatial_attention import SpatialAttentionHead

        self.backbone = backbone
        self.reduce = nn.Sequential(
            nn.Conv2d(in_dim, dim, 1, bias=False), nn.BatchNorm2d(dim), nn.ReLU(inplace=True)
        )
        self.head = SpatialAttentionHead(dim, hidden_channels=max(dim // 8, 1), residual=True)
        self.neck = BNNeck(dim, num_classes)

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids are unused)."""
        head = self.head(self.reduce(self.backbone(images)))
        out = dict(self.neck(head["features"]))
        out["attention"] = head["attention"]
        out[EMBEDDING] = out["neck_features"]
        return out


def _resnet(cfg: MFEConfig) -> nn.Module:
    from agreid_models.backbones.resnet import ResNetBackbone

    return ResNetBackbone(cfg.depth, cfg.last_stride, cfg.pretrained)


def build_ctl(cfg: MFEConfig, info: DataInfo) -> Recipe:
    """Encoder 1 (CTL): CE + triplet + center + centroid triplet."""
    from agreid_losses.center import CenterLoss
    from agreid_losses.centroid_triplet import CentroidTripletLoss
    from agreid_losses.cross_entropy import CrossEntropyLabelSmooth
    from agreid_losses.triplet import TripletLoss

    backbone = _resnet(cfg)
    dim = int(getattr(backbone, "feature_dim"))  # noqa: B009
    model = GlobalFeatureNet(backbone, GlobalAveragePooling(), BNNeck(dim, info.num_classes))
    ce = CrossEntropyLabelSmooth(info.num_classes, epsilon=cfg.ctl_label_smoothing)
    losses = [
        LossTerm("ce", ce, input_key="logits"),
        LossTerm("triplet", TripletLoss(margin=cfg.ctl_margin), input_key="features"),
        LossTerm(
            "center",
            CenterLoss(info.num_classes, dim),
            input_key="features",
            weight=cfg.ctl_center_weight,
        ),
    ]
    if cfg.ctl_centroid_triplet:
        ctl = CentroidTripletLoss(margin=cfg.ctl_margin)
        losses.append(LossTerm("centroid_triplet", ctl, input_key="features"))
    return Recipe(model=model, losses=losses, head_parameter_prefixes=("neck.",))


def build_attention(cfg: MFEConfig, info: DataInfo) -> Recipe:
    """Encoder 2: spatial-attention ResNet, CE-LS + triplet on cosine distance."""
    from agreid_losses.cross_entropy import CrossEntropyLabelSmooth
    from agreid_losses.triplet import TripletLoss

    backbone = _resnet(cfg)
    in_dim = int(getattr(backbone, "feature_dim"))  # noqa: B009
    model = AttentionEncoder(backbone, in_dim, cfg.attention_reduce_dim, info.num_classes)
    ce = CrossEntropyLabelSmooth(info.num_classes, epsilon=cfg.attention_label_smoothing)
    triplet = TripletLoss(margin=cfg.attention_margin, normalize_features=True)
    losses = [
        LossTerm("ce", ce, input_key="logits"),
        LossTerm("triplet", triplet, input_key="features"),
    ]
    return Recipe(model=model, losses=losses, head_parameter_prefixes=("reduce.", "head.", "neck."))


def build_vit(cfg: MFEConfig, info: DataInfo) -> Recipe:
    """Encoder 3: stride-12 ViT with SIE, CE + soft triplet, pre-BN embedding."""
    from agreid_losses.cross_entropy import CrossEntropyLabelSmooth
    from agreid_losses.triplet import TripletLoss
    from agreid_models.backbones.vit import ViTBackbone

    inp = cfg.training.input
    backbone = ViTBackbone(
        img_size=(inp.height, inp.width),
        stride=12,
        num_cameras=info.num_cameras if cfg.vit_sie else 0,
        sie_coef=cfg.vit_sie_coef,
        drop_path_rate=cfg.vit_drop_path,
        embed_dim=cfg.vit_embed_dim or None,
        depth=cfg.vit_depth or None,
        num_heads=cfg.vit_heads or None,
        pretrained=cfg.pretrained,
    )
    dim = backbone.feature_dim
    model = GlobalFeatureNet(
        backbone,
        GlobalAveragePooling(),
        BNNeck(dim, info.num_classes),
        embedding_from="pooled",
        camera_aware=cfg.vit_sie,
    )
    losses = [
        LossTerm("ce", CrossEntropyLabelSmooth(info.num_classes, epsilon=0.0), "logits"),
        LossTerm("triplet", TripletLoss(margin=None), input_key="features"),
    ]
    return Recipe(model=model, losses=losses, head_parameter_prefixes=("neck.",))


BUILDERS = {"ctl": build_ctl, "attention": build_attention, "vit": build_vit}


def build_encoder(cfg: MFEConfig, encoder: str, info: DataInfo) -> Recipe:
    """The recipe of ``encoder`` (``ctl``, ``attention`` or ``vit``)."""
    return BUILDERS[_check_encoders([encoder])[0]](cfg, info)


def build(cfg: MFEConfig, info: DataInfo) -> Recipe:
    """The first configured encoder's recipe (what conformance checks build)."""
    return build_encoder(cfg, _check_encoders(cfg.encoders)[0], info)


def encoder_training(cfg: MFEConfig, encoder: str, t: TrainingConfig) -> TrainingConfig:
    """The encoder's own section with the method's input size, evaluation and workers."""
    own: TrainingConfig = getattr(cfg, _check_encoders([encoder])[0])
    size = dataclasses.replace(own.input, height=t.input.height, width=t.input.width)
    return dataclasses.replace(own, input=size, eval=t.eval, num_workers=t.num_workers)


def stages(cfg: MFEConfig) -> list[Stage]:
    """One stage per configured encoder, each trained alone with its own section."""

    def stage(encoder: str) -> Stage:
        return Stage(
            encoder,
            lambda ctx, info: build_encoder(ctx.config, encoder, info),
            training=lambda t: encoder_training(cfg, encoder, t),
            summary=f"MFE encoder {encoder}",
        )

    return [stage(e) for e in _check_encoders(cfg.encoders)]


def assemble(ctx: StageContext) -> nn.Module:
    """Sum of the encoders' cosine similarities, each encoder fed its own normalisation."""
    from agreid_models.ensemble import FusedEnsemble

    cfg: MFEConfig = ctx.config
    names = _check_encoders(cfg.encoders)
    inp = cfg.training.input
    targets = [(getattr(cfg, n).input.mean, getattr(cfg, n).input.std) for n in names]
    return FusedEnsemble(
        [ctx.models[n] for n in names],
        cfg.encoder_weights or None,
        input_stats=((inp.mean, inp.std), targets),
    )


def _section(
    ids: int,
    optim: OptimConfig,
    schedule: ScheduleConfig,
    mean_std: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None,
) -> TrainingConfig:
    inp = InputConfig() if mean_std is None else InputConfig(mean=mean_std[0], std=mean_std[1])
    return TrainingConfig(
        input=inp,
        sampler=SamplerConfig(ids_per_batch=ids, instances_per_id=4),
        augment=AugmentConfig(flip=0.5, pad=10, random_erasing=0.5),
        optim=optim,
        schedule=schedule,
        num_workers=8,
    )


def _warmup(epochs: int, batch: int) -> int:
    return epochs * (AGREID23_TRAIN_IMAGES // batch)


def paper() -> MFEConfig:
    """Three encoders at 256×128 with each original method's schedule (card 4.4)."""
    ctl = _section(
        4,
        OptimConfig(name="adam", lr=3.5e-4, weight_decay=5e-4),
        ScheduleConfig(
            epochs=120, milestones=(40, 70), warmup_iters=_warmup(10, 16), warmup_factor=0.1
        ),
    )
    attention = _section(
        8,
        OptimConfig(name="adam", lr=3e-4, weight_decay=5e-4),
        ScheduleConfig(
            epochs=500,
            milestones=(70, 140, 210, 310, 410),
            gamma=0.3,
            warmup_iters=_warmup(10, 32),
            warmup_factor=0.01,
        ),
    )
    vit = _section(
        16,
        OptimConfig(name="sgd", lr=0.008, weight_decay=1e-4, momentum=0.9, bias_lr_factor=2.0),
        ScheduleConfig(
            epochs=120,
            kind="cosine",
            warmup_iters=_warmup(5, 64),
            warmup_factor=0.01,
            min_lr=0.002 * 0.008,
        ),
        mean_std=(HALF, HALF),
    )
    training = TrainingConfig(
        input=InputConfig(height=256, width=128),
        eval=EvalConfig(metric="cosine"),
        num_workers=8,
    )
    return MFEConfig(training=training, ctl=ctl, attention=attention, vit=vit)


def cpu() -> MFEConfig:
    """Same path, small: ResNet-18 trunks, ViT 64-d × 2 layers, 64×32, P4×K4, 4 epochs each
    (about a minute an encoder on two cores)."""
    p = paper()

    def small(t: TrainingConfig, lr: float | None = None) -> TrainingConfig:
        return dataclasses.replace(
            t,
            sampler=dataclasses.replace(t.sampler, ids_per_batch=4),
            augment=dataclasses.replace(t.augment, pad=2),
            optim=dataclasses.replace(t.optim, lr=lr or t.optim.lr),
            schedule=dataclasses.replace(t.schedule, epochs=4, milestones=(3,), warmup_iters=10),
            num_workers=2,
        )

    training = dataclasses.replace(
        p.training,
        input=InputConfig(height=64, width=32),
        eval=EvalConfig(metric="cosine", batch_size=128),
        num_workers=2,
    )
    return dataclasses.replace(
        p,
        training=training,
        ctl=small(p.ctl, 1e-3),
        attention=small(p.attention, 1e-3),
        vit=small(p.vit),
        depth=18,
        pretrained=False,
        attention_reduce_dim=128,
        vit_embed_dim=64,
        vit_depth=2,
        vit_heads=2,
    )


SPEC: MethodSpec[MFEConfig] = MethodSpec(
    summary="MFE: CTL ResNet-50 + spatial-attention ResNet-50 + ViT-s12, Σ cosine fusion",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="MFE (AG-ReID2023 challenge A.4); Wieczorek et al., CTL, ICONIP 2021; Wang et "
    "al., PSTA, ICCV 2021; He et al., TransReID, ICCV 2021",
    stages=stages,
    assemble=assemble,
)

#: Registered name → spec.
SPECS: dict[str, MethodSpec[MFEConfig]] = {"mfe": SPEC}
