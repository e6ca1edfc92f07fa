"""LENS-AG-Net: profiles vs the card, schedule split, pseudo-labelled stage-2 rows, warm start."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from agreid_core.data.dataset import ProtocolSpec, ReIDData
from agreid_core.data.index import make_index
from agreid_core.engine.stages import TRANSDUCTIVE, StageContext
from agreid_core.method import EMBEDDING
from agreid_core.testing import check_method
from agreid_models.methods import lens_ag_net as lens
from agreid_models.methods.hrnet18 import ClassBlock


def test_paper_profile_is_the_card() -> None:
    cfg = lens.paper()
    t = cfg.training
    assert (t.input.height, t.input.width, t.sampler.batch_size) == (224, 224, 16)
    assert abs(t.optim.lr * t.optim.head_lr_factor - 0.01) < 1e-12 and t.optim.name == "sgd"
    assert (t.schedule.epochs, t.schedule.milestones, t.optim.weight_decay) == (60, (40,), 5e-4)
    a = t.augment
    assert (a.color_jitter, a.jitter_strength, a.sharpness, a.grayscale, a.random_erasing) == (
        1.0,
        0.2,
        0.5,
        0.1,
        0.5,
    )
    e = t.eval
    assert e.rerank and e.flip and (e.rerank_k1, e.rerank_k2, e.rerank_lambda) == (20, 6, 0.3)
    assert (cfg.circle_gamma, cfg.circle_margin, cfg.bottleneck, cfg.dropout) == (
        32.0,
        0.25,
        512,
        0.5,
    )
    assert (cfg.pseudo_labels, cfg.pretrain_epochs, cfg.pseudo_distance) == (True, 20, "jaccard")
    assert (cfg.pseudo_eps, cfg.pseudo_min_samples) == (0.6, 4)


def test_stages_split_the_schedule() -> None:
    cfg = lens.paper()
    first, second = lens.stages(cfg)
    assert (first.name, second.name) == ("pretrain", "pseudo")
    assert first.training is not None and second.training is not None
    s1, s2 = first.training(cfg.training).schedule, second.training(cfg.training).schedule
    assert (s1.epochs, s1.milestones, s1.warmup_iters) == (
        20,
        (),
        cfg.training.schedule.warmup_iters,
    )
    assert (s2.epochs, s2.milestones, s2.warmup_iters) == (40, (20,), 0)
    single = lens.stages(dataclasses.replace(cfg, pseudo_labels=False))
    assert [s.name for s in single] == ["train"] and single[0].training is None
    cpu = lens.cpu()
    assert cpu.training.schedule.epochs <= 8 and cpu.variant == "hrnet_w18_small"


def _tiny() -> lens.LENSConfig:
    """The cpu profile at 32×32 (same build path; keeps the test fast on two cores)."""
    cfg = lens.cpu()
    inp = dataclasses.replace(cfg.training.input, height=32, width=32)
    return dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, input=inp))


def test_cpu_recipe_conforms() -> None:
    spec = dataclasses.replace(lens.SPEC, profiles={"cpu": _tiny, "paper": lens.paper})
    recipe = check_method(spec, profile="cpu")
    assert [t.name for t in recipe.losses] == ["ce", "circle"]


class MeanColour(nn.Module):
    """A stand-in stage-1 model: the embedding is the image's mean colour."""

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        return {EMBEDDING: images.mean(dim=(2, 3))}


def _toy_data(root: Path, test_pids: list[int]) -> ReIDData:
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220)}
    rows: list[dict[str, object]] = []
    for i in range(4):
        path = root / f"train{i}.png"
        Image.fromarray(np.full((8, 4, 3), 128, np.uint8)).save(path)
        rows.append(
            {
                "path": str(path),
                "pid": 10 + i // 2,
                "camid": 0,
                "subset": "train",
                "split": "train",
                "attr_gender": 1,
            }
        )
    for i, pid in enumerate(test_pids):
        colour = colours["red" if i % 2 == 0 else "blue"]
        path = root / f"test{i}.png"
        Image.fromarray(np.full((8, 4, 3), colour, np.uint8)).save(path)
        subset = "query" if i < 4 else "gallery"
        rows.append(
            {
                "path": str(path),
                "pid": pid,
                "camid": i % 3,
                "subset": subset,
                "split": "test",
                "attr_gender": 0,
            }
        )
    protocols = (ProtocolSpec("Q→G", ("query",), ("gallery",)),)
    return ReIDData("toy", root, "image", make_index(rows), protocols)


def _stage2_rows(root: Path, test_pids: list[int]) -> tuple[pl.DataFrame, StageContext]:
    cfg = dataclasses.replace(lens.cpu(), pseudo_eps=0.05, pseudo_min_samples=2)
    ctx = StageContext(cfg, _toy_data(root, test_pids), torch.device("cpu"), 0, 3)
    ctx.models["pretrain"] = MeanColour()
    stage = lens.stages(cfg)[1]
    assert stage.train_rows is not None
    return stage.train_rows(ctx), ctx


def test_stage2_rows_are_train_plus_pseudo_labelled_test_without_ground_truth(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rows, ctx = _stage2_rows(tmp_path / "a", [500, 500, 501, 501, 502, 502, 503, 503])
    assert ctx.notes[TRANSDUCTIVE]
    assert ctx.notes["pseudo_labels"] == {
        "images": 8,
        "labelled": 8,
        "clusters": 2,
        "first_pid": 12,
    }
    train, pseudo = rows.filter(pl.col("split") == "train"), rows.filter(pl.col("split") == "test")
    assert train["pid"].to_list() == [10, 10, 11, 11]
    # red images (even) → 12, blue (odd) → 13: new ids after the largest training pid
    assert pseudo["pid"].to_list() == [12, 13] * 4
    assert pseudo["attr_gender"].null_count() == 8  # test annotations are not carried over
    # shuffled test ground truth: the same pseudo-labels
    shuffled, _ = _stage2_rows(tmp_path / "b", [7, 99, 3, 501, 42, 0, 500, 8])
    assert shuffled.filter(pl.col("split") == "test")["pid"].to_list() == pseudo["pid"].to_list()


def test_pseudo_stage_grows_the_classifier_and_keeps_the_trained_rows() -> None:
    # the ClassBlock of the recipe (the backbone's tensors keep their shapes)
    old, new = ClassBlock(16, 3), ClassBlock(16, 5)
    with torch.no_grad():
        old.classifier.weight.fill_(0.5)  # type: ignore[union-attr]
    lens.warm_start(new, old)
    for key, value in old.state_dict().items():
        target = new.state_dict()[key]
        torch.testing.assert_close(target[: value.shape[0]] if value.dim() else target, value)
    assert new.classifier is not None and new.classifier.weight.shape[0] == 5
    assert not torch.equal(new.classifier.weight[3:], torch.full((2, 512), 0.5))
    with pytest.raises(RuntimeError, match="shape"):
        lens.warm_start(ClassBlock(8, 5), old)
