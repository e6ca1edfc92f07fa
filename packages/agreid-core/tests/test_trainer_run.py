"""``run_method`` writes the resumable state, the curve, and resumes with ``resume=True``."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import TinyNet, make_rows, tiny_cfg

from agreid_core.config import TrainingConfig
from agreid_core.data.dataset import ProtocolSpec, ReIDData
from agreid_core.data.index import make_index
from agreid_core.engine.run import run_method
from agreid_core.engine.state import CHECKPOINT_NAME, load_training_state
from agreid_core.method import DataInfo, LossTerm, MethodSpec, Recipe
from agreid_core.plugins import PluginHost, hookimpl
from agreid_core.plugins.hookspecs import Register


@dataclass(frozen=True)
class TinyConfig:
    training: TrainingConfig = field(default_factory=tiny_cfg)


def _build(cfg: TinyConfig, info: DataInfo) -> Recipe:
    return Recipe(
        TinyNet(info.num_classes), [LossTerm("ce", torch.nn.CrossEntropyLoss(), "logits")]
    )


class TinyPlugin:
    @hookimpl
    def agreid_register_methods(self, register: Register) -> None:
        register("tiny", MethodSpec("tiny", {"cpu": TinyConfig}, _build))


def _data(tmp_path: Path) -> ReIDData:
    train = make_rows(tmp_path / "train", n_ids=4, per_platform=2).with_columns(
        pl.lit("train").alias("split"), pl.lit("bounding_box_train").alias("subset")
    )
    test = make_rows(tmp_path / "test", n_ids=3, per_platform=2).with_columns(
        pl.lit("test").alias("split"),
        pl.when(pl.col("platform") == "aerial")
        .then(pl.lit("query"))
        .otherwise(pl.lit("gallery"))
        .alias("subset"),
        pl.col("pid") + 1000,
    )
    index = make_index(pl.concat([train, test]).to_dicts())
    return ReIDData(
        "tiny", tmp_path, "image", index, (ProtocolSpec("A→G", ("query",), ("gallery",)),)
    )


def test_run_method_checkpoints_plots_and_resumes(tmp_path: Path) -> None:
    host = PluginHost()
    host.register(TinyPlugin(), "tiny-plugin")
    data = _data(tmp_path)
    out = tmp_path / "run"
    first = run_method(host, "tiny", data, output_dir=out, epochs=1)
    assert (out / CHECKPOINT_NAME).is_file() and (out / "training_curve.png").is_file()
    state = load_training_state(out / CHECKPOINT_NAME)
    assert state.run_info["method"] == "tiny" and "git_revision" in state.run_info
    assert state.counters.epoch == 1
    again = run_method(host, "tiny", data, output_dir=out, epochs=2, resume=True)
    assert again.train.resumed_from_step == first.train.steps
    assert again.train.steps == 2 * first.train.steps
    steps = [json.loads(x)["step"] for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, again.train.steps + 1))
