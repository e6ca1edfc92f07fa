"""Typed configuration shared by every method recipe, and dotted-path overrides.

A method's config is a frozen dataclass with a ``training`` field of type
:class:`TrainingConfig` plus its own model fields. Profiles (``paper``, ``cpu``) are
functions returning such configs. ``override(cfg, "training.schedule.epochs", "3")`` returns
a copy with one field replaced, converting the string to the field's type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

C = TypeVar("C")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputConfig:
    """Network input: size after resizing and the normalisation constants."""

    height: int = 256
    width: int = 128
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


@dataclass(frozen=True)
class SamplerConfig:
    """Batch composition: ``ids_per_batch`` identities × ``instances_per_id`` samples
    (images, or for video datasets clips of ``clip_length`` frames of one tracklet each)."""

    name: str = "pk"
    ids_per_batch: int = 16
    instances_per_id: int = 4
    #: video: frames per training clip, and how they are drawn from a tracklet
    clip_length: int = 8
    clip_sampling: Literal["restricted-random", "evenly-spaced"] = "restricted-random"

    @property
    def batch_size(self) -> int:
        """P × K."""
        return self.ids_per_batch * self.instances_per_id


@dataclass(frozen=True)
class AugmentConfig:
    """Batch-wise train augmentation (probabilities in [0, 1], pad in pixels)."""

    flip: float = 0.5
    pad: int = 10
    random_erasing: float = 0.5
    # aerial steps (see agreid_core.data.aerial_augment): probabilities, 0 = off
    low_res: float = 0.0
    motion_blur: float = 0.0
    rotation: float = 0.0
    color_jitter: float = 0.0
    grayscale: float = 0.0
    sharpness: float = 0.0
    # their strengths, used only when the matching probability is > 0
    rotation_degrees: float = 10.0
    jitter_strength: float = 0.2


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and its parameter-group rules."""

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    momentum: float = 0.9
    head_lr_factor: float = 1.0
    bias_lr_factor: float = 1.0
    weight_decay_norm: bool = True


@dataclass(frozen=True)
class ScheduleConfig:
    """Epochs, warm-up and learning-rate decay. Milestones are in epochs."""

    epochs: int = 120
    iters_per_epoch: int | None = None
    kind: Literal["multistep", "cosine", "constant"] = "multistep"
    milestones: tuple[int, ...] = (40, 90)
    gamma: float = 0.1
    warmup_iters: int = 2000
    warmup_factor: float = 0.1
    min_lr: float = 0.0


@dataclass(frozen=True)
class EvalConfig:
    """How test features are compared, and what an evaluation writes.

    ``evaluator``: the registered protocol evaluator (``auto``: the one named like the
    dataset; see :mod:`agreid_core.evaluation.evaluators`).

    ``rerank``: k-reciprocal re-ranking with ``rerank_k1``, ``rerank_k2``,
    ``rerank_lambda``. ``centroid_gallery``: gallery items of one identity and camera are
    replaced by their mean feature (CentroidNet, MFE, BENTO); that reads gallery identity
    labels, so it needs ``oracle``. ``attribute_mask``: add a penalty to query-gallery
    distances where known soft-biometric attributes disagree (X-TFCLIP), ``predicted`` from
    the model's ``attribute_labels`` output or ``oracle`` from the annotated test
    attributes; ``attribute_penalty`` lists ``name:weight`` pairs. ``oracle`` allows options
    that read test ground truth; every row and file they reach is labelled ``oracle``.
    ``clip_length``: frames per clip when embedding video tracklets (all frames, in chunks).
    """

    evaluator: str = "auto"
    metric: Literal["cosine", "euclidean"] = "cosine"
    flip: bool = False
    rerank: bool = False
    rerank_k1: int = 20
    rerank_k2: int = 6
    rerank_lambda: float = 0.3
    centroid_gallery: bool = False
    attribute_mask: Literal["off", "predicted", "oracle"] = "off"
    attribute_penalty: tuple[str, ...] = (
        "gender:0.2",
        "age:0.2",
        "ethnicity:0.2",
        "body_volume:0.1",
    )
    oracle: bool = False
    clip_length: int = 8
    batch_size: int = 128
    plots: bool = True
    ranked_list_queries: int = 6
    ranked_list_top_k: int = 10


