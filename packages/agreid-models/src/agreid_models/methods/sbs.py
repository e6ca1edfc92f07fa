"""SBS(R50) — fast-reid's "Stronger Baseline" as run in the AG-ReID2023 challenge (Table 3).

The challenge's ``sbs_R50.yml`` only inherits fast-reid's ``Base-SBS.yml`` (itself on top of
``Base-bagtricks.yml``): ResNet-50 with last stride 1 and non-local blocks after the last two
bottlenecks of ``layer2`` and the last three of ``layer3``; GeM pooling with learnable p
(init 3); BNNeck whose classifier is a CircleSoftmax (s 64, m 0.35); the neck feature
(after BN) feeds both losses: label-smoothed CE (fast-reid form, ε 0.1) on the CircleSoftmax
logits and the soft-margin batch-hard triplet, both weight 1. Data: 384×128, P4×K16, flip,
pad 10 + crop, random erasing 0.5. Adam 3.5e-4, wd 5e-4, AMP, 60 epochs, warm-up 2000
iterations from 0.1, and the backbone frozen (no update, BatchNorm in eval mode) for the first
1000 iterations while the head trains. Test: cosine distance on the neck feature.

What the engine cannot express, and how it is handled:

- fast-reid keeps the LR constant for 30 ``DELAY_EPOCHS`` and then anneals it with a cosine to
  7e-7 over the remaining 30 epochs. :class:`~agreid_core.config.ScheduleConfig` has no delay,
  so the ``paper`` profile anneals over all 60 epochs (same end point, earlier decay).
- AutoAugment (p 0.1) has no switch in :class:`~agreid_core.config.AugmentConfig`: omitted.
- The backbone freeze is implemented inside the model (:class:`FreezeCounter`): it counts
  training forwards, so under DistributedDataParallel the ``paper`` profile sets
  ``ddp_find_unused_parameters`` (frozen iterations leave the backbone out of the graph).

The CircleSoftmax class weights live in the loss module (its margin needs the labels), so the
network's BNNeck is built without a classifier; the trainer optimises the loss parameters too.

The ``cpu`` profile runs the same code (non-local blocks, GeM, CircleSoftmax, soft triplet,
freeze) with a random-init ResNet-18 at 96×32, P4×K4 and 8 epochs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

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
from agreid_core.method import EMBEDDING, DataInfo, LossTerm, MethodSpec, Recipe
from agreid_models.backbones.resnet import ResNetBackbone
from agreid_models.heads.bnneck import BNNeck
from agreid_models.heads.pooling import GeneralizedMeanPooling

T = TypeVar("T")

#: fast-reid's ``NL_LAYERS_PER_STAGE`` for ResNet-50: non-local blocks per stage (layer1–4).
SBS_NON_LOCAL: tuple[int, int, int, int] = (0, 2, 3, 0)


class NonLocalBlock(nn.Module):
    """Non-local block (Wang et al., CVPR 2018), dot-product form divided by N as in fast-reid.

    θ, φ, g are 1×1 convs to ``channels // reduction``; y = (θᵀφ / N)·g; the output is
    x + BN(conv(y)) with the BatchNorm's weight and bias zero-initialised, so a new block is
    the identity and pretrained trunks keep their behaviour at step 0.
    """

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        inter = max(channels // reduction, 1)
        self.inter_channels = inter
        self.g = nn.Conv2d(channels, inter, kernel_size=1)
        self.theta = nn.Conv2d(channels, inter, kernel_size=1)
        self.phi = nn.Conv2d(channels, inter, kernel_size=1)
        self.out = nn.Conv2d(inter, channels, kernel_size=1)
        self.bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, H, W) → x + W·y, same shape."""
        b, _, h, w = x.shape
        n = h * w
        g = self.g(x).flatten(2).transpose(1, 2)  # (B, N, I)
        theta = self.theta(x).flatten(2).transpose(1, 2)  # (B, N, I)
        phi = self.phi(x).flatten(2)  # (B, I, N)
        attn = theta @ phi / n  # (B, N, N)
        y = (attn @ g).transpose(1, 2).reshape(b, self.inter_channels, h, w)
        out: Tensor = x + self.bn(self.out(y))
        return out


