"""The SBS recipe: profiles against the method card, non-local blocks, freeze, losses, gradients."""

from __future__ import annotations

import dataclasses

import torch

from agreid_core.method import Criterion, DataInfo
from agreid_core.testing import check_method
from agreid_losses.margin_heads import CircleSoftmax, MarginSoftmaxLoss
from agreid_losses.triplet import TripletLoss
from agreid_models.methods import sbs
from agreid_models.methods.sbs import NonLocalBlock

INFO = DataInfo(num_classes=4, num_cameras=2, num_train_samples=16)


def _batch(h: int, w: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    pids = torch.arange(4).repeat_interleave(2)
    camids = torch.arange(8) % 2
    return torch.randn(8, 3, h, w), {"pids": pids, "camids": camids}


def test_paper_profile_is_fastreid_base_sbs() -> None:
    cfg = sbs.paper()
    t = cfg.training
    assert (t.input.height, t.input.width) == (384, 128)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id) == (4, 16)
    assert (t.optim.name, t.optim.lr, t.optim.weight_decay) == ("adam", 3.5e-4, 5e-4)
    s = t.schedule
    assert (s.epochs, s.kind, s.min_lr, s.warmup_iters, s.warmup_factor) == (
        60,
        "cosine",
        7e-7,
        2000,
        0.1,
    )
    assert (t.augment.flip, t.augment.pad, t.augment.random_erasing) == (0.5, 10, 0.5)
    assert t.amp and t.eval.metric == "cosine" and t.ddp_find_unused_parameters
    assert (cfg.depth, cfg.last_stride, cfg.non_local, cfg.freeze_iters) == (
        50,
        1,
        (0, 2, 3, 0),
        1000,
    )
    assert (cfg.circle_scale, cfg.circle_margin, cfg.gem_p) == (64.0, 0.35, 3.0)
    assert (cfg.label_smoothing, cfg.smoothing_variant, cfg.triplet_margin) == (
        0.1,
        "fastreid",
        None,
    )
    assert (cfg.ce_weight, cfg.triplet_weight) == (1.0, 1.0)


def test_cpu_profile_is_small_and_default() -> None:
    assert sbs.SPEC.default_profile == "cpu"
    cfg = sbs.cpu()
    t = cfg.training
    assert (t.input.height, t.input.width) == (96, 32)
    assert t.schedule.epochs <= 8 and (cfg.depth, cfg.pretrained) == (18, False)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id) == (4, 4)


def test_cpu_recipe_conforms_and_losses_read_the_neck_feature() -> None:
    recipe = check_method(sbs.SPEC, profile="cpu")
    terms = {t.name: t for t in recipe.losses}
    assert {n: (t.input_key, t.weight) for n, t in terms.items()} == {
        "ce": ("neck_features", 1.0),
        "triplet": ("neck_features", 1.0),
    }
    ce, tri = terms["ce"].loss, terms["triplet"].loss
    assert isinstance(ce, MarginSoftmaxLoss) and isinstance(ce.head, CircleSoftmax)
    assert (ce.head.scale, ce.head.margin) == (64.0, 0.35)
    assert (ce.criterion.epsilon, ce.criterion.variant) == (0.1, "fastreid")
    assert isinstance(tri, TripletLoss) and tri.soft


def test_train_forward_feeds_losses_and_backbone_gets_finite_grads() -> None:
    cfg = dataclasses.replace(sbs.cpu(), freeze_iters=0)
    recipe = sbs.build(cfg, INFO)
    images, targets = _batch(96, 32)
    model = recipe.model.train()
    out = model(images, targets["camids"])
    assert {t.input_key for t in recipe.losses} <= set(out)
    Criterion(recipe.losses)(out, targets).total.backward()
    grads = [p.grad for p in model.backbone.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    with torch.no_grad():
        ev = model.eval()(images[:2])
    torch.testing.assert_close(ev["embedding"], ev["neck_features"])
    assert ev["embedding"].shape == (2, 512) and "logits" not in ev


def test_backbone_is_frozen_for_the_first_iterations() -> None:
    recipe = sbs.build(dataclasses.replace(sbs.cpu(), freeze_iters=1), INFO)
    images, targets = _batch(96, 32)
    model = recipe.model.train()
    bn = model.backbone.body.bn1
    mean_before = bn.running_mean.clone()
    Criterion(recipe.losses)(model(images), targets).total.backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    torch.testing.assert_close(bn.running_mean, mean_before)  # BN ran in eval mode
    assert model.backbone.training  # mode restored
    assert model.pool.p.grad is not None  # the head trains
    Criterion(recipe.losses)(model(images), targets).total.backward()
    assert all(p.grad is not None for p in model.backbone.parameters() if p.requires_grad)


def test_non_local_blocks_are_inserted_and_start_as_identity() -> None:
    recipe = sbs.build(sbs.cpu(), INFO)
    body = recipe.model.backbone.body
    assert [isinstance(m, NonLocalBlock) for m in body.layer2] == [False, True, False, True]
    assert sum(isinstance(m, NonLocalBlock) for m in body.modules()) == 4
    block = NonLocalBlock(8).eval()
    x = torch.randn(2, 8, 3, 2)
    torch.testing.assert_close(block(x), x)


def test_paper_build_is_resnet50_with_five_non_local_blocks() -> None:
    cfg = dataclasses.replace(sbs.paper(), pretrained=False)
    recipe = sbs.build(cfg, DataInfo(num_classes=5, num_cameras=2, num_train_samples=10))
    body = recipe.model.backbone.body
    assert sum(isinstance(m, NonLocalBlock) for m in body.modules()) == 5
    with torch.no_grad():
        fmap = recipe.model.backbone.eval()(torch.randn(1, 3, 64, 32))
    assert fmap.shape == (1, 2048, 4, 2)  # last stride 1: H/16 × W/16