@dataclass(frozen=True)
class TrainingConfig:
    """Everything the engine needs that is not the model itself."""

    input: InputConfig = field(default_factory=InputConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    amp: bool = False
    grad_clip: float | None = None
    num_workers: int = 2
    #: autocast dtype under ``amp``: ``auto`` = bfloat16 on CPU, float16 (+ GradScaler) on CUDA
    amp_dtype: Literal["auto", "bfloat16", "float16"] = "auto"
    #: channels_last memory format for model and inputs (CNNs)
    channels_last: bool = False
    #: gradient centralisation (Yong et al. ECCV'20) of every weight with ≥ 2 dims
    grad_centralization: bool = False
    #: also save the resumable training state every N optimiser steps (0: once per epoch only)
    checkpoint_every: int = 0
    #: fraction of training identities held out as a validation query/gallery split (0: off)
    val_fraction: float = 0.0
    #: evaluate on the validation split every N epochs (0: never)
    eval_every: int = 0
    #: weights the final report should use: the last epoch's or the best validation mAP's
    report_checkpoint: Literal["last", "val-best"] = "last"
    #: DistributedDataParallel ``find_unused_parameters`` (models with outputs unused in training)
    ddp_find_unused_parameters: bool = False


class MethodConfig(typing.Protocol):
    """What every method config provides (a frozen dataclass with a ``training`` field)."""

    @property
    def training(self) -> TrainingConfig: ...


def to_dict(cfg: object) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"expected a dataclass instance, got {type(cfg).__name__}")
    return dataclasses.asdict(cfg)


def _convert(value: str, tp: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value.lower() in ("none", "null") and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, path)
            except ValueError:
                continue
        raise ValueError(f"{path}: cannot read {value!r} as {tp}")
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{path}: {value!r} is not one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        items = [v for v in value.strip("()[] ").split(",") if v.strip()]
        inner = args[0] if args else str
        return tuple(_convert(v.strip(), inner, path) for v in items)
    if tp is bool:
        low = value.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{path}: {value!r} is not a boolean")
    if tp in (int, float, str):
        try:
            return tp(value)
        except ValueError:
            raise ValueError(f"{path}: {value!r} is not a valid {tp.__name__}") from None
    raise ValueError(f"{path}: fields of type {tp} cannot be set from the command line")


def override(cfg: C, path: str, value: Any, _full: str | None = None) -> C:
    """Return a copy of ``cfg`` with the dotted field ``path`` set to ``value``.

    String values are converted to the field's declared type; unknown fields raise
    ``KeyError`` naming the valid ones.
    """
    full = _full or path
    head, _, rest = path.partition(".")
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise KeyError(f"cannot set {full!r}: {type(cfg).__name__} is not a config section")
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    if head not in fields:
        raise KeyError(f"{full}: unknown config field {head!r}; valid: {', '.join(fields)}")
    current = getattr(cfg, head)
    if rest:
        new = override(current, rest, value, full)
    elif isinstance(value, str):
        hints = typing.get_type_hints(type(cfg))
        new = _convert(value, hints[head], full)
    else:
        new = value
    return dataclasses.replace(cfg, **{head: new})


def get_field(cfg: object, path: str) -> Any:
    """The value of the dotted field ``path`` of ``cfg``; ``KeyError`` names the valid fields."""
    value = cfg
    for part in path.split("."):
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            raise KeyError(f"{path}: {part!r} is not inside a config section")
        names = [f.name for f in dataclasses.fields(value)]
        if part not in names:
            raise KeyError(f"{path}: unknown config field {part!r}; valid: {', '.join(names)}")
        value = getattr(value, part)
    return value


def apply_overrides(cfg: C, assignments: list[str]) -> C:
    """Apply ``key=value`` strings in order (the CLI's ``--set``)."""
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        cfg = override(cfg, key.strip(), value.strip())
    return cfg
