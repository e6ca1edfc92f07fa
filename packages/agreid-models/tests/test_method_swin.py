"""The Swin / SwinV2 + circle recipes: layumi profile values, tiny builds, gradients."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from agreid_core.method import Criterion, DataInfo, MethodSpec
from agreid_core.testing import check_method
from agreid_models.methods import swin

INFO = DataInfo(num_classes=4, num_cameras=2, num_train_samples=16)
SPECS = {"swin": swin.SWIN_SPEC, "swinv2": swin.SWINV2_SPEC}
TINY = {"embed_dim": 32, "depths": (1, 1, 1, 1), "num_heads": (1, 2, 2, 4), "pretrained": False}


def test_swin_paper_profile() -> None:
    cfg = swin.swin_paper()
    t = cfg.training
    assert cfg.variant == "swin_base_patch4_window7_224" and cfg.drop_path_rate == 0.2
    assert (t.input.height, t.input.width) == (224, 224) and t.sampler.batch_size == 32
    assert t.optim.name == "sgd" and abs(t.optim.lr * t.optim.head_lr_factor - 0.05) < 1e-12
    assert abs(t.optim.lr - 0.005) < 1e-12
    assert (t.schedule.epochs, t.schedule.milestones) == (60, (40,))
    assert t.schedule.warmup_iters == 5 * (51_530 // 32)
    assert (t.augment.random_erasing, t.eval.flip) == (0.5, True)
    assert (cfg.bottleneck, cfg.dropout, cfg.circle_gamma, cfg.circle_margin) == (
        512,
        0.5,
        32.0,
        0.25,
    )


def test_swinv2_paper_profile() -> None:
    cfg = swin.swinv2_paper()
    t = cfg.training
    assert cfg.variant == "swinv2_base_window8_256" and cfg.drop_path_rate == 0.2
    assert (t.input.height, t.input.width) == (256, 256) and t.sampler.batch_size == 16
    assert abs(t.optim.lr * t.optim.head_lr_factor - 0.03) < 1e-12
    assert (t.schedule.epochs, t.schedule.milestones) == (60, (40,))
    assert (cfg.circle_gamma, cfg.circle_margin) == (32.0, 0.25)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cpu_profile_conforms_and_trains_the_backbone(name: str) -> None:
    spec: MethodSpec[swin.SwinConfig] = SPECS[name]
    cfg = spec.config("cpu")
    t = cfg.training
    assert (t.input.height, t.input.width) == (64, 64) and t.schedule.epochs <= 8
    assert (cfg.embed_dim, cfg.depths, cfg.window_size) == (32, (1, 1, 1, 1), 2)
    recipe = check_method(spec, profile="cpu")
    assert {t.name: t.input_key for t in recipe.losses} == {"ce": "logits", "circle": "features"}
    recipe = spec.build(cfg, INFO)
    torch.manual_seed(0)
    images = torch.randn(8, 3, 64, 64)
    targets = {"pids": torch.arange(4).repeat_interleave(2), "camids": torch.arange(8) % 2}
    model = recipe.model.train()
    out = model(images, targets["camids"])
    assert out["pooled"].shape == (8, 256)  # embed 32 × 8 at the last stage
    Criterion(recipe.losses)(out, targets).total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    with torch.no_grad():
        ev = model.eval()(images[:2])
    assert ev["embedding"].shape == (2, 512)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_paper_geometry_builds_at_the_paper_input_size(name: str) -> None:
    cfg = SPECS[name].config("paper")
    size = (cfg.training.input.height, cfg.training.input.width)
    tiny = dataclasses.replace(cfg, **TINY)  # paper variant, window and input, tiny widths
    recipe = SPECS[name].build(tiny, INFO)
    assert recipe.model.backbone.img_size == size
    with torch.no_grad():
        fmap = recipe.model.backbone.eval()(torch.randn(1, 3, *size))
    assert fmap.shape == (1, 256, size[0] // 32, size[1] // 32)
