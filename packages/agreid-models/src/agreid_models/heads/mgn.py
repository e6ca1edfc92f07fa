"""MGN: Multiple Granularity Network (Wang et al., "Learning Discriminative Features with
Multiple Granularities for Person Re-Identification", ACM MM 2018).

A ResNet trunk is shared up to a split point (by default the output of ``layer3``). Three
branches follow, each with its own deep copy of ``layer4`` (and, with
``split="layer3.0"``, of ``layer3[1:]``):

- ``g``: the global branch. Its ``layer4`` keeps the trunk's stride (2 for a stock ResNet,
  as in the MGN paper); ``global_last_stride=1`` gives the all-stride-1 variant that
  fast-reid's MGN inherits from ``LAST_STRIDE: 1``.
- ``p2`` / ``p3``: part branches whose ``layer4`` runs with stride 1. Each gives one feature
  pooled over the whole map plus one per horizontal stripe (2 resp. 3 stripes).

Every one of the eight pooled vectors (max pooling by default, as in the paper) goes through
its own reduction, a 1×1 conv to ``reduction_dim`` (256) + BatchNorm + ReLU, and, when
``num_classes > 0``, its own bias-free linear classifier.

Outputs of :meth:`MGN.forward` (``D = reduction_dim``, ``K = num_classes``):

- ``triplet_features_g``, ``triplet_features_p2``, ``triplet_features_p3``: (B, D) the
  reduced whole-map features of each branch (the paper's triplet-loss inputs);
- ``features``: (B, 3·D) their concatenation in the order g, p2, p3;
- ``part_features_p2`` (B, 2·D) and ``part_features_p3`` (B, 3·D): the concatenated stripe
  features (fast-reid's two extra triplet inputs);
- ``logits_{name}``: (B, K) for every name in :data:`FEATURE_NAMES`;
- ``embedding``: (B, 8·D) all eight reduced features concatenated in :data:`FEATURE_NAMES`
  order (2048-d for D = 256), the retrieval feature.

Stripe pooling uses adaptive pooling, so a map whose height is not a multiple of the stripe
count (e.g. 4 rows into 3 stripes at 64×32 input) gets overlapping stripes of equal height.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_core.method import EMBEDDING

#: Branch names and how many horizontal stripes each branch splits its map into.
BRANCH_STRIPES: tuple[tuple[str, int], ...] = (("g", 1), ("p2", 2), ("p3", 3))

#: The eight reduced features, in the order they are concatenated into ``embedding``.
FEATURE_NAMES: tuple[str, ...] = ("g", "p2", "p3", "p2_0", "p2_1", "p3_0", "p3_1", "p3_2")

PoolMode = Literal["max", "avg"]


def set_first_block_stride_one(layer: nn.Module) -> None:
    """Make the first residual block of ``layer`` (an ``nn.Sequential``) keep resolution.

    Every stride-2 conv of the block (main path and shortcut) and any stride-2 average pool
    of a ResNet-D shortcut get stride 1. A block that already has stride 1 is unchanged.
    """
    block = next(iter(layer.children()))
    for module in block.modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (1, 1)
        if isinstance(module, nn.AvgPool2d) and module.stride == 2:
            module.stride = 1
            module.kernel_size = 1


def stripe_pool(x: Tensor, stripes: int, mode: PoolMode = "max") -> Tensor:
    """Pool a map (B, C, H, W) into ``stripes`` horizontal stripes: (B, C, stripes).

    Stripe ``i`` covers rows ``floor(i·H/n)`` to ``ceil((i+1)·H/n)`` (adaptive pooling).
    """
    pool = F.adaptive_max_pool2d if mode == "max" else F.adaptive_avg_pool2d
    out: Tensor = pool(x, (stripes, 1)).squeeze(3)
    return out


class Reduction(nn.Module):
    """Pooled vector (B, C) → 1×1 conv (no bias) → BatchNorm → ReLU → (B, D)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_dim, out_dim, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(out_dim)
        self.act = nn.ReLU(inplace=True)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="relu")
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Reduce ``x`` (B, C) to (B, D)."""
        out: Tensor = self.act(self.bn(self.conv(x[:, :, None, None])))
        return out.flatten(1)


class MGN(nn.Module):
    """Three-branch MGN head on a shared ResNet trunk (see the module docstring).

    Args:
        shared: the trunk up to the split point (stem, layer1–layer3 by default).
        layer4: the trunk's ``layer4``; it is deep-copied into every branch (the module
            passed in is not registered itself).
        feature_dim: channels of ``layer4``'s output (2048 for ResNet-50, 512 for -18).
        num_classes: identities for the eight classifiers; 0 builds no classifier.
        reduction_dim: size of each reduced feature (256 in the paper).
        branch_prefix: optional module placed before ``layer4`` in every branch, also
            deep-copied (``layer3[1:]`` for the paper's split after ``layer3[0]``).
        global_last_stride: 2 keeps ``layer4``'s stride in the global branch (paper);
            1 makes it stride 1 like the part branches (fast-reid with ``LAST_STRIDE 1``).
            Assumes ``layer4`` arrives with its stock stride 2.
        pool: ``"max"`` (paper) or ``"avg"`` pooling of the whole map and the stripes.
        classifier_std: std of the normal init of the classifier weights.
    """

    def __init__(
        self,
        shared: nn.Module,
        layer4: nn.Module,
        feature_dim: int,
        num_classes: int,
        reduction_dim: int = 256,
        branch_prefix: nn.Module | None = None,
        global_last_stride: Literal[1, 2] = 2,
        pool: PoolMode = "max",
        classifier_std: float = 0.001,
    ) -> None:
        super().__init__()
        self.shared = shared
        self.pool_mode: PoolMode = pool
        self.reduction_dim = reduction_dim
        self.feature_dim = feature_dim
        self.embedding_dim = reduction_dim * len(FEATURE_NAMES)
        branches: dict[str, nn.Module] = {}
        for name, stripes in BRANCH_STRIPES:
            deep = copy.deepcopy(layer4)
            if stripes > 1 or global_last_stride == 1:
                set_first_block_stride_one(deep)
            parts: list[nn.Module] = [deep]
            if branch_prefix is not None:
                parts.insert(0, copy.deepcopy(branch_prefix))
            branches[name] = nn.Sequential(*parts)
        self.branches = nn.ModuleDict(branches)
        self.reductions = nn.ModuleDict(
            {name: Reduction(feature_dim, reduction_dim) for name in FEATURE_NAMES}
        )
        self.classifiers: nn.ModuleDict | None = None
        if num_classes > 0:
            classifiers = {}
            for name in FEATURE_NAMES:
                linear = nn.Linear(reduction_dim, num_classes, bias=False)
                nn.init.normal_(linear.weight, std=classifier_std)
                classifiers[name] = linear
            self.classifiers = nn.ModuleDict(classifiers)

    @classmethod
    def from_timm_resnet(
        cls,
        resnet: Any,
        num_classes: int,
        *,
        reduction_dim: int = 256,
        split: Literal["layer3", "layer3.0"] = "layer3",
        global_last_stride: Literal[1, 2] = 2,
        pool: PoolMode = "max",
    ) -> MGN:
        """Build MGN from a timm (or torchvision) ResNet with stock strides.

        ``split="layer3"`` shares the trunk through ``layer3``; ``"layer3.0"`` shares it
        through ``layer3[0]`` only and copies ``layer3[1:]`` into every branch, which is
        where the MGN paper (and fast-reid) branch off.
        """
        act = resnet.act1 if hasattr(resnet, "act1") else resnet.relu
        stem: list[nn.Module] = [resnet.conv1, resnet.bn1, act, resnet.maxpool]
        stem += [resnet.layer1, resnet.layer2]
        prefix: nn.Module | None = None
        if split == "layer3":
            stem.append(resnet.layer3)
        else:
            blocks = list(resnet.layer3.children())
            stem.append(blocks[0])
            prefix = nn.Sequential(*blocks[1:])
        feature_dim = int(getattr(resnet, "num_features", 0)) or stage_out_channels(resnet.layer4)
        return cls(
            nn.Sequential(*stem),
            resnet.layer4,
            feature_dim,
            num_classes,
            reduction_dim=reduction_dim,
            branch_prefix=prefix,
            global_last_stride=global_last_stride,
            pool=pool,
        )

    def branch_maps(self, images: Tensor) -> dict[str, Tensor]:
        """The final feature map of each branch: ``{"g": ..., "p2": ..., "p3": ...}``."""
        shared = self.shared(images)
        return {name: branch(shared) for name, branch in self.branches.items()}

    def pooled_features(self, maps: dict[str, Tensor]) -> dict[str, Tensor]:
        """The eight pooled (B, C) vectors named as in :data:`FEATURE_NAMES`."""
        pooled: dict[str, Tensor] = {}
        for name, stripes in BRANCH_STRIPES:
            pooled[name] = stripe_pool(maps[name], 1, self.pool_mode)[:, :, 0]
            if stripes > 1:
                parts = stripe_pool(maps[name], stripes, self.pool_mode)
                for i in range(stripes):
                    pooled[f"{name}_{i}"] = parts[:, :, i]
        return pooled

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids are unused); keys in the module doc."""
        pooled = self.pooled_features(self.branch_maps(images))
        reduced = {name: self.reductions[name](pooled[name]) for name in FEATURE_NAMES}
        out: dict[str, Tensor] = {}
        for name, _ in BRANCH_STRIPES:
            out[f"triplet_features_{name}"] = reduced[name]
        out["features"] = torch.cat([reduced[n] for n, _ in BRANCH_STRIPES], dim=1)
        out["part_features_p2"] = torch.cat([reduced["p2_0"], reduced["p2_1"]], dim=1)
        out["part_features_p3"] = torch.cat([reduced[f"p3_{i}"] for i in range(3)], dim=1)
        if self.classifiers is not None:
            for name in FEATURE_NAMES:
                out[f"logits_{name}"] = self.classifiers[name](reduced[name])
        out[EMBEDDING] = torch.cat([reduced[n] for n in FEATURE_NAMES], dim=1)
        return out


def stage_out_channels(layer: nn.Module) -> int:
    """Output channels of a residual stage: the size of its last BatchNorm2d."""
    last = [m for m in layer.modules() if isinstance(m, nn.BatchNorm2d)]
    if not last:
        raise ValueError("cannot infer the feature dim: no BatchNorm2d in layer4")
    return int(last[-1].num_features)


def build_mgn(
    depth: int = 50,
    num_classes: int = 0,
    pretrained: bool = False,
    weights: str | None = None,
    reduction_dim: int = 256,
    split: Literal["layer3", "layer3.0"] = "layer3",
    global_last_stride: Literal[1, 2] = 2,
    pool: PoolMode = "max",
) -> MGN:
    """MGN on a timm ``resnet{depth}`` (pretrained / local weights as for the backbones)."""
    from agreid_models.backbones.pretrained import create_timm

    resnet = create_timm(f"resnet{depth}", pretrained, weights, num_classes=0, global_pool="")
    return MGN.from_timm_resnet(
        resnet,
        num_classes,
        reduction_dim=reduction_dim,
        split=split,
        global_last_stride=global_last_stride,
        pool=pool,
    )
