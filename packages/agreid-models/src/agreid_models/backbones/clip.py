"""CLIP image towers for video ReID: OpenAI CLIP ViT-B/16 and EVA02-CLIP-L/14, on timm.

Follows the backbone of TF-CLIP (Yu et al., AAAI 2024; ``AsuradaYuci/TF-CLIP``, see
``peers.md`` §6) and its descendants X-TFCLIP (bicubic position-embedding resize) and
TFCLIP-AG-VPReID (EVA-CLIP-L/14; method card 5.3 / part B-EVA):

- The tower is a timm architecture (``vit_base_patch16_clip_quickgelu_224`` /
  ``eva02_large_patch14_clip_224``) built through :func:`create_timm`: random init offline,
  ``weights=PATH`` loads a local timm-format state dict (with the ``head.*`` projection),
  ``pretrained=True`` tries the hub and falls back to random init.
- The body is always built at its pretraining grid (so every weight source fits), then
  resized to the ReID input: the absolute position embedding with
  :func:`~agreid_models.backbones.vit.interpolate_pos_embed` (``bilinear`` as TF-CLIP,
  ``bicubic`` as X-TFCLIP) and, for EVA, the rotary embedding grid.
- Optional overlapping patches: ``stride`` < patch size (TransReID style).
- Camera SIE as in TF-CLIP: a learnable per-camera vector × ``sie_coef`` (1.0) added to the
  **CLS token only**, after the position embedding. ``cls_bias`` lets a caller add more
  per-frame vectors there (X-TFCLIP's frame-position embedding).
- The projection to the CLIP embedding space (512 for ViT-B/16, 768 for EVA-CLIP-L/14) is
  timm's classifier ``head`` (built with ``num_classes=proj_dim``; timm's CLIP weights put
  CLIP's ``proj`` there), moved to ``self.proj`` so that it also applies to tokens.
  It is a learnable ``nn.Linear``; with random init it is a fresh layer.

Only the image towers live here and they need timm alone. The ``[clip]`` extra of
agreid-models (``open_clip_torch``) is only needed for CLIP *text* towers and for reading
open_clip weight files; convert those to timm format (timm's own CLIP checkpoints already
are) to use them with ``weights=``.

Note: OpenAI CLIP uses QuickGELU, so the ViT-B/16 default is timm's ``quickgelu`` variant of
``vit_base_patch16_clip_224`` (same weights layout; plain ``vit_base_patch16_clip_224``
uses exact GELU and gives slightly different features with OpenAI weights).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from agreid_models.backbones.pretrained import create_timm
from agreid_models.backbones.vit import PosEmbedMode, resize_patch_embed


class VideoTowerOutput(NamedTuple):
    """Per-frame outputs of :meth:`CLIPImageTower.encode_video`."""

    cls: Tensor
    """(B, T, C) final-norm CLS feature of every frame."""
    proj: Tensor
    """(B, T, P) CLS projected to the CLIP embedding space."""
    tokens: Tensor
    """(B, T, 1 + N, C) all final-norm tokens, CLS first."""


class CLIPImageTower(nn.Module):
    """A timm CLIP image tower resized for ReID inputs, with camera SIE on the CLS token.

    Args:
        model_name: timm model name (with an optional pretrained tag).
        img_size: input (H, W); inputs must have exactly this size.
        stride: patch-embedding stride; ``None`` = the patch size (no overlap).
        pos_embed_mode: ``bilinear`` (TF-CLIP) or ``bicubic`` (X-TFCLIP) resize.
        proj_dim: CLIP embedding dim of the projection (512 ViT-B/16, 768 EVA-CLIP-L/14).
        num_cameras: cameras for SIE; 0 disables it.
        sie_coef: scale of the camera embedding (TF-CLIP ``SIE_COE`` = 1.0).
        drop_path_rate: stochastic depth.
        embed_dim, depth, num_heads, patch_size: architecture overrides for tiny models.
        pretrained: hub weights when reachable, else random init with a warning.
        weights: local timm-format state dict at the pretraining grid (wins).
    """

    def __init__(
        self,
        model_name: str,
        img_size: tuple[int, int] = (256, 128),
        stride: int | None = None,
        pos_embed_mode: PosEmbedMode = "bilinear",
        proj_dim: int = 512,
        num_cameras: int = 0,
        sie_coef: float = 1.0,
        drop_path_rate: float = 0.0,
        embed_dim: int | None = None,
        depth: int | None = None,
        num_heads: int | None = None,
        patch_size: int | None = None,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        overrides = {
            "embed_dim": embed_dim,
            "depth": depth,
            "num_heads": num_heads,
            "patch_size": patch_size,
        }
        kwargs = {k: v for k, v in overrides.items() if v is not None}
        self.body: Any = create_timm(
            model_name,
            pretrained,
            weights,
            num_classes=proj_dim,
            drop_path_rate=drop_path_rate,
            **kwargs,
        )
        body = self.body
        if getattr(body, "cls_token", None) is None or getattr(body, "no_embed_class", False):
            raise ValueError(f"{model_name}: a ViT with a CLS token and embedded prefix is needed")
        head = body.head
        if not isinstance(head, nn.Linear) or head.out_features != proj_dim:
            raise ValueError(f"{model_name}: expected a linear head of width {proj_dim}")
        self.proj: nn.Linear = head
        body.head = nn.Identity()

        pe = body.patch_embed
        patch = (int(pe.patch_size[0]), int(pe.patch_size[1]))
        self.stride: int = int(stride) if stride is not None else patch[0]
        if stride is None and patch[0] != patch[1]:
            raise ValueError(f"non-square patch {patch}: pass stride explicitly")
        if getattr(pe, "dynamic_img_pad", False):
            raise ValueError(f"{model_name}: dynamic image padding is not supported")
        self.img_size: tuple[int, int] = (int(img_size[0]), int(img_size[1]))
        self.grid_size: tuple[int, int] = resize_patch_embed(
            body, self.img_size, self.stride, pos_embed_mode
        )
        rope = getattr(body, "rope", None)
        if rope is not None:
            if not hasattr(rope, "update_feat_shape"):
                raise ValueError(f"{model_name}: its rotary embedding cannot be resized")
            rope.update_feat_shape(list(self.grid_size))

        self.feature_dim: int = int(body.embed_dim)
        self.proj_dim: int = proj_dim
        self.num_cameras = num_cameras
        self.sie_coef = sie_coef
        self.cam_embed: nn.Parameter | None = None
        if num_cameras > 0:
            self.cam_embed = nn.Parameter(torch.zeros(num_cameras, self.feature_dim))
            nn.init.trunc_normal_(self.cam_embed, std=0.02)

    @property
    def num_tokens(self) -> int:
        """Tokens per frame: prefix (CLS) + grid."""
        return int(self.body.num_prefix_tokens) + self.grid_size[0] * self.grid_size[1]

    def forward_tokens(
        self, x: Tensor, camids: Tensor | None = None, cls_bias: Tensor | None = None
    ) -> Tensor:
        """Images (B, 3, H, W) → final-norm tokens (B, 1 + N, C), CLS first.

        ``camids`` (B,) selects the SIE vector (required when ``num_cameras > 0``);
        ``cls_bias`` (B, C), e.g. a frame-position embedding, is added to the CLS token too.
        """
        body = self.body
        tokens: Tensor = body.patch_embed(x)
        pos = body._pos_embed(tokens)
        rope: Tensor | None = None
        if isinstance(pos, tuple):  # Eva returns (tokens, rotary embedding)
            tokens, rope = pos
        else:
            tokens = pos
        extra: Tensor | None = None
        if self.cam_embed is not None:
            if camids is None:
                raise ValueError("this tower has a camera embedding (SIE): pass camids")
            extra = self.sie_coef * self.cam_embed[camids.long()]
        if cls_bias is not None:
            extra = cls_bias if extra is None else extra + cls_bias
        if extra is not None:
            tokens = torch.cat([tokens[:, :1] + extra[:, None].to(tokens.dtype), tokens[:, 1:]], 1)
        if rope is None and getattr(body, "patch_drop", None) is not None:
            tokens = body.patch_drop(tokens)
        tokens = body.norm_pre(tokens)
        for block in body.blocks:
            tokens = block(tokens) if rope is None else block(tokens, rope=rope)
        out: Tensor = body.norm(tokens)
        return out

    def cls_feature(self, tokens: Tensor) -> Tensor:
        """CLS feature (…, C) of a token sequence (…, 1 + N, C)."""
        fc_norm = getattr(self.body, "fc_norm", None)
        cls = tokens[..., 0, :]
        out: Tensor = fc_norm(cls) if fc_norm is not None else cls
        return out

    def project(self, feats: Tensor) -> Tensor:
        """Project (…, C) features or tokens to the CLIP embedding space (…, P)."""
        out: Tensor = self.proj(feats)
        return out

    def forward(self, x: Tensor, camids: Tensor | None = None) -> Tensor:
        """Final CLS feature as a (B, C, 1, 1) map (the agreid backbone convention)."""
        cls = self.cls_feature(self.forward_tokens(x, camids))
        return cls[:, :, None, None]

    def encode_video(
        self, clips: Tensor, camids: Tensor | None = None, cls_bias: Tensor | None = None
    ) -> VideoTowerOutput:
        """Clips (B, T, 3, H, W) → per-frame CLS (B, T, C), projection (B, T, P), tokens.

        ``camids`` is per clip (B,) or per frame (B, T); ``cls_bias`` is (B, T, C).
        """
        b, t = clips.shape[:2]
        flat_cam = None
        if camids is not None:
            flat_cam = camids[:, None].expand(b, t) if camids.ndim == 1 else camids
            flat_cam = flat_cam.reshape(b * t)
        flat_bias = None if cls_bias is None else cls_bias.reshape(b * t, -1)
        tokens = self.forward_tokens(clips.flatten(0, 1), flat_cam, flat_bias)
        cls = self.cls_feature(tokens)
        return VideoTowerOutput(
            cls=cls.reshape(b, t, -1),
            proj=self.project(cls).reshape(b, t, -1),
            tokens=tokens.reshape(b, t, *tokens.shape[1:]),
        )


class _PresetCLIPTower(CLIPImageTower):
    """A :class:`CLIPImageTower` whose per-model defaults come from class attributes.

    ``img_size``, ``pos_embed_mode``, ``proj_dim`` and ``model_name`` left at ``None`` take
    the subclass's ``default_*`` value; the other arguments are those of the base class.
    """

    default_model_name: ClassVar[str]
    default_img_size: ClassVar[tuple[int, int]]
    default_pos_embed_mode: ClassVar[PosEmbedMode]
    default_proj_dim: ClassVar[int]

    def __init__(
        self,
        img_size: tuple[int, int] | None = None,
        stride: int | None = None,
        pos_embed_mode: PosEmbedMode | None = None,
        proj_dim: int | None = None,
        num_cameras: int = 0,
        sie_coef: float = 1.0,
        drop_path_rate: float = 0.0,
        embed_dim: int | None = None,
        depth: int | None = None,
        num_heads: int | None = None,
        patch_size: int | None = None,
        model_name: str | None = None,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__(
            self.default_model_name if model_name is None else model_name,
            self.default_img_size if img_size is None else img_size,
            stride,
            self.default_pos_embed_mode if pos_embed_mode is None else pos_embed_mode,
            self.default_proj_dim if proj_dim is None else proj_dim,
            num_cameras,
            sie_coef,
            drop_path_rate,
            embed_dim,
            depth,
            num_heads,
            patch_size,
            pretrained,
            weights,
        )


class CLIPViTB16(_PresetCLIPTower):
    """OpenAI CLIP ViT-B/16 image tower (TF-CLIP / X-TFCLIP / ACP-VPReID backbone).

    Defaults follow TF-CLIP: 256×128, stride 16, bilinear resize, projection 512, SIE ×1.0
    on CLS. X-TFCLIP: ``img_size=(288, 144), pos_embed_mode="bicubic"``.
    """

    default_model_name = "vit_base_patch16_clip_quickgelu_224.openai"
    default_img_size = (256, 128)
    default_pos_embed_mode: ClassVar[PosEmbedMode] = "bilinear"
    default_proj_dim = 512


class EVACLIPL14(_PresetCLIPTower):
    """EVA02-CLIP-L/14 image tower (TFCLIP-AG-VPReID; method card 5.3, part B-EVA).

    timm ``eva02_large_patch14_clip_224.merged2b`` (= open_clip ``EVA02-L-14`` /
    ``merged2b_s4b_b131k``): 24 layers, width 1024, 16 heads, RoPE + SwiGLU, projection 768.
    Default input 224×224 = the native 16×16 grid (no resize); other sizes resize the
    absolute position embedding (bicubic) and the RoPE grid.
    """

    default_model_name = "eva02_large_patch14_clip_224.merged2b"
    default_img_size = (224, 224)
    default_pos_embed_mode: ClassVar[PosEmbedMode] = "bicubic"
    default_proj_dim = 768
