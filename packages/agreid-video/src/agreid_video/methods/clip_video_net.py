"""The TF-CLIP video network shared by TF-CLIP, X-TFCLIP, TFCLIP-AG-VPReID and ACP-VPReID.

Data flow (TF-CLIP, ``peers.md`` §6; part T-TFC of the method cards), for clips
(B, T, 3, H, W) and camera ids (B,):

1. CLIP image tower (camera SIE on the CLS token; X-TFCLIP adds a learnable frame-position
   embedding there) → per-frame CLS (B, T, C), its projection (B, T, P), tokens (B, T, L, C).
2. Temporal pooling (mean; X-TFCLIP: attention pooling) → ``f_cls`` (C) and ``f_proj`` (P).
3. TMD on the detached tokens → frame features (B, T, C) (token mean) → pooled ``f_tmp`` (C).
4. SSP: the identity memory (K, P) refined by the clip's frame-pooled projected tokens,
   combined residually (TF-CLIP) or with a learnable α (X-TFCLIP); I2T logits
   ``⟨f_proj, memory'_k⟩`` (B, K).
5. Three BNNeck heads (BatchNorm; X-TFCLIP: InstanceNorm) on ``f_cls``, ``f_proj`` and
   ``f_tmp``; the temporal head's classifier also scores every TMD frame (frame logits).

Eval output ``embedding`` = concat [f_cls, f_proj, f_tmp] (pre-neck, TF-CLIP ``NECK_FEAT
before``): 2048-d for ViT-B/16, 2816-d for EVA-CLIP-L/14. The identity memory is a buffer
built from per-tracklet ``proj_features`` by :meth:`CLIPVideoNet.build_memory` (the trainer's
epoch-start loss hook calls it through :class:`~agreid_video.methods.losses.MemoryLinkedLoss`);
with ``memory_refresh="once"`` it is built once and never changed, as in TF-CLIP.

Subclasses (ACP-VPReID) override :meth:`CLIPVideoNet.frame_features`,
:meth:`CLIPVideoNet.pool_cls` and :meth:`CLIPVideoNet.extra_outputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agreid_models.backbones.clip import EVACLIPL14, CLIPImageTower, CLIPViTB16, VideoTowerOutput
from agreid_models.backbones.vit import PosEmbedMode
from agreid_models.heads.attributes import AttributeHead, AttributeSpec
from agreid_models.heads.bnneck import BNNeck
from agreid_video.modules.frame_position import FrameCameraEmbedding
from agreid_video.modules.memory_fusion import MemoryAlphaFusion
from agreid_video.modules.ssp import SequenceSpecificPrompt
from agreid_video.modules.temporal_pool import TemporalAttentionPooling, TemporalAveragePooling
from agreid_video.modules.tmd import TemporalMemoryDiffusion

#: Output keys of :class:`CLIPVideoNet`.
PROJ_FEATURES = "proj_features"
I2T_LOGITS = "i2t_logits"
FRAME_LOGITS = "frame_logits"


@dataclass(frozen=True)
class VideoNetConfig:
    """The network part of a CLIP video method config.

    ``embed_dim`` / ``depth`` / ``num_heads`` / ``proj_dim`` / ``patch_size`` override the
    tower (tiny CPU profiles); ``None`` keeps the pretrained architecture.
    """

    tower: Literal["clip-vit-b16", "eva-clip-l14"] = "clip-vit-b16"
    pretrained: bool = True
    weights: str | None = None
    pos_embed_mode: PosEmbedMode = "bilinear"
    embed_dim: int | None = None
    depth: int | None = None
    num_heads: int | None = None
    patch_size: int | None = None
    proj_dim: int | None = None
    sie_coef: float = 1.0
    ssp_heads: int = 8
    ssp_layers: int = 2
    ssp_dropout: float = 0.1
    tmd_heads: int = 12
    temporal_pooling: Literal["average", "attention"] = "average"
    attention_hidden: int = 256
    neck_norm: Literal["bn", "in"] = "bn"
    frame_position: bool = False
    max_frames: int = 8
    memory_fusion: Literal["residual", "alpha"] = "residual"
    memory_alpha_init: float = 0.5
    memory_refresh: Literal["once", "every-epoch"] = "once"
    use_ssp: bool = True
    #: I2T logits: inner products (TF-CLIP) or cosines (TFCLIP-AG-VPReID's Eq. 2)
    memory_similarity: Literal["dot", "cosine"] = "dot"


def build_tower(cfg: VideoNetConfig, img_size: tuple[int, int], num_cameras: int) -> CLIPImageTower:
    """The CLIP image tower ``cfg.tower`` at ``img_size`` with camera SIE."""
    common = {
        "img_size": img_size,
        "pos_embed_mode": cfg.pos_embed_mode,
        "num_cameras": num_cameras,
        "sie_coef": cfg.sie_coef,
        "embed_dim": cfg.embed_dim,
        "depth": cfg.depth,
        "num_heads": cfg.num_heads,
        "patch_size": cfg.patch_size,
        "pretrained": cfg.pretrained,
        "weights": cfg.weights,
    }
    if cfg.tower == "eva-clip-l14":
        return EVACLIPL14(proj_dim=cfg.proj_dim or 768, **common)  # type: ignore[arg-type]
    return CLIPViTB16(proj_dim=cfg.proj_dim or 512, **common)  # type: ignore[arg-type]


def temporal_pool(cfg: VideoNetConfig, dim: int) -> nn.Module:
    """Mean over frames, or X-TFCLIP's attention pooling, for (B, T, dim) features."""
    if cfg.temporal_pooling == "attention":
        return TemporalAttentionPooling(dim, cfg.attention_hidden)
    return TemporalAveragePooling()


