"""Warm-up + decay schedule values and optimiser parameter groups."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agreid_core.config import OptimConfig, ScheduleConfig
from agreid_core.engine.optim import build_optimizer, lr_factor


def test_bot_warmup_value_from_the_method_card() -> None:
    cfg = ScheduleConfig(epochs=120, milestones=(40, 90), warmup_iters=2000, warmup_factor=0.1)
    # LR at iteration 1000 = 3.5e-4 · (0.1 + 0.9 · 1000/2000) = 1.925e-4
    assert 3.5e-4 * lr_factor(1000, cfg, 100, 3.5e-4) == pytest.approx(1.925e-4)
    assert lr_factor(0, cfg, 100, 3.5e-4) == pytest.approx(0.1)
    assert lr_factor(2000, cfg, 100, 3.5e-4) == pytest.approx(1.0)


def test_multistep_decay_at_epoch_milestones() -> None:
    cfg = ScheduleConfig(milestones=(2, 4), gamma=0.1, warmup_iters=0)
    assert lr_factor(199, cfg, 100, 1.0) == pytest.approx(1.0)
    assert lr_factor(200, cfg, 100, 1.0) == pytest.approx(0.1)
    assert lr_factor(450, cfg, 100, 1.0) == pytest.approx(0.01)


def test_cosine_runs_from_one_to_the_floor() -> None:
    cfg = ScheduleConfig(kind="cosine", epochs=10, warmup_iters=0, min_lr=0.01)
    assert lr_factor(0, cfg, 10, 1.0) == pytest.approx(1.0)
    assert lr_factor(50, cfg, 10, 1.0) == pytest.approx(0.505)
    assert lr_factor(100, cfg, 10, 1.0) == pytest.approx(0.01)


def test_param_groups_head_lr_and_no_decay_on_norms() -> None:
    model = nn.Sequential()
    model.add_module("body", nn.Linear(4, 4))
    model.add_module("neck", nn.BatchNorm1d(4))
    cfg = OptimConfig(
        name="sgd", lr=0.1, weight_decay=5e-4, head_lr_factor=10.0, weight_decay_norm=False
    )
    opt = build_optimizer(model, cfg, head_prefixes=("neck.",))
    by_param = {id(p): g for g in opt.param_groups for p in g["params"]}
    assert by_param[id(model.body.weight)]["lr"] == pytest.approx(0.1)
    assert by_param[id(model.body.weight)]["weight_decay"] == pytest.approx(5e-4)
    assert by_param[id(model.body.bias)]["weight_decay"] == 0.0
    assert by_param[id(model.neck.weight)]["lr"] == pytest.approx(1.0)
    assert by_param[id(model.neck.weight)]["weight_decay"] == 0.0
    assert isinstance(opt, torch.optim.SGD)


def test_head_prefixes_reach_the_optimizer_of_model_and_criterion() -> None:
    from torch import nn

    from agreid_core.config import OptimConfig
    from agreid_core.engine.optim import build_optimizer
    from agreid_core.engine.trainer import trainable_prefixes

    assert trainable_prefixes(("head.", "criterion.arc")) == ("0.head.", "1.arc")
    model = nn.ModuleDict({"body": nn.Linear(2, 2), "head": nn.Linear(2, 2)})
    criterion = nn.ModuleDict({"arc": nn.Linear(2, 2)})
    opt = build_optimizer(
        nn.ModuleList([model, criterion]),
        OptimConfig(lr=0.1, head_lr_factor=10.0),
        trainable_prefixes(("head.", "criterion.arc")),
    )
    lrs = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert lrs[id(model["body"].weight)] == pytest.approx(0.1)
    assert lrs[id(model["head"].weight)] == pytest.approx(1.0)
    assert lrs[id(criterion["arc"].weight)] == pytest.approx(1.0)
