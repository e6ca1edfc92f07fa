"""Swin-B and SwinV2-B via timm (layumi's ``ft_net_swin`` / ``ft_net_swinv2``).

timm's ``forward_features`` gives the final stage, layer-normed, as (B, H', W', C); the
backbone permutes it to a (B, C, H', W') map at stride 32 (C = 1024 for the base models), so
pooling heads treat Swin like a CNN (token GAP = spatial GAP).

``img_size`` may be non-square (ReID 256×128); inputs must then have exactly that size. timm
pads windows that do not tile a stage and shrinks windows larger than a stage's grid.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from agreid_models.backbones.pretrained import create_timm

SWIN_VARIANTS: dict[str, tuple[int, int]] = {
    "swin_base_patch4_window7_224": (224, 224),
    "swinv2_base_window8_256": (256, 256),
}
"""Supported timm names and the image size their weights were trained at."""


class SwinBackbone(nn.Module):
    """timm Swin / SwinV2 trunk returning the last stage as (B, C, H/32, W/32).

    Args:
        variant: ``swin_base_patch4_window7_224`` (Swin-B) or ``swinv2_base_window8_256``
            (SwinV2-B).
        img_size: input (H, W); defaults to the variant's pretraining size.
        drop_path_rate: stochastic depth (0.2 in layumi's recipes).
        embed_dim, depths, num_heads, window_size: architecture overrides for tiny models;
            ``None`` keeps the variant's values.
        pretrained: timm weights when reachable, else random init with a warning.
        weights: local ``.pth`` / ``.safetensors`` file with timm's key names (wins).
    """

    def __init__(
        self,
        variant: str = "swin_base_patch4_window7_224",
        img_size: tuple[int, int] | None = None,
        drop_path_rate: float = 0.2,
        embed_dim: int | None = None,
        depths: tuple[int, ...] | None = None,
        num_heads: tuple[int, ...] | None = None,
        window_size: int | None = None,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        if variant not in SWIN_VARIANTS:
            raise ValueError(
                f"unknown Swin variant {variant!r}; expected one of {list(SWIN_VARIANTS)}"
            )
        size = img_size or SWIN_VARIANTS[variant]
        self.img_size: tuple[int, int] = (int(size[0]), int(size[1]))
        overrides: dict[str, Any] = {
            "embed_dim": embed_dim,
            "depths": tuple(depths) if depths is not None else None,
            "num_heads": tuple(num_heads) if num_heads is not None else None,
            "window_size": window_size,
        }
        kwargs = {k: v for k, v in overrides.items() if v is not None}
        self.body: Any = create_timm(
            variant,
            pretrained,
            weights,
            num_classes=0,
            global_pool="",
            img_size=self.img_size,
            drop_path_rate=drop_path_rate,
            **kwargs,
        )
        self.feature_dim: int = int(self.body.num_features)

    def forward(self, x: Tensor) -> Tensor:
        """Final-stage feature map (B, C, H', W') of ``x``."""
        tokens: Tensor = self.body.forward_features(x)  # (B, H', W', C)
        return tokens.permute(0, 3, 1, 2).contiguous()
