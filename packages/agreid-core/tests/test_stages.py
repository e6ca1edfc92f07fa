"""Multi-stage methods: stages train in order into their own folders, later stages see the
earlier models, ``assemble`` builds the evaluated model, and a resumed run reloads finished
stages instead of retraining them."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import TinyNet, tiny_cfg
from test_trainer_run import _data

from agreid_core.config import TrainingConfig
from agreid_core.engine.run import run_method
from agreid_core.engine.stages import TRANSDUCTIVE, Stage, StageContext
from agreid_core.method import EMBEDDING, DataInfo, LossTerm, MethodSpec, Recipe
from agreid_core.plugins import PluginHost, hookimpl
from agreid_core.plugins.hookspecs import Register


@dataclass(frozen=True)
class TwoConfig:
    training: TrainingConfig = field(default_factory=tiny_cfg)


def _recipe(info: DataInfo) -> Recipe:
    return Recipe(
        TinyNet(info.num_classes), [LossTerm("ce", torch.nn.CrossEntropyLoss(), "logits")]
    )


class Concat(nn.Module):
    """Ensemble: the concatenated L2-normalised member embeddings."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: Tensor, camids: Tensor) -> dict[str, Tensor]:
        feats = [nn.functional.normalize(m(x, camids)[EMBEDDING], dim=1) for m in self.members]
        return {EMBEDDING: torch.cat(feats, dim=1)}


SEEN: dict[str, object] = {}


def _second(ctx: StageContext, info: DataInfo) -> Recipe:
    SEEN["first_trained"] = "first" in ctx.models
    ctx.notes[TRANSDUCTIVE] = "pseudo-labels"
    recipe = _recipe(info)
    recipe.model.load_state_dict(ctx.models["first"].state_dict())  # warm start
    return recipe


def _stages(cfg: TwoConfig) -> list[Stage]:
    return [
        Stage("first", lambda ctx, info: _recipe(info)),
        Stage(
            "second", _second, training=lambda t: replace(t, schedule=replace(t.schedule, epochs=1))
        ),
    ]


class StagedPlugin:
    @hookimpl
    def agreid_register_methods(self, register: Register) -> None:
        register(
            "two",
            MethodSpec(
                "two stages",
                {"cpu": TwoConfig},
                lambda cfg, info: _recipe(info),
                stages=_stages,
                assemble=lambda ctx: Concat([ctx.models["first"], ctx.models["second"]]),
            ),
        )


class Interrupt(Exception):
    pass


def test_stages_train_in_order_and_resume_at_the_stage_reached(tmp_path: Path) -> None:
    host = PluginHost()
    host.register(StagedPlugin(), "staged")
    data = _data(tmp_path)
    out = tmp_path / "run"
    calls: list[tuple[int, int]] = []

    def stop_in_second(epoch: int, step: int, loss: float) -> None:
        calls.append((epoch, step))
        if (out / "stages" / "first" / "model.safetensors").is_file():
            raise Interrupt  # the second stage's first step

    with pytest.raises(Interrupt):
        run_method(host, "two", data, output_dir=out, on_step=stop_in_second)
    first_weights = (out / "stages" / "first" / "model.safetensors").read_bytes()
    first_log = (out / "stages" / "first" / "train_log.jsonl").read_text()
    assert not (out / "stages" / "second" / "model.safetensors").exists()

    done = run_method(host, "two", data, output_dir=out, resume=True)
    assert SEEN["first_trained"] is True
    assert set(done.stages) == {"first", "second"}
    assert done.stages["first"].steps == 0 or done.stages["first"].resumed_from_step
    assert (out / "stages" / "first" / "model.safetensors").read_bytes() == first_weights
    assert (out / "stages" / "first" / "train_log.jsonl").read_text() == first_log
    assert (out / "stages" / "second" / "model.safetensors").is_file()
    assert done.evaluation is not None
    # the evaluated model is the assembled ensemble: 4 + 4 normalised dims
    assert (out / "results.csv").is_file()
    assert all(e.endswith(",transductive(pseudo-labels)") for e in done.results["eval"].to_list())
    assert done.train.steps == sum(r.steps for r in done.stages.values())
