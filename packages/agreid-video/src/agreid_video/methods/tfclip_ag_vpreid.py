"""TFCLIP-AG-VPReID (AG-VPReID 2025 challenge paper, appendix A.2; method card 5.3).

TF-CLIP with the ViT-B/16 image tower replaced by EVA02-CLIP-L/14 (24 layers, width 1024,
RoPE + SwiGLU, projection 768), every other module unchanged: memory (K × 768), SSP d 768
(12 heads, TF-CLIP's d/64 rule), TMD width 1024 (16 heads), three BNNeck heads, test feature
[1024, 768, 1024] = 2816-d. Loss (weights 1.0 each): L_V2M + L_tri + L_ce, with

- L_V2M: Eq. 2, per identity y of the batch, softmax over the B clips of
  cos(v_j, M'_y) (τ = 1, no temperature is given), M' = the SSP-refined memory of clip j
  (``memory_loss="v2m"``; ``"i2t"`` switches to TF-CLIP's per-clip CE over all memories);
- L_tri: batch-hard triplet, margin 0.3, on the three pre-neck features;
- L_ce: label-smoothed CE, ε 0.1, on the three heads (no frame-level term: the paper lists
  only these three).

Batch 8 = P2 × K4, 8-frame clips at 224×224 (the native 16×16 grid), 80 epochs; warm-up over
10 epochs from 5e-7 to 5e-6, ×0.1 at epochs 30 and 50 (Adam, wd 1e-4 as TF-CLIP).

Data: AG-VPReID train + G2A-VReID train **and** test, identities renumbered after the largest
AG-VPReID id. Use :func:`agreid_core.data.merge.merge_datasets` (``merge:agvpreid+g2a-vreid``
when the run loader accepts that syntax); AG-VPReID must be the first source so that its ids
come first, and G2A's camids are offset past AG-VPReID's. Evaluate on AG-VPReID alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agreid_core.config import (
    AugmentConfig,
    EvalConfig,
    InputConfig,
    OptimConfig,
    SamplerConfig,
    ScheduleConfig,
    TrainingConfig,
)
from agreid_core.method import DataInfo, MethodSpec, Recipe
from agreid_video.methods.clip_video_net import CLIPVideoNet, VideoNetConfig
from agreid_video.methods.common import (
    AGVPREID_TRAIN_TRACKLETS,
    G2A_VREID_TRACKLETS,
    LossConfig,
    tfclip_loss_terms,
    warmup_iters,
)
from agreid_video.methods.tf_clip import cpu_training, tiny_net

#: The seed's loss: V2M + triplet + CE-LS, all weights 1, no frame term.
AG_LOSS = LossConfig(
    identity="label-smoothing",
    label_smoothing=0.1,
    id_weight=1.0,
    triplet_margin=0.3,
    triplet_weight=1.0,
    memory_loss="v2m",
    memory_weight=1.0,
    frame_weight=0.0,
)


@dataclass(frozen=True)
class TFCLIPAGConfig:
    """TFCLIP-AG-VPReID's network and loss settings plus the shared training section."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    net: VideoNetConfig = field(default_factory=VideoNetConfig)
    loss: LossConfig = AG_LOSS
    #: datasets merged for training (documentation; the run's data argument selects them)
    train_sources: tuple[str, ...] = ("agvpreid", "g2a-vreid")


def paper() -> TFCLIPAGConfig:
    """Appendix A.2: EVA-CLIP-L/14 at 224×224, P2 × K4, 80 epochs, warm-up 5e-7 → 5e-6."""
    batch = 8
    tracklets = AGVPREID_TRAIN_TRACKLETS + G2A_VREID_TRACKLETS
    return TFCLIPAGConfig(
        training=TrainingConfig(
            input=InputConfig(height=224, width=224),
            sampler=SamplerConfig(ids_per_batch=2, instances_per_id=4, clip_length=8),
            augment=AugmentConfig(flip=0.5, pad=0, random_erasing=0.5),
            optim=OptimConfig(name="adam", lr=5e-6, weight_decay=1e-4),
            schedule=ScheduleConfig(
                epochs=80,
                milestones=(30, 50),
                gamma=0.1,
                warmup_iters=warmup_iters(10, tracklets, batch),
                warmup_factor=0.1,
            ),
            eval=EvalConfig(metric="cosine", clip_length=8, batch_size=30),
            amp=True,
            num_workers=8,
        ),
        net=VideoNetConfig(
            tower="eva-clip-l14",
            pos_embed_mode="bicubic",
            ssp_heads=12,
            tmd_heads=16,
            memory_similarity="cosine",
        ),
    )


def cpu() -> TFCLIPAGConfig:
    """Tiny EVA tower (same timm ``Eva`` class: RoPE, SwiGLU; width 64, 2 blocks, patch 14) at
    56×56 (4×4 grid), T = 4, P2 × K4 (the paper's batch shape), 60 epochs, AG-VPReID only."""
    return TFCLIPAGConfig(
        training=cpu_training(
            input=InputConfig(height=56, width=56),
            sampler=SamplerConfig(ids_per_batch=2, instances_per_id=4, clip_length=4),
        ),
        net=tiny_net(tower="eva-clip-l14", pos_embed_mode="bicubic", memory_similarity="cosine"),
        train_sources=("agvpreid",),
    )


def build(cfg: TFCLIPAGConfig, info: DataInfo) -> Recipe:
    """EVA-CLIP tower in the TF-CLIP network; V2M + triplet + CE-LS."""
    inp = cfg.training.input
    model = CLIPVideoNet(cfg.net, (inp.height, inp.width), info.num_classes, info.num_cameras)
    losses = tfclip_loss_terms(cfg.loss, model, info.num_classes, cfg.training.sampler.clip_length)
    return Recipe(model=model, losses=losses)


SPEC: MethodSpec[TFCLIPAGConfig] = MethodSpec(
    summary="TFCLIP-AG-VPReID: TF-CLIP with EVA-CLIP-L/14; V2M + triplet + CE-LS; "
    "trained on AG-VPReID + G2A-VReID (merge)",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="AG-VPReID 2025 challenge, appendix A.2 (TFCLIP-AG-VPReID)",
    kind="video",
)
