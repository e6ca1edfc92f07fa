"""MGN(R50) — fast-reid's MGN as run in the AG-ReID2023 challenge (Table 3).

The challenge's ``mgn_R50-ibn.yml`` inherits fast-reid's ``Base-MGN.yml`` (on ``Base-SBS.yml``):
the README says "R50" but the config sets ``WITH_IBN: True``, so the ``paper`` profile uses an
IBN-a ResNet-50 (no non-local blocks). The trunk is shared up to ``layer3[0]``; three branches
each copy ``layer3[1:]`` and ``layer4``. ``LAST_STRIDE: 1`` is inherited from bagtricks, so all
three branches (also the global one, stride 2 in the MGN paper) keep stride 1: 24×8 maps at
384×128. Each of the eight heads (g, p2, p3 whole maps; 2 + 3 stripes) is fast-reid's
embedding head: GeM (learnable p, init 3) → 1×1 conv 2048→256 without bias → BNNeck (frozen
bias) → CircleSoftmax (s 64, m 0.35); ``NECK_FEAT: after`` so both losses see the post-BN
256-d feature.

Losses (fast-reid ``mgn.py``): label-smoothed CE (fast-reid form, ε 0.1) on each of the 8
CircleSoftmax heads × 0.125, and the soft-margin batch-hard triplet × 0.2 on five features: the
three branch globals, concat(p2 stripes), concat(p3 stripes). Test: the eight post-BN features
concatenated (8 × 256 = 2048-d), cosine. Data and optimisation as SBS (384×128, P4×K16, Adam
3.5e-4, 60 epochs, cosine to 7e-7, warm-up 2000 iterations), with the trunk and the three
branches frozen (not updated, BatchNorm in eval mode) for the first 1000 iterations. The same
engine limits as SBS apply (no cosine delay, no AutoAugment); see :mod:`.sbs`.

The CircleSoftmax class weights live in the loss modules, so the network has no classifier.
The ``cpu`` profile keeps the IBN-a bottleneck trunk with one block per stage at 96×32, so the
6×2 layer4 map splits evenly into 2 and 3 stripes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from agreid_core.config import TrainingConfig
from agreid_core.method import EMBEDDING, DataInfo, LossTerm, MethodSpec, Recipe
from agreid_models.heads.mgn import BRANCH_STRIPES, FEATURE_NAMES, MGN
from agreid_models.heads.pooling import GeneralizedMeanPooling
from agreid_models.methods import sbs
from agreid_models.methods.sbs import FreezeCounter, run_frozen

#: The five triplet terms of fast-reid's MGN: loss name → model output key, weight 0.2 each.
TRIPLET_KEYS: dict[str, str] = {
    "triplet_g": "triplet_features_g",
    "triplet_p2": "triplet_features_p2",
    "triplet_p3": "triplet_features_p3",
    "triplet_p2_parts": "part_features_p2",
    "triplet_p3_parts": "part_features_p3",
}


class EmbeddingNeck(nn.Module):
    """Pooled (B, C) → 1×1 conv (as a bias-free linear) → BatchNorm1d with frozen bias → (B, D)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.conv = nn.Linear(in_dim, out_dim, bias=False)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out")
        self.bn = nn.BatchNorm1d(out_dim)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.bn.bias.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        """Reduce and normalise ``x``."""
        out: Tensor = self.bn(self.conv(x))
        return out


def gem_stripes(x: Tensor, stripes: int, pool: GeneralizedMeanPooling) -> list[Tensor]:
    """GeM of each of ``stripes`` horizontal stripes of ``x`` (B, C, H, W): list of (B, C).

    Stripe ``i`` covers rows ``floor(i·H/n)`` to ``ceil((i+1)·H/n)`` (as adaptive pooling),
    which equals fast-reid's ``torch.chunk`` split when ``n`` divides ``H``.
    """
    h = x.shape[2]
    out = []
    for i in range(stripes):
        lo, hi = (i * h) // stripes, -((-(i + 1) * h) // stripes)
        out.append(pool(x[:, :, lo:hi]))
    return out


