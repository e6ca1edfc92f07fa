"""TF-CLIP — "Learning Text-free CLIP for Video-based Person Re-identification" (Yu et al.,
AAAI 2024); the baseline of the AG-VPReID 2025 challenge (Tables 3–6).

As in ``AsuradaYuci/TF-CLIP`` (= the official AG-VPReID baseline; ``peers.md`` §6): OpenAI CLIP
ViT-B/16 image tower with bilinear position-embedding resize and camera SIE on the CLS token,
CLIP-Memory (per-identity mean of projected tracklet features, built once before epoch 1),
SSP (2 layers, 8 heads, 512-d, residual memory update), TMD (1 block, 12 heads, detached
input), 4 BNNeck heads; losses 0.25·ΣCE-LS(ε 0.1) on [CLS, proj, temporal] + Σ triplet(0.3)
on the same features + I2T CE-LS + frame CE / T; 8-frame restricted-random clips at 256×128,
P4 × K4; Adam 5e-6, wd 1e-4, bias LR ×2, temporal classifier LR ×10; warm-up 10 epochs from
0.1, ×0.1 at epochs 30/50/70, 80 epochs, AMP; test = concat [768, 512, 768] = 2048-d,
L2-normalised (cosine ranking = normalised Euclidean), no re-ranking.

The ``cpu`` profile keeps every module with a 2-block tiny CLIP tower (width 64, 2 heads,
projection 32) at 64×32, 4-frame clips, P4 × K2, random init and a few epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
    LossConfig,
    tfclip_loss_terms,
    warmup_iters,
)

#: The temporal classifier (TF-CLIP ``classifier_proj_temp``, LR ×10).
TEMPORAL_CLASSIFIER = "neck_tmp.classifier"


@dataclass(frozen=True)
class TFCLIPConfig:
    """TF-CLIP's network and loss settings plus the shared training section."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    net: VideoNetConfig = field(default_factory=VideoNetConfig)
    loss: LossConfig = field(default_factory=LossConfig)


def paper() -> TFCLIPConfig:
    """``configs/vit_clipreid.yml`` of TF-CLIP / the AG-VPReID baseline."""
    batch = 16
    return TFCLIPConfig(
        training=TrainingConfig(
            input=InputConfig(height=256, width=128),
            sampler=SamplerConfig(ids_per_batch=4, instances_per_id=4, clip_length=8),
            augment=AugmentConfig(flip=0.5, pad=0, random_erasing=0.5),
            optim=OptimConfig(
                name="adam",
                lr=5e-6,
                weight_decay=1e-4,
                bias_lr_factor=2.0,
                head_lr_factor=10.0,
            ),
            schedule=ScheduleConfig(
                epochs=80,
                milestones=(30, 50, 70),
                gamma=0.1,
                warmup_iters=warmup_iters(10, AGVPREID_TRAIN_TRACKLETS, batch),
                warmup_factor=0.1,
            ),
            eval=EvalConfig(metric="cosine", clip_length=8, batch_size=30),
            amp=True,
            num_workers=8,
        ),
        net=VideoNetConfig(tower="clip-vit-b16", pos_embed_mode="bilinear"),
    )


def tiny_net(**changes: object) -> VideoNetConfig:
    """A 2-block CLIP-family tower (width 64, 2 heads, projection 32), random init."""
    base: dict[str, object] = {
        "pretrained": False,
        "embed_dim": 64,
        "depth": 2,
        "num_heads": 2,
        "proj_dim": 32,
        "ssp_heads": 2,
        "tmd_heads": 2,
        "attention_hidden": 16,
        "max_frames": 4,
    }
    base.update(changes)
    return VideoNetConfig(**base)  # type: ignore[arg-type]


def cpu_training(**changes: object) -> TrainingConfig:
    """The CPU training section shared by the tiny CLIP video profiles."""
    cfg = TrainingConfig(
        input=InputConfig(height=64, width=32),
        sampler=SamplerConfig(ids_per_batch=4, instances_per_id=2, clip_length=4),
        augment=AugmentConfig(flip=0.5, pad=2, random_erasing=0.5),
        optim=OptimConfig(name="adam", lr=1e-3, weight_decay=1e-4, bias_lr_factor=2.0),
        schedule=ScheduleConfig(
            epochs=60, milestones=(45,), gamma=0.1, warmup_iters=10, warmup_factor=0.1
        ),
        eval=EvalConfig(metric="cosine", clip_length=4, batch_size=32),
        num_workers=0,
    )
    return replace(cfg, **changes)  # type: ignore[arg-type]


def cpu() -> TFCLIPConfig:
    """Same modules, tiny: 2-block tower at 64×32, T = 4, P4 × K2, 60 short epochs (about
    480 steps, under a minute on two cores), Adam 1e-3 (× 0.1 after epoch 45).

    Random init cannot learn at the paper's 5e-6 in so few steps, hence the larger LR.
    """
    return TFCLIPConfig(training=cpu_training(), net=tiny_net())


def build(cfg: TFCLIPConfig, info: DataInfo) -> Recipe:
    """CLIP tower + SSP/TMD + 3 BNNeck heads; TF-CLIP's weighted CE/triplet/I2T/frame terms."""
    inp = cfg.training.input
    model = CLIPVideoNet(cfg.net, (inp.height, inp.width), info.num_classes, info.num_cameras)
    losses = tfclip_loss_terms(cfg.loss, model, info.num_classes, cfg.training.sampler.clip_length)
    return Recipe(model=model, losses=losses, head_parameter_prefixes=(TEMPORAL_CLASSIFIER,))


SPEC: MethodSpec[TFCLIPConfig] = MethodSpec(
    summary="TF-CLIP: CLIP ViT-B/16 + CLIP-Memory, SSP, TMD; CE-LS + triplet + I2T (baseline)",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="Yu et al., Learning Text-free CLIP for Video-based Person Re-ID, AAAI 2024",
    kind="video",
)
