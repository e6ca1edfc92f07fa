"""The MGN recipe: profiles against the method card, branch geometry, 8 CE + 5 triplet terms."""

from __future__ import annotations

import dataclasses

import torch

from agreid_core.method import Criterion, DataInfo
from agreid_core.testing import check_method
from agreid_losses.margin_heads import CircleSoftmax, MarginSoftmaxLoss
from agreid_losses.triplet import TripletLoss
from agreid_models.backbones.ibn import IBN
from agreid_models.heads.mgn import FEATURE_NAMES
from agreid_models.methods import mgn, sbs

INFO = DataInfo(num_classes=4, num_cameras=2, num_train_samples=16)


def _batch(h: int = 96, w: int = 32) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    return torch.randn(8, 3, h, w), {
        "pids": torch.arange(4).repeat_interleave(2),
        "camids": torch.arange(8) % 2,
    }


def test_paper_profile_is_fastreid_base_mgn() -> None:
    cfg = mgn.paper()
    assert cfg.training == sbs.paper().training  # "data / optim: as SBS"
    t = cfg.training
    assert (t.input.height, t.input.width) == (384, 128)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id) == (4, 16)
    assert (t.optim.name, t.optim.lr, t.schedule.epochs, t.schedule.min_lr) == (
        "adam",
        3.5e-4,
        60,
        7e-7,
    )
    assert (cfg.backbone, cfg.depth, cfg.layers, cfg.reduction_dim) == (
        "resnet-ibn-a",
        50,
        None,
        256,
    )
    assert (cfg.global_last_stride, cfg.freeze_iters) == (1, 1000)
    assert (cfg.circle_scale, cfg.circle_margin, cfg.label_smoothing) == (64.0, 0.35, 0.1)
    assert (cfg.ce_weight, cfg.triplet_weight, cfg.triplet_margin) == (0.125, 0.2, None)


def test_cpu_profile_is_small() -> None:
    cfg = mgn.cpu()
    t = cfg.training
    assert (t.input.height, t.input.width) == (96, 32) and t.schedule.epochs <= 8
    assert t.sampler.batch_size == 16
    assert (cfg.layers, cfg.pretrained) == ((1, 1, 1, 1), False)


def test_cpu_recipe_has_eight_ce_and_five_triplet_terms() -> None:
    recipe = check_method(mgn.SPEC, profile="cpu")
    ce = [t for t in recipe.losses if t.name.startswith("ce_")]
    tri = [t for t in recipe.losses if t.name.startswith("triplet_")]
    assert [t.input_key for t in ce] == [f"features_{n}" for n in FEATURE_NAMES]
    assert {t.weight for t in ce} == {0.125} and {t.weight for t in tri} == {0.2}
    assert [t.input_key for t in tri] == [
        "triplet_features_g",
        "triplet_features_p2",
        "triplet_features_p3",
        "part_features_p2",
        "part_features_p3",
    ]
    for term in ce:
        assert isinstance(term.loss, MarginSoftmaxLoss) and isinstance(
            term.loss.head, CircleSoftmax
        )
        assert (term.loss.head.in_features, term.loss.criterion.variant) == (256, "fastreid")
    assert all(isinstance(t.loss, TripletLoss) and t.loss.soft for t in tri)


def test_train_forward_and_finite_backbone_grads() -> None:
    recipe = mgn.build(dataclasses.replace(mgn.cpu(), freeze_iters=0), INFO)
    images, targets = _batch()
    model = recipe.model.train()
    out = model(images, targets["camids"])
    assert {t.input_key for t in recipe.losses} <= set(out)
    assert any(isinstance(m, IBN) for m in model.shared.modules())
    Criterion(recipe.losses)(out, targets).total.backward()
    grads = [p.grad for p in model.shared.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    with torch.no_grad():
        ev = model.eval()(images[:2])
    assert ev["embedding"].shape == (2, 8 * 256)
    torch.testing.assert_close(ev["embedding"][:, :256], ev["features_g"])


def test_all_branches_keep_stride_one() -> None:
    recipe = mgn.build(mgn.cpu(), INFO)
    with torch.no_grad():
        maps = recipe.model.eval().branch_maps(torch.randn(1, 3, 96, 32))
    assert {k: tuple(v.shape[2:]) for k, v in maps.items()} == {
        k: (6, 2) for k in ("g", "p2", "p3")
    }


def test_trunk_and_branches_frozen_first_heads_train() -> None:
    recipe = mgn.build(dataclasses.replace(mgn.cpu(), freeze_iters=1), INFO)
    images, targets = _batch()
    model = recipe.model.train()
    Criterion(recipe.losses)(model(images), targets).total.backward()
    assert all(p.grad is None for p in model.shared.parameters())
    assert all(p.grad is None for p in model.branches.parameters())
    assert model.reductions["g"].conv.weight.grad is not None
    assert model.pools["p3_2"].p.grad is not None


def test_paper_build_gives_a_2048_d_embedding() -> None:
    cfg = dataclasses.replace(mgn.paper(), pretrained=False)
    recipe = mgn.build(cfg, DataInfo(num_classes=5, num_cameras=2, num_train_samples=10))
    with torch.no_grad():
        out = recipe.model.eval()(torch.randn(1, 3, 64, 32))
    assert out["embedding"].shape == (1, 2048)