class FastReidMGN(MGN):
    """:class:`~agreid_models.heads.mgn.MGN` with fast-reid's heads: a GeM pool and a
    conv→BNNeck embedding per feature, and a training-start freeze of trunk and branches.

    Outputs: ``features_{name}`` (B, D) for every name of ``FEATURE_NAMES`` (post-BN),
    ``triplet_features_{g,p2,p3}``, ``part_features_p2`` / ``part_features_p3``,
    ``features`` (g, p2, p3 concatenated) and ``embedding`` (all eight, 8·D).
    """

    def __init__(self, *args: Any, gem_p: float = 3.0, freeze_iters: int = 0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reductions = nn.ModuleDict(
            {n: EmbeddingNeck(self.feature_dim, self.reduction_dim) for n in FEATURE_NAMES}
        )
        self.pools = nn.ModuleDict({n: GeneralizedMeanPooling(p=gem_p) for n in FEATURE_NAMES})
        self.freeze = FreezeCounter(freeze_iters)

    def pooled_features(self, maps: dict[str, Tensor]) -> dict[str, Tensor]:
        """The eight GeM-pooled (B, C) vectors named as in ``FEATURE_NAMES``."""
        pooled: dict[str, Tensor] = {}
        for name, stripes in BRANCH_STRIPES:
            pooled[name] = self.pools[name](maps[name])
            if stripes > 1:
                for i in range(stripes):
                    key = f"{name}_{i}"
                    pool = self.pools[key]
                    assert isinstance(pool, GeneralizedMeanPooling)
                    pooled[key] = gem_stripes(maps[name], stripes, pool)[i]
        return pooled

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids are unused); keys in the class doc."""
        frozen = self.freeze.tick(self.training)
        maps = run_frozen([self.shared, self.branches], lambda: self.branch_maps(images), frozen)
        pooled = self.pooled_features(maps)
        neck = {n: self.reductions[n](pooled[n]) for n in FEATURE_NAMES}
        out: dict[str, Tensor] = {f"features_{n}": neck[n] for n in FEATURE_NAMES}
        for name, _ in BRANCH_STRIPES:
            out[f"triplet_features_{name}"] = neck[name]
        out["features"] = torch.cat([neck[n] for n, _ in BRANCH_STRIPES], dim=1)
        out["part_features_p2"] = torch.cat([neck["p2_0"], neck["p2_1"]], dim=1)
        out["part_features_p3"] = torch.cat([neck[f"p3_{i}"] for i in range(3)], dim=1)
        out[EMBEDDING] = torch.cat([neck[n] for n in FEATURE_NAMES], dim=1)
        return out


@dataclass(frozen=True)
class MGNConfig:
    """MGN model and loss settings plus the shared training section."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    backbone: Literal["resnet-ibn-a", "resnet"] = "resnet-ibn-a"
    depth: int = 50
    #: blocks per stage for the IBN-a trunk (None: the depth's); tiny trunks for the cpu profile
    layers: tuple[int, int, int, int] | None = None
    pretrained: bool = True
    weights: str | None = None
    reduction_dim: int = 256
    #: 1: fast-reid (``LAST_STRIDE 1`` inherited); 2: the MGN paper's global branch
    global_last_stride: Literal[1, 2] = 1
    gem_p: float = 3.0
    circle_scale: float = 64.0
    circle_margin: float = 0.35
    label_smoothing: float = 0.1
    smoothing_variant: Literal["bot", "fastreid"] = "fastreid"
    #: None = soft-margin triplet
    triplet_margin: float | None = None
    ce_weight: float = 0.125
    triplet_weight: float = 0.2
    freeze_iters: int = 1000


def paper() -> MGNConfig:
    """fast-reid ``Base-MGN.yml`` (via the challenge's ``mgn_R50-ibn.yml``): SBS training."""
    return MGNConfig(training=sbs.paper().training)


def cpu() -> MGNConfig:
    """Same path, small: IBN-a trunk with one block per stage, random init, SBS's cpu training."""
    return MGNConfig(
        training=sbs.cpu().training,
        layers=(1, 1, 1, 1),
        pretrained=False,
        freeze_iters=20,
    )


def _trunk(cfg: MGNConfig) -> Any:
    from agreid_models.backbones.ibn import ResNetIBNBackbone
    from agreid_models.backbones.pretrained import create_timm

    if cfg.backbone == "resnet-ibn-a":
        return ResNetIBNBackbone(
            cfg.depth,
            last_stride=2,
            pretrained=cfg.pretrained,
            weights=cfg.weights,
            layers=cfg.layers,
        ).body
    if cfg.layers is not None:
        raise ValueError("layers is only supported with backbone='resnet-ibn-a'")
    return create_timm(
        f"resnet{cfg.depth}", cfg.pretrained, cfg.weights, num_classes=0, global_pool=""
    )


def build(cfg: MGNConfig, info: DataInfo) -> Recipe:
    """MGN on an IBN-a ResNet; 8 × CE-LS(CircleSoftmax) × 0.125 + 5 × soft triplet × 0.2."""
    from agreid_losses.margin_heads import CircleSoftmax, MarginSoftmaxLoss
    from agreid_losses.triplet import TripletLoss

    model = FastReidMGN.from_timm_resnet(
        _trunk(cfg),
        0,
        reduction_dim=cfg.reduction_dim,
        split="layer3.0",
        global_last_stride=cfg.global_last_stride,
        pool="avg",
    )
    assert isinstance(model, FastReidMGN)
    model.pools = nn.ModuleDict({n: GeneralizedMeanPooling(p=cfg.gem_p) for n in FEATURE_NAMES})
    model.freeze = FreezeCounter(cfg.freeze_iters)
    losses = [
        LossTerm(
            f"ce_{name}",
            MarginSoftmaxLoss(
                CircleSoftmax(
                    cfg.reduction_dim,
                    info.num_classes,
                    scale=cfg.circle_scale,
                    margin=cfg.circle_margin,
                ),
                epsilon=cfg.label_smoothing,
                variant=cfg.smoothing_variant,
            ),
            input_key=f"features_{name}",
            weight=cfg.ce_weight,
        )
        for name in FEATURE_NAMES
    ]
    losses += [
        LossTerm(
            name,
            TripletLoss(margin=cfg.triplet_margin),
            input_key=key,
            weight=cfg.triplet_weight,
        )
        for name, key in TRIPLET_KEYS.items()
    ]
    return Recipe(
        model=model,
        losses=losses,
        head_parameter_prefixes=("pools.", "reductions."),
        notes={
            "global_branch_stride": cfg.global_last_stride,
            "schedule": "cosine over all epochs (fast-reid delays it by 30 epochs)",
            "autoaugment": "omitted (no AugmentConfig switch)",
        },
    )


SPEC: MethodSpec[MGNConfig] = MethodSpec(
    summary="MGN(R50-IBN): 3 branches, 8 GeM+BNNeck+CircleSoftmax heads, CE×1/8 + soft triplet×0.2",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="Wang et al., Learning Discriminative Features with Multiple Granularities for "
    "Person Re-Identification, ACM MM 2018; fast-reid Base-MGN; AG-ReID2023 challenge baseline",
)