def _block_out_channels(block: nn.Module) -> int:
    norms = [m for m in block.modules() if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        raise ValueError("cannot infer a residual block's channels: no BatchNorm2d")
    # the last BN of the main path (a downsample BN comes after it in module order)
    bn = getattr(block, "bn3", None) or getattr(block, "bn2", None) or norms[-1]
    return int(bn.num_features)


def add_non_local(resnet: Any, per_stage: Sequence[int]) -> int:
    """Insert :class:`NonLocalBlock` after the last ``per_stage[i]`` blocks of ``layer{i+1}``.

    Works on a timm/torchvision ResNet in place; returns the number of blocks inserted.
    """
    if len(per_stage) != 4:
        raise ValueError(f"per_stage needs one count per stage (4), got {tuple(per_stage)}")
    inserted = 0
    for i, count in enumerate(per_stage):
        if count <= 0:
            continue
        name = f"layer{i + 1}"
        blocks = list(getattr(resnet, name).children())
        if count > len(blocks):
            raise ValueError(f"{name} has {len(blocks)} blocks, cannot add {count} non-local")
        first = len(blocks) - count
        modules: list[nn.Module] = []
        for j, block in enumerate(blocks):
            modules.append(block)
            if j >= first:
                modules.append(NonLocalBlock(_block_out_channels(block)))
                inserted += 1
        setattr(resnet, name, nn.Sequential(*modules))
    return inserted


class FreezeCounter(nn.Module):
    """Counts training forwards; the first ``iters`` of them are "frozen" (fast-reid
    ``FREEZE_ITERS``).

    The count is a buffer, so it is saved with the model and survives a resume.
    """

    def __init__(self, iters: int) -> None:
        super().__init__()
        self.iters = int(iters)
        self.seen: Tensor
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))
        self._done = self.iters <= 0

    def tick(self, training: bool) -> bool:
        """Whether this forward is frozen; counts it when it is."""
        if self._done or not training:
            return False
        if int(self.seen) >= self.iters:
            self._done = True
            return False
        self.seen.add_(1)
        return True


def run_frozen(modules: Sequence[nn.Module], fn: Callable[[], T], frozen: bool) -> T:
    """Call ``fn``; when ``frozen``, without gradients and with ``modules`` in eval mode.

    Parameters that get no gradient are skipped by the optimiser step (no update, no weight
    decay), and eval mode keeps their BatchNorm statistics fixed: fast-reid's layer freeze.
    """
    if not frozen:
        return fn()
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        with torch.no_grad():
            return fn()
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


class SBSNet(nn.Module):
    """Backbone → GeM → BNNeck (no classifier), backbone frozen for the first iterations.

    ``forward`` returns ``features`` (pooled, before BN), ``neck_features`` (after BN) and
    ``embedding`` (= ``neck_features``).
    """

    def __init__(
        self, backbone: nn.Module, pool: nn.Module, neck: nn.Module, freeze_iters: int = 0
    ) -> None:
        super().__init__()
        self.backbone, self.pool, self.neck = backbone, pool, neck
        self.freeze = FreezeCounter(freeze_iters)

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids are unused)."""
        frozen = self.freeze.tick(self.training)
        fmap = run_frozen([self.backbone], lambda: self.backbone(images), frozen)
        out: dict[str, Tensor] = dict(self.neck(self.pool(fmap)))
        out[EMBEDDING] = out["neck_features"]
        return out


@dataclass(frozen=True)
class SBSConfig:
    """SBS model and loss settings plus the shared training section."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    depth: int = 50
    last_stride: int = 1
    non_local: tuple[int, int, int, int] = SBS_NON_LOCAL
    pretrained: bool = True
    weights: str | None = None
    gem_p: float = 3.0
    circle_scale: float = 64.0
    circle_margin: float = 0.35
    label_smoothing: float = 0.1
    smoothing_variant: Literal["bot", "fastreid"] = "fastreid"
    #: None = soft-margin triplet (fast-reid ``MARGIN: 0.0``)
    triplet_margin: float | None = None
    ce_weight: float = 1.0
    triplet_weight: float = 1.0
    #: iterations during which the backbone is not updated (fast-reid ``FREEZE_ITERS``)
    freeze_iters: int = 1000


