"""TransReID-style ViT-B/16 (He et al., ICCV 2021) with overlapping patches and SIE.

- Overlapping patch embedding: the 16×16 patch conv runs with stride 12 (a 256×128 input
  gives a 21×10 grid = 210 patches).
- The position embedding of the pretrained grid (14×14 for 224×224) is resized to the new
  grid with :func:`interpolate_pos_embed` (``bilinear`` as TransReID, or ``bicubic``).
- Side information embedding (SIE): with ``num_cameras > 0`` a learnable per-camera vector,
  scaled by ``sie_coef`` (λ = 3.0 in TransReID), is added to every token after the position
  embedding; ``forward`` then needs ``camids``.

Output convention: ``forward`` returns the final-norm CLS feature as (B, C, 1, 1) so that
pooling heads work unchanged; ``forward_tokens`` returns the whole token sequence
(B, 1 + N, C) for part-based heads such as JPM.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_models.backbones.pretrained import create_timm

PosEmbedMode = Literal["bilinear", "bicubic"]


def interpolate_pos_embed(
    pos_embed: Tensor,
    old_grid: tuple[int, int],
    new_grid: tuple[int, int],
    num_prefix_tokens: int = 1,
    mode: PosEmbedMode = "bilinear",
) -> Tensor:
    """Resize a (1, P + h·w, C) position embedding from grid ``old_grid`` to ``new_grid``.

    The ``num_prefix_tokens`` leading entries (CLS, registers) are kept as they are; the grid
    part is resampled with ``F.interpolate(mode, align_corners=False)``. Equal grids return
    ``pos_embed`` itself.
    """
    if mode not in ("bilinear", "bicubic"):
        raise ValueError(f"mode must be 'bilinear' or 'bicubic', got {mode!r}")
    (oh, ow), (nh, nw) = tuple(old_grid), tuple(new_grid)
    if pos_embed.ndim != 3 or pos_embed.shape[1] != num_prefix_tokens + oh * ow:
        raise ValueError(
            f"pos_embed of shape {tuple(pos_embed.shape)} does not hold {num_prefix_tokens} "
            f"prefix tokens + a {oh}×{ow} grid"
        )
    if (oh, ow) == (nh, nw):
        return pos_embed
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    n, _, c = pos_embed.shape
    work = torch.promote_types(pos_embed.dtype, torch.float32)  # no half-precision resampling
    grid = grid.reshape(n, oh, ow, c).permute(0, 3, 1, 2).to(work)
    grid = F.interpolate(grid, size=(nh, nw), mode=mode, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(n, nh * nw, c).to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)


def patch_grid(img_size: tuple[int, int], patch: tuple[int, int], stride: int) -> tuple[int, int]:
    """Number of (rows, cols) of ``patch``-sized windows taken every ``stride`` pixels."""
    h, w = img_size
    if h < patch[0] or w < patch[1]:
        raise ValueError(f"image {img_size} is smaller than the patch {patch}")
    return (h - patch[0]) // stride + 1, (w - patch[1]) // stride + 1


def resize_patch_embed(
    body: Any, img_size: tuple[int, int], stride: int, mode: PosEmbedMode
) -> tuple[int, int]:
    """Re-grid a timm ViT ``body`` for ``img_size`` inputs and ``stride``-pixel patch steps.

    Sets the patch embedding's stride, image size, grid and patch count (with strict input
    size), resizes ``body.pos_embed`` from the pretraining grid with
    :func:`interpolate_pos_embed` and returns the new (rows, cols) grid.
    """
    pe = body.patch_embed
    patch = (int(pe.patch_size[0]), int(pe.patch_size[1]))
    old_grid = (int(pe.grid_size[0]), int(pe.grid_size[1]))
    grid = patch_grid(img_size, patch, stride)
    pe.proj.stride = (stride, stride)
    pe.img_size = img_size
    pe.grid_size = grid
    pe.num_patches = grid[0] * grid[1]
    pe.strict_img_size = True
    body.pos_embed = nn.Parameter(
        interpolate_pos_embed(body.pos_embed.data, old_grid, grid, body.num_prefix_tokens, mode)
    )
    return grid


class ViTBackbone(nn.Module):
    """ViT with stride-``stride`` overlapping patches, resized position embedding and SIE.

    Args:
        img_size: input (H, W); inputs must have exactly this size.
        stride: patch-embedding stride (12 = TransReID's overlapping patches, 16 = none).
        pos_embed_mode: ``bilinear`` (TransReID) or ``bicubic`` position-embedding resize.
        num_cameras: cameras for SIE; 0 disables it.
        sie_coef: λ, the scale of the camera embedding.
        drop_path_rate: stochastic depth (0.1 in TransReID).
        frozen_blocks: the first ``frozen_blocks`` transformer blocks get
            ``requires_grad=False`` (BENTO freezes 8).
        embed_dim, depth, num_heads: architecture overrides for tiny models.
        model_name: timm model (its default 224×224 grid is the one resized); the default
            tag holds the original ImageNet-21k → 1k weights TransReID starts from.
        pretrained: timm weights when reachable, else random init with a warning.
        weights: local timm-format ViT state dict at the pretraining grid (wins).
    """

    def __init__(
        self,
        img_size: tuple[int, int] = (256, 128),
        stride: int = 12,
        pos_embed_mode: PosEmbedMode = "bilinear",
        num_cameras: int = 0,
        sie_coef: float = 3.0,
        drop_path_rate: float = 0.1,
        frozen_blocks: int = 0,
        embed_dim: int | None = None,
        depth: int | None = None,
        num_heads: int | None = None,
        model_name: str = "vit_base_patch16_224.orig_in21k_ft_in1k",
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        overrides = {"embed_dim": embed_dim, "depth": depth, "num_heads": num_heads}
        kwargs = {k: v for k, v in overrides.items() if v is not None}
        self.body: Any = create_timm(
            model_name,
            pretrained,
            weights,
            num_classes=0,
            global_pool="",
            drop_path_rate=drop_path_rate,
            **kwargs,
        )
        body = self.body
        if getattr(body, "cls_token", None) is None or getattr(body, "no_embed_class", False):
            raise ValueError(f"{model_name}: a ViT with a CLS token and embedded prefix is needed")
        self.img_size: tuple[int, int] = (int(img_size[0]), int(img_size[1]))
        self.grid_size: tuple[int, int] = resize_patch_embed(
            body, self.img_size, stride, pos_embed_mode
        )
        self.feature_dim: int = int(body.embed_dim)
        self.num_cameras = num_cameras
        self.sie_coef = sie_coef
        self.cam_embed: nn.Parameter | None = None
        if num_cameras > 0:
            self.cam_embed = nn.Parameter(torch.zeros(num_cameras, 1, self.feature_dim))
            nn.init.trunc_normal_(self.cam_embed, std=0.02)
        for block in body.blocks[:frozen_blocks]:
            block.requires_grad_(False)

    def forward_tokens(self, x: Tensor, camids: Tensor | None = None, skip_last: int = 0) -> Tensor:
        """Token sequence (B, 1 + N, C), CLS first.

        With ``skip_last = k > 0`` the last ``k`` blocks and the final norm are not applied
        (a JPM head runs its own copy of the last block).
        """
        body = self.body
        tokens: Tensor = body.patch_embed(x)  # (B, N, C)
        cls = body.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + body.pos_embed
        if self.cam_embed is not None:
            if camids is None:
                raise ValueError("this ViT has a camera embedding (SIE): pass camids")
            tokens = tokens + self.sie_coef * self.cam_embed[camids.long()]
        tokens = body.norm_pre(body.pos_drop(tokens))
        blocks = body.blocks if skip_last <= 0 else body.blocks[:-skip_last]
        for block in blocks:
            tokens = block(tokens)
        if skip_last <= 0:
            tokens = body.norm(tokens)
        return tokens

    def forward(self, x: Tensor, camids: Tensor | None = None) -> Tensor:
        """Final CLS feature as a (B, C, 1, 1) map."""
        cls = self.forward_tokens(x, camids)[:, 0]
        return cls[:, :, None, None]
