"""ACP-VPReID's network: the TF-CLIP network plus view-adaptive modules (appendix A.3).

The paper names the modules but gives no internals; placement follows method card 5.4 (a
design proposal) with the module implementations of :mod:`agreid_video.modules`. Every new
module is residual with a zero-initialised output, so at initialisation the network computes
exactly TF-CLIP's features for the same shared weights. The view of a clip comes from its
camera id through a configurable table (:mod:`agreid_video.methods.camera_views`).

Per clip (B, T frames, L tokens, width C, projection P):

(v)   view prompt e_v (C, zero-init) added to every frame's CLS token with the camera SIE;
(i)   view-specific residual adapters on all output tokens (B, T, L, C);
(iv)  scale-adaptive normalisation x + γ_v ⊙ LN(x) + β_v of the per-frame CLS (γ, β zero);
(iii) motion-aware gating of the CLS sequence from |x_t − x_{t−1}| (strength zero);
(ii)  view-aware memory diffusion of the projected frame features: gated cross-attention into
      the clip's view memory bank, x + s·g⊙r with s = 0 at init;
(v)   cross-view transformer over [view prompt; CLS frames] pooling the CLS feature
      (mean + zero-init W_o·out₀), replacing TF-CLIP's temporal mean;
      view-specific classifiers on the CLS neck feature (``logits_view``: each clip scored
      by its own view's head).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from agreid_models.backbones.clip import VideoTowerOutput
from agreid_video.methods.camera_views import AGVPREID_CAMERA_VIEWS, camera_view_table
from agreid_video.methods.clip_video_net import CLIPVideoNet, VideoNetConfig
from agreid_video.modules.memory_diffusion import ViewMemoryDiffusion
from agreid_video.modules.motion_gating import MotionGating
from agreid_video.modules.scale_norm import ScaleAdaptiveNorm
from agreid_video.modules.view_encoders import ViewSpecificEncoders
from agreid_video.modules.view_prompts import ViewPromptTransformer
from agreid_video.modules.views import VIEWS

#: Output key of the view-specific classifiers.
VIEW_LOGITS = "logits_view"


@dataclass(frozen=True)
class ACPModulesConfig:
    """Settings of ACP-VPReID's view-adaptive modules."""

    #: ``"camid:view"`` pairs (views: aerial, cctv, wearable); see ``camera_views``
    camera_views: tuple[str, ...] = AGVPREID_CAMERA_VIEWS
    default_view: str = "cctv"
    adapter_hidden: int | None = None
    cross_view_heads: int = 12
    cross_view_layers: int = 1
    dropout: float = 0.3
    memory_slots: int = 16
    memory_heads: int = 8


class ACPVideoNet(CLIPVideoNet):
    """:class:`CLIPVideoNet` with ACP-VPReID's view-adaptive modules (module docstring)."""

    view_table: Tensor

    def __init__(
        self,
        cfg: VideoNetConfig,
        acp: ACPModulesConfig,
        img_size: tuple[int, int],
        num_classes: int,
        num_cameras: int,
    ) -> None:
        super().__init__(cfg, img_size, num_classes, num_cameras)
        c, p, v = self.feature_dim, self.proj_dim, len(VIEWS)
        self.register_buffer(
            "view_table", camera_view_table(acp.camera_views, num_cameras, acp.default_view)
        )
        self.view_prompt = nn.Parameter(torch.zeros(v, c))
        self.view_encoders = ViewSpecificEncoders(c, v, acp.adapter_hidden)
        self.scale_norm = ScaleAdaptiveNorm(c, v, residual=True)
        self.motion_gate = MotionGating(c)
        self.view_memory = ViewMemoryDiffusion(
            p, acp.memory_slots, v, acp.memory_heads, init_scale=0.0
        )
        self.cross_view = ViewPromptTransformer(
            c,
            v,
            heads=acp.cross_view_heads,
            num_layers=acp.cross_view_layers,
            dropout=acp.dropout,
            max_frames=cfg.max_frames,
        )
        heads = [nn.Linear(c, num_classes, bias=False) for _ in range(v)]
        for head in heads:
            nn.init.normal_(head.weight, std=0.001)
        self.view_heads = nn.ModuleList(heads)

    def views_of(self, camids: Tensor) -> Tensor:
        """View ids (B,) of camera ids (B,) (the table covers the ``num_cameras`` the data
        announced; larger ids are clamped to its last entry)."""
        index = camids.long().clamp(0, self.view_table.shape[0] - 1)
        return self.view_table[index]

    def cls_bias(self, batch: int, frames: int, camids: Tensor) -> Tensor | None:
        """(v) the view prompt on every frame's CLS token (B, T, C)."""
        prompt = self.view_prompt[self.views_of(camids)]
        return prompt.unsqueeze(1).expand(batch, frames, -1)

    def frame_features(
        self, out: VideoTowerOutput, camids: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(i) adapters on tokens, (iv) scale norm + (iii) motion gate on CLS, (ii) memory."""
        views = self.views_of(camids)
        tokens = self.view_encoders(out.tokens, views)
        cls = self.tower.cls_feature(tokens)
        cls = self.motion_gate(self.scale_norm(cls, views))
        proj = self.view_memory(self.tower.project(cls), views)
        return cls, proj, tokens

    def pool_cls(self, cls_frames: Tensor, camids: Tensor) -> Tensor:
        """(v) the cross-view transformer pooling of the CLS frames."""
        out: Tensor = self.cross_view(cls_frames, self.views_of(camids))
        return out

    def extra_outputs(
        self, outputs: dict[str, Tensor], camids: Tensor, cls_neck: dict[str, Tensor]
    ) -> None:
        """Training: ``logits_view``, each clip scored by its own view's classifier."""
        if not self.training:
            return
        views = self.views_of(camids)
        neck = cls_neck["neck_features"]
        logits = torch.zeros_like(outputs["logits_cls"])
        for v, head in enumerate(self.view_heads):
            idx = (views == v).nonzero().squeeze(1)
            if idx.numel():
                logits = logits.index_copy(0, idx, head(neck.index_select(0, idx)))
        outputs[VIEW_LOGITS] = logits