def paper() -> SBSConfig:
    """fast-reid ``Base-SBS.yml`` (via the challenge's ``sbs_R50.yml``)."""
    return SBSConfig(
        training=TrainingConfig(
            input=InputConfig(height=384, width=128),
            sampler=SamplerConfig(ids_per_batch=4, instances_per_id=16),
            augment=AugmentConfig(flip=0.5, pad=10, random_erasing=0.5),
            optim=OptimConfig(name="adam", lr=3.5e-4, weight_decay=5e-4),
            schedule=ScheduleConfig(
                epochs=60,
                kind="cosine",
                milestones=(),
                warmup_iters=2000,
                warmup_factor=0.1,
                min_lr=7e-7,
            ),
            eval=EvalConfig(metric="cosine"),
            amp=True,
            num_workers=8,
            ddp_find_unused_parameters=True,
        ),
    )


def cpu() -> SBSConfig:
    """Same path, small: random-init ResNet-18 (+ non-local) at 96×32, P4×K4, 8 epochs.

    P4×K4 rather than the card's P2×K4: per-iteration overhead dominates on two cores, and 16
    images per step train ~2,000 images in about 4 minutes (8 per step: about 5.5). Adam 1e-3
    instead of 3.5e-4 for the random initialisation (as BoT's ``cpu`` profile); the backbone
    freeze is kept but shortened to 20 iterations.
    """
    return SBSConfig(
        training=TrainingConfig(
            input=InputConfig(height=96, width=32),
            sampler=SamplerConfig(ids_per_batch=4, instances_per_id=4),
            augment=AugmentConfig(flip=0.5, pad=4, random_erasing=0.5),
            optim=OptimConfig(name="adam", lr=1e-3, weight_decay=5e-4),
            schedule=ScheduleConfig(
                epochs=8,
                kind="cosine",
                milestones=(),
                warmup_iters=40,
                warmup_factor=0.1,
                min_lr=2e-6,
            ),
            eval=EvalConfig(metric="cosine", batch_size=128),
            num_workers=2,
        ),
        depth=18,
        non_local=(0, 2, 2, 0),
        pretrained=False,
        freeze_iters=20,
    )


def build(cfg: SBSConfig, info: DataInfo) -> Recipe:
    """ResNet+NL → GeM → BNNeck; CE-LS on CircleSoftmax logits + soft triplet, both on the
    neck feature."""
    from agreid_losses.margin_heads import CircleSoftmax, MarginSoftmaxLoss
    from agreid_losses.triplet import TripletLoss

    backbone = ResNetBackbone(cfg.depth, cfg.last_stride, cfg.pretrained, cfg.weights)
    add_non_local(backbone.body, cfg.non_local)
    dim = backbone.feature_dim
    model = SBSNet(
        backbone,
        GeneralizedMeanPooling(p=cfg.gem_p),
        BNNeck(dim, 0),
        freeze_iters=cfg.freeze_iters,
    )
    circle = CircleSoftmax(dim, info.num_classes, scale=cfg.circle_scale, margin=cfg.circle_margin)
    losses = [
        LossTerm(
            "ce",
            MarginSoftmaxLoss(circle, epsilon=cfg.label_smoothing, variant=cfg.smoothing_variant),
            input_key="neck_features",
            weight=cfg.ce_weight,
        ),
        LossTerm(
            "triplet",
            TripletLoss(margin=cfg.triplet_margin),
            input_key="neck_features",
            weight=cfg.triplet_weight,
        ),
    ]
    return Recipe(
        model=model,
        losses=losses,
        head_parameter_prefixes=("pool.", "neck."),
        notes={
            "schedule": "cosine over all epochs (fast-reid delays it by 30 epochs: no delay "
            "option in ScheduleConfig)",
            "autoaugment": "omitted (AutoAugment p 0.1 has no AugmentConfig switch)",
        },
    )


SPEC: MethodSpec[SBSConfig] = MethodSpec(
    summary="SBS(R50): ResNet-50+NL, GeM, BNNeck+CircleSoftmax, CE-LS + soft triplet (fast-reid)",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="He et al., FastReID: A Pytorch Toolbox for General Instance Re-identification, "
    "ACM MM 2023 (Base-SBS); AG-ReID2023 challenge baseline",
)