class IdentityMemory(nn.Module):
    """TF-CLIP's CLIP-Memory: the mean projected feature of every training identity (K, P)."""

    memory: Tensor
    built: Tensor

    def __init__(self, num_classes: int, dim: int, refresh: Literal["once", "every-epoch"]):
        super().__init__()
        self.refresh = refresh
        self.register_buffer("memory", torch.zeros(num_classes, dim))
        self.register_buffer("built", torch.tensor(False))

    @torch.no_grad()
    def build(self, features: Tensor, labels: Tensor) -> bool:
        """Set memory row k to the mean of ``features`` of label k; returns whether it did
        (``refresh="once"`` builds only the first time)."""
        if bool(self.built) and self.refresh == "once":
            return False
        if features.shape[1] != self.memory.shape[1]:
            raise ValueError(f"memory features must be {self.memory.shape[1]}-d")
        f = features.detach().to(self.memory)
        labels = labels.to(f.device).long()
        sums = torch.zeros_like(self.memory).index_add_(0, labels, f)
        counts = torch.bincount(labels, minlength=self.memory.shape[0]).clamp(min=1)
        self.memory.copy_(sums / counts.unsqueeze(1).to(sums.dtype))
        self.built.fill_(True)
        return True


class CLIPVideoNet(nn.Module):
    """TF-CLIP's video network (see the module docstring); ``forward(clips, camids)``.

    Args:
        cfg: network settings.
        img_size: input (H, W).
        num_classes: training identities K.
        num_cameras: cameras for the SIE (0: none).
        attributes: soft-biometric attributes for an attribute head on ``f_cls`` (X-TFCLIP's
            predicted masking); empty = no head.
    """

    input_kind = "video"

    def __init__(
        self,
        cfg: VideoNetConfig,
        img_size: tuple[int, int],
        num_classes: int,
        num_cameras: int,
        attributes: tuple[AttributeSpec, ...] = (),
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.tower = build_tower(cfg, img_size, num_cameras)
        c, p = self.tower.feature_dim, self.tower.proj_dim
        self.feature_dim, self.proj_dim = c, p
        self.frame_embed: FrameCameraEmbedding | None = (
            FrameCameraEmbedding(c, cfg.max_frames) if cfg.frame_position else None
        )
        self.pool_cls_frames = temporal_pool(cfg, c)
        self.pool_proj_frames = temporal_pool(cfg, p)
        self.pool_tmd_frames = temporal_pool(cfg, c)
        self.pool_video_tokens = temporal_pool(cfg, p)
        self.tmd = TemporalMemoryDiffusion(c, cfg.tmd_heads)
        self.memory = IdentityMemory(num_classes, p, cfg.memory_refresh)
        self.ssp: SequenceSpecificPrompt | None = None
        self.fusion: MemoryAlphaFusion | None = None
        if cfg.use_ssp:
            self.ssp = SequenceSpecificPrompt(p, cfg.ssp_heads, cfg.ssp_layers, cfg.ssp_dropout)
            if cfg.memory_fusion == "alpha":
                self.fusion = MemoryAlphaFusion(cfg.memory_alpha_init)
        self.neck_cls = BNNeck(c, num_classes, cfg.neck_norm)
        self.neck_proj = BNNeck(p, num_classes, cfg.neck_norm)
        self.neck_tmp = BNNeck(c, num_classes, cfg.neck_norm)
        self.attribute_head: AttributeHead | None = (
            AttributeHead(c, attributes) if attributes else None
        )
        self.attribute_names: tuple[str, ...] = tuple(a.name for a in attributes)

    @property
    def embedding_dim(self) -> int:
        """Size of the eval ``embedding``: C + P + C."""
        return 2 * self.feature_dim + self.proj_dim

    def build_memory(self, features: Tensor, labels: Tensor) -> bool:
        """(Re)build the identity memory from per-tracklet projected features (N, P)."""
        return self.memory.build(features, labels)

    # ---------------------------------------------------------------- overridable steps

    def cls_bias(self, batch: int, frames: int, camids: Tensor) -> Tensor | None:
        """Per-frame vectors (B, T, C) added to the CLS token (X-TFCLIP frame position)."""
        if self.frame_embed is None:
            return None
        return self.frame_embed.bias(frames, batch=batch)

    def frame_features(
        self, out: VideoTowerOutput, camids: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Per-frame CLS (B, T, C), projection (B, T, P) and tokens (B, T, L, C)."""
        return out.cls, out.proj, out.tokens

    def pool_cls(self, cls_frames: Tensor, camids: Tensor) -> Tensor:
        """The clip's CLS feature (B, C)."""
        out: Tensor = self.pool_cls_frames(cls_frames)
        return out

    def extra_outputs(
        self, outputs: dict[str, Tensor], camids: Tensor, cls_neck: dict[str, Tensor]
    ) -> None:
        """Add method-specific outputs in place (training and eval)."""

    # ---------------------------------------------------------------- forward

    def memory_logits(self, f_proj: Tensor, tokens: Tensor) -> Tensor:
        """I2T logits (B, K): ⟨f_proj, SSP-refined memory_k⟩ (or their cosine) for the clip."""
        if self.ssp is None:
            raise RuntimeError("this network has no SSP branch (use_ssp=False)")
        video = self.pool_tokens_over_time(self.tower.project(tokens))
        memory = self.memory.memory.to(f_proj.dtype)
        prompts = self.ssp(memory, video)
        refined = self.fusion(memory, prompts) if self.fusion is not None else memory + prompts
        if self.cfg.memory_similarity == "cosine":
            f_proj, refined = F.normalize(f_proj, dim=-1), F.normalize(refined, dim=-1)
        return torch.einsum("bp,bkp->bk", f_proj, refined)

    def pool_tokens_over_time(self, tokens: Tensor) -> Tensor:
        """(B, T, L, D) → (B, L, D) with the video-token temporal pooling."""
        b, t, length, d = tokens.shape
        flat = tokens.permute(0, 2, 1, 3).reshape(b * length, t, d)
        pooled: Tensor = self.pool_video_tokens(flat)
        return pooled.reshape(b, length, d)

    def forward(self, clips: Tensor, camids: Tensor) -> dict[str, Tensor]:
        """Clips (B, T, 3, H, W) (or images (B, 3, H, W) as 1-frame clips) → outputs."""
        if clips.ndim == 4:
            clips = clips.unsqueeze(1)
        b, t = clips.shape[:2]
        camids = camids.long()
        bias = self.cls_bias(b, t, camids)
        cams = camids if self.tower.cam_embed is not None else None
        cls_frames, proj_frames, tokens = self.frame_features(
            self.tower.encode_video(clips, cams, bias), camids
        )
        f_cls = self.pool_cls(cls_frames, camids)
        f_proj: Tensor = self.pool_proj_frames(proj_frames)
        tmd_frames = self.tmd(tokens).mean(dim=2)
        f_tmp: Tensor = self.pool_tmd_frames(tmd_frames)
        neck_cls = self.neck_cls(f_cls)
        outputs: dict[str, Tensor] = {
            "embedding": torch.cat([f_cls, f_proj, f_tmp], dim=1),
            "features_cls": f_cls,
            PROJ_FEATURES: f_proj,
            "features_tmp": f_tmp,
        }
        if self.training:
            neck_tmp = self.neck_tmp(f_tmp)
            outputs["logits_cls"] = neck_cls["logits"]
            outputs["logits_proj"] = self.neck_proj(f_proj)["logits"]
            outputs["logits_tmp"] = neck_tmp["logits"]
            frame_neck = self.neck_tmp(tmd_frames.flatten(0, 1))
            outputs[FRAME_LOGITS] = frame_neck["logits"].reshape(b, t, -1)
            if self.ssp is not None:
                outputs[I2T_LOGITS] = self.memory_logits(f_proj, tokens)
        if self.attribute_head is not None:
            attr_logits = self.attribute_head(f_cls)["attr_logits"]
            if self.training:
                outputs["attr_logits"] = attr_logits
            else:
                outputs["attribute_labels"] = self.attribute_head.predict(attr_logits)
        self.extra_outputs(outputs, camids, neck_cls)
        return outputs
