"""Swin + Circle and SwinV2 + Circle — AG-ReID2023 Table 3 baselines "Swin (224 × 224)" and
"SwinV2 (256 × 256)" (Table 4: circle loss; "Swin-T-Base", i.e. the base models).

Like HRNet-18 these come from no official config; they match
``layumi/Person_reID_baseline_pytorch`` (``--use_swin`` / ``--use_swinv2`` with ``--circle``):

- Swin (``ft_net_swin``): timm ``swin_base_patch4_window7_224``, drop_path 0.2, head removed,
  token average → 1024-d; README row "Swin (all tricks+Circle 224x224)": batch 32, lr 0.05,
  random erasing 0.5, circle, warm-up 5 epochs.
- SwinV2 (``ft_net_swinv2``): timm ``swinv2_base_window8_256`` built with ``img_size=(256, 256)``
  (Table 3; layumi's default is 256×128), drop_path 0.2 → 1024-d; README row: lr 0.03,
  batch 16, random erasing 0.5, circle, warm-up 5 epochs.

Head, losses, optimisation and test are those of :mod:`.hrnet18` (ClassBlock 512 with dropout
0.5, CE + pairwise circle γ 32 / m 0.25 divided by the batch size, SGD Nesterov with the
backbone at 0.1 × lr, 60 epochs, ×0.1 at 40, flip TTA, cosine), with the same engine
approximations (LR instead of loss warm-up, P×4 batches).

The ``cpu`` profiles build the same timm classes (``SwinTransformer`` / ``SwinTransformerV2``)
with embed_dim 32, depths (1, 1, 1, 1), heads (1, 2, 2, 4), window 2 at 64×64, so the stage
grids 16/8/4/2 all tile by the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agreid_core.config import TrainingConfig
from agreid_core.method import DataInfo, MethodSpec, Recipe
from agreid_models.methods.hrnet18 import (
    configured_circle_recipe,
    layumi_cpu_training,
    layumi_training,
)

SWIN_B = "swin_base_patch4_window7_224"
SWINV2_B = "swinv2_base_window8_256"


@dataclass(frozen=True)
class SwinConfig:
    """Swin / SwinV2 + circle: backbone, head and loss settings plus the training section.

    ``embed_dim``, ``depths``, ``num_heads`` and ``window_size`` override the timm variant's
    architecture (``None`` keeps it); the backbone is built with the training input size.
    """

    training: TrainingConfig = field(default_factory=TrainingConfig)
    variant: str = SWIN_B
    drop_path_rate: float = 0.2
    embed_dim: int | None = None
    depths: tuple[int, ...] | None = None
    num_heads: tuple[int, ...] | None = None
    window_size: int | None = None
    pretrained: bool = True
    weights: str | None = None
    bottleneck: int = 512
    dropout: float = 0.5
    classifier_std: float = 0.001
    circle_gamma: float = 32.0
    circle_margin: float = 0.25


def _tiny(variant: str) -> SwinConfig:
    return SwinConfig(
        training=layumi_cpu_training((64, 64)),
        variant=variant,
        embed_dim=32,
        depths=(1, 1, 1, 1),
        num_heads=(1, 2, 2, 4),
        window_size=2,
        pretrained=False,
    )


def swin_paper() -> SwinConfig:
    """layumi "Swin (all tricks+Circle 224x224)": Swin-B, 224×224, batch 32, lr 0.05."""
    return SwinConfig(
        training=layumi_training((224, 224), lr=0.05, ids_per_batch=8), variant=SWIN_B
    )


def swin_cpu() -> SwinConfig:
    """Tiny ``SwinTransformer`` (embed 32, depths 1/1/1/1, window 2) at 64×64, P2×K4, 8 epochs."""
    return _tiny(SWIN_B)


def swinv2_paper() -> SwinConfig:
    """layumi SwinV2 row at the 256×256 of Table 3: SwinV2-B, batch 16, lr 0.03."""
    return SwinConfig(
        training=layumi_training((256, 256), lr=0.03, ids_per_batch=4), variant=SWINV2_B
    )


def swinv2_cpu() -> SwinConfig:
    """Tiny ``SwinTransformerV2`` (embed 32, depths 1/1/1/1, window 2) at 64×64, P2×K4."""
    return _tiny(SWINV2_B)


def build(cfg: SwinConfig, info: DataInfo) -> Recipe:
    """Swin(V2) → token GAP (1024 for the base models) → ClassBlock(512); CE + circle / B."""
    from agreid_models.backbones.swin import SwinBackbone

    size = (cfg.training.input.height, cfg.training.input.width)
    backbone = SwinBackbone(
        variant=cfg.variant,
        img_size=size,
        drop_path_rate=cfg.drop_path_rate,
        embed_dim=cfg.embed_dim,
        depths=cfg.depths,
        num_heads=cfg.num_heads,
        window_size=cfg.window_size,
        pretrained=cfg.pretrained,
        weights=cfg.weights,
    )
    return configured_circle_recipe(backbone, backbone.feature_dim, info, cfg)


SWIN_SPEC: MethodSpec[SwinConfig] = MethodSpec(
    summary="Swin + circle: Swin-B 224×224, GAP, ClassBlock(512), CE + circle/B, SGD (layumi)",
    profiles={"paper": swin_paper, "cpu": swin_cpu},
    build=build,
    reference="Liu et al., Swin Transformer, ICCV 2021; Sun et al., Circle Loss, CVPR 2020; "
    "layumi Person_reID_baseline_pytorch; AG-ReID2023 baseline",
)

SWINV2_SPEC: MethodSpec[SwinConfig] = MethodSpec(
    summary="SwinV2 + circle: SwinV2-B 256×256, GAP, ClassBlock(512), CE + circle/B (layumi)",
    profiles={"paper": swinv2_paper, "cpu": swinv2_cpu},
    build=build,
    reference="Liu et al., Swin Transformer V2, CVPR 2022; Sun et al., Circle Loss, CVPR 2020; "
    "layumi Person_reID_baseline_pytorch; AG-ReID2023 baseline",
)
