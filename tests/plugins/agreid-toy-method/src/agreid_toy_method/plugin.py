"""Registers the method ``toy-cnn``: a four-layer CNN trained with cross-entropy.

Everything a method needs comes from agreid-core: the config sections, the recipe types and
the ``agreid_register_methods`` hook. Nothing here imports another agreid package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from agreid_core.config import InputConfig, SamplerConfig, ScheduleConfig, TrainingConfig
from agreid_core.method import EMBEDDING, DataInfo, LossTerm, MethodSpec, Recipe
from agreid_core.plugins import hookimpl
from agreid_core.plugins.hookspecs import Register


@dataclass(frozen=True)
class ToyConfig:
    training: TrainingConfig = field(default_factory=TrainingConfig)
    width: int = 32


class ToyNet(nn.Module):
    def __init__(self, width: int, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for w in (width, width * 2, width * 4):
            layers += [nn.Conv2d(c, w, 3, stride=2, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
            c = w
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        feat = self.body(images).mean(dim=(2, 3))
        return {EMBEDDING: feat, "logits": self.classifier(feat)}


def _profile(epochs: int, size: int) -> ToyConfig:
    return ToyConfig(
        training=TrainingConfig(
            input=InputConfig(height=size * 2, width=size),
            sampler=SamplerConfig(ids_per_batch=4, instances_per_id=4),
            schedule=ScheduleConfig(epochs=epochs, warmup_iters=5, milestones=()),
            num_workers=0,
        )
    )


def build(cfg: ToyConfig, info: DataInfo) -> Recipe:
    return Recipe(
        model=ToyNet(cfg.width, info.num_classes),
        losses=[LossTerm("ce", nn.CrossEntropyLoss(), input_key="logits")],
    )


SPEC = MethodSpec(
    summary="Toy CNN + cross-entropy (third-party example plugin)",
    profiles={"cpu": lambda: _profile(1, 32), "paper": lambda: _profile(60, 64)},
    build=build,
)


@hookimpl
def agreid_register_methods(register: Register) -> None:
    register("toy-cnn", SPEC)
