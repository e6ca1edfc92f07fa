"""Method recipes: a typed config with named profiles plus one build function.

A :class:`MethodSpec` is what a plugin registers under a method name. ``build(config, info)``
returns a :class:`Recipe`: the model and its loss terms. The engine turns the config's
``training`` section into optimiser, schedule, sampler and augmentation, so a recipe reads
like the paper's paragraph and nothing is copied between methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import torch
from torch import Tensor, nn

from agreid_core.config import MethodConfig
from agreid_core.types import LossResult

C = TypeVar("C", bound=MethodConfig)

#: Key of the model output used as the retrieval feature at test time.
EMBEDDING = "embedding"


@dataclass(frozen=True)
class DataInfo:
    """What a recipe may know about its training data before building the model."""

    num_classes: int
    num_cameras: int
    num_train_samples: int
    #: the training rows' attribute columns without ``attr_`` (the order of the trainer's
    #: ``attributes`` target), empty when the dataset has none
    attribute_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class LossTerm:
    """One weighted loss applied to one model output and one target field.

    ``loss(outputs[input_key], targets[target_key], **{k: targets[k] for k in extra_targets})``
    must return a scalar tensor. The trainer's targets are ``pids`` (contiguous train labels)
    and ``camids``; ``extra_targets=("camids",)`` gives a camera-aware loss its cameras.

    Loss modules may also implement two optional hooks the trainer calls:

    - ``refresh_from_features(features, labels, camids)``: at the start of every epoch, with
      the model output named by the module's ``feature_key`` attribute (default
      ``"features"``) for every training sample, extracted in eval mode (memory / proxy
      losses such as BENTO's);
    - ``on_epoch_end(epoch)``: after every epoch (online label smoothing).
    """

    name: str
    loss: nn.Module
    input_key: str
    target_key: str = "pids"
    weight: float = 1.0
    extra_targets: tuple[str, ...] = ()


class Criterion(nn.Module):
    """The weighted sum of a recipe's loss terms, reporting each part by name."""

    def __init__(self, terms: Sequence[LossTerm]) -> None:
        super().__init__()
        if not terms:
            raise ValueError("a recipe needs at least one loss term")
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"loss term names must be unique, got {names}")
        self.terms = list(terms)
        self.modules_by_name = nn.ModuleDict({t.name: t.loss for t in terms})

    def forward(self, outputs: Mapping[str, Tensor], targets: Mapping[str, Tensor]) -> LossResult:
        """Sum of ``weight * loss`` over the terms."""
        parts: dict[str, Tensor] = {}
        for term in self.terms:
            if term.input_key not in outputs:
                raise KeyError(
                    f"loss term {term.name!r} needs model output {term.input_key!r}; "
                    f"the model returned {sorted(outputs)}"
                )
            extra = {k: targets[k] for k in term.extra_targets}
            value = self.modules_by_name[term.name](
                outputs[term.input_key], targets[term.target_key], **extra
            )
            parts[term.name] = term.weight * value
        total = torch.stack(list(parts.values())).sum()
        return LossResult(total=total, parts=parts)


@dataclass
class Recipe:
    """A built method: the model and its losses.

    The model's ``forward(images, camids)`` returns a mapping of named outputs; in eval mode
    it must contain :data:`EMBEDDING`, the retrieval feature. ``head_parameter_prefixes``
    names the parameters that get ``optim.head_lr_factor``.
    """

    model: nn.Module
    losses: Sequence[LossTerm]
    head_parameter_prefixes: tuple[str, ...] = ()
    notes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSpec(Generic[C]):
    """A registered method: profiles (named config factories) and a build function.

    ``kind`` says which datasets it trains on (image samples or video tracklets).
    Multi-stage and ensemble methods set ``stages(config)``, a sequence of
    :class:`agreid_core.engine.stages.Stage` trained in order (``build`` is then only used
    for conformance checks), and optionally ``assemble(ctx)``, the evaluated model built
    from the trained stages (:class:`agreid_core.engine.stages.StageContext`).
    """

    summary: str
    profiles: Mapping[str, Callable[[], C]]
    build: Callable[[C, DataInfo], Recipe]
    reference: str = ""
    default_profile: str = "cpu"
    kind: Literal["image", "video"] = "image"
    stages: Callable[[C], Sequence[Any]] | None = None
    assemble: Callable[[Any], nn.Module] | None = None

    def config(self, profile: str | None = None) -> C:
        """The config of ``profile`` (default: :attr:`default_profile`)."""
        name = profile or self.default_profile
        if name not in self.profiles:
            raise KeyError(
                f"unknown profile {name!r}; this method has: {', '.join(sorted(self.profiles))}"
            )
        return self.profiles[name]()
