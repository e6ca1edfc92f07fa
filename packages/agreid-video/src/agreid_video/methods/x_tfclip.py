"""X-TFCLIP — the AG-VPReID 2025 winner (challenge paper, appendix A.1; ``BiDAlab/X-TFCLIP``).

TF-CLIP (:mod:`agreid_video.methods.tf_clip`) with: attention pooling over frames in place of
every temporal mean (CLS, projection, TMD frames, SSP video tokens); bicubic position-embedding
resize; InstanceNorm BNNecks; a learnable frame-position embedding added with the camera SIE
to the CLS token; the memory combined as σ(a)·mem + (1−σ(a))·SSP(mem, video) (a = 0.5);
online label smoothing (α 0.5, first-epoch ε 0.1; one instance shared by the 3 heads and I2T,
another for frames) + triplet; gradient centralisation; P4 × K6 8-frame clips at 288×144,
90 epochs (paper; the code says P3 and 80). Test: flip TTA and a soft-biometric distance
mask (+0.2 per mismatch in gender, age, ethnicity, +0.1 for body shape; unknown → 0).

The paper masks with the *given* (ground-truth) attributes. Here the mask reads
*predicted* attributes: an attribute head on the CLS feature, trained with a CE per attribute
on the ``attributes`` target whenever the training data has attributes; in eval the model
outputs ``attribute_labels`` and exposes ``attribute_names``. ``training.eval.attribute_mask``
= ``oracle`` reproduces the paper's ground-truth masking (results then labelled oracle).
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
    attribute_term,
    known_attributes,
    tfclip_loss_terms,
    warmup_iters,
)
from agreid_video.methods.tf_clip import TEMPORAL_CLASSIFIER, cpu_training, tiny_net

#: Soft-biometric mask weights of appendix A.1.
MASK_PENALTY: tuple[str, ...] = ("gender:0.2", "age:0.2", "ethnicity:0.2", "body_volume:0.1")


@dataclass(frozen=True)
class XTFCLIPConfig:
    """X-TFCLIP's network and loss settings plus the shared training section."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    net: VideoNetConfig = field(default_factory=VideoNetConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    #: train an attribute head when the data has attributes (predicted masking needs it)
    attribute_head: bool = True


def x_tfclip_net(base: VideoNetConfig) -> VideoNetConfig:
    """X-TFCLIP's changes to a TF-CLIP network config."""
    return replace(
        base,
        pos_embed_mode="bicubic",
        temporal_pooling="attention",
        neck_norm="in",
        frame_position=True,
        memory_fusion="alpha",
        memory_alpha_init=0.5,
    )


def _eval(clip_length: int, batch_size: int) -> EvalConfig:
    return EvalConfig(
        metric="cosine",
        flip=True,
        attribute_mask="predicted",
        attribute_penalty=MASK_PENALTY,
        clip_length=clip_length,
        batch_size=batch_size,
    )


def paper() -> XTFCLIPConfig:
    """Appendix A.1: P4 × K6, 288×144, 90 epochs; the rest as TF-CLIP."""
    batch = 24
    return XTFCLIPConfig(
        training=TrainingConfig(
            input=InputConfig(height=288, width=144),
            sampler=SamplerConfig(ids_per_batch=4, instances_per_id=6, clip_length=8),
            augment=AugmentConfig(flip=0.5, pad=0, random_erasing=0.5),
            optim=OptimConfig(
                name="adam", lr=5e-6, weight_decay=1e-4, bias_lr_factor=2.0, head_lr_factor=10.0
            ),
            schedule=ScheduleConfig(
                epochs=90,
                milestones=(30, 50, 70),
                gamma=0.1,
                warmup_iters=warmup_iters(10, AGVPREID_TRAIN_TRACKLETS, batch),
                warmup_factor=0.1,
            ),
            eval=_eval(8, 30),
            amp=True,
            grad_centralization=True,
            num_workers=8,
        ),
        net=x_tfclip_net(VideoNetConfig(tower="clip-vit-b16")),
        loss=LossConfig(identity="online-label-smoothing"),
    )


def cpu() -> XTFCLIPConfig:
    """Tiny X-TFCLIP: 2-block tower at 64×32 (bicubic resize path), T = 4, P4 × K2, 60 epochs."""
    return XTFCLIPConfig(
        training=cpu_training(eval=_eval(4, 32), grad_centralization=True),
        net=x_tfclip_net(tiny_net()),
        loss=LossConfig(identity="online-label-smoothing"),
    )


def build(cfg: XTFCLIPConfig, info: DataInfo) -> Recipe:
    """TF-CLIP network with X-TFCLIP's parts, OLS + triplet + I2T (+ attribute CE)."""
    inp = cfg.training.input
    specs, columns = known_attributes(info) if cfg.attribute_head else ((), ())
    model = CLIPVideoNet(
        cfg.net, (inp.height, inp.width), info.num_classes, info.num_cameras, specs
    )
    losses = tfclip_loss_terms(cfg.loss, model, info.num_classes, cfg.training.sampler.clip_length)
    if specs and cfg.loss.attribute_weight > 0:
        losses.append(attribute_term(specs, columns, cfg.loss.attribute_weight))
    return Recipe(model=model, losses=losses, head_parameter_prefixes=(TEMPORAL_CLASSIFIER,))


SPEC: MethodSpec[XTFCLIPConfig] = MethodSpec(
    summary="X-TFCLIP: TF-CLIP + attention pooling, IN-BNNeck, frame pos, α-memory, OLS, "
    "GC, flip TTA, soft-biometric mask (AG-VPReID 2025 winner)",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="AG-VPReID 2025 challenge, appendix A.1 (X-TFCLIP); BiDAlab/X-TFCLIP",
    kind="video",
)
