"""The HRNet-18 + circle recipe: layumi profile values, ClassBlock, CE + circle/B, gradients."""

from __future__ import annotations

import torch
from torch import nn

from agreid_core.method import Criterion, DataInfo
from agreid_core.testing import check_method
from agreid_losses.circle import PairwiseCircleLoss
from agreid_models.methods import hrnet18

INFO = DataInfo(num_classes=4, num_cameras=2, num_train_samples=16)


def _batch(h: int = 64, w: int = 64) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    return torch.randn(8, 3, h, w), {
        "pids": torch.arange(4).repeat_interleave(2),
        "camids": torch.arange(8) % 2,
    }


def test_paper_profile_is_layumi_hrnet_circle_at_224() -> None:
    cfg = hrnet18.paper()
    t = cfg.training
    assert (t.input.height, t.input.width) == (224, 224)
    assert t.sampler.batch_size == 16 and t.sampler.instances_per_id == 4
    o = t.optim
    assert (o.name, o.momentum, o.weight_decay) == ("sgd", 0.9, 5e-4)
    assert abs(o.lr - 0.001) < 1e-12 and abs(o.lr * o.head_lr_factor - 0.01) < 1e-12
    s = t.schedule
    assert (s.epochs, s.kind, s.milestones, s.gamma, s.warmup_factor) == (
        60,
        "multistep",
        (40,),
        0.1,
        0.1,
    )
    assert s.warmup_iters == 5 * (51_530 // 16)
    assert (t.augment.random_erasing, t.augment.flip, t.augment.pad) == (0.5, 0.5, 10)
    assert (t.eval.flip, t.eval.metric) == (True, "cosine")
    assert (cfg.variant, cfg.bottleneck, cfg.dropout) == ("hrnet_w18", 512, 0.5)
    assert (cfg.circle_gamma, cfg.circle_margin) == (32.0, 0.25)


def test_cpu_profile_is_small() -> None:
    cfg = hrnet18.cpu()
    t = cfg.training
    assert (t.input.height, t.input.width) == (64, 64) and t.sampler.batch_size == 8
    assert t.schedule.epochs <= 8 and (cfg.variant, cfg.pretrained) == ("hrnet_w18_small", False)


def test_cpu_recipe_conforms_with_ce_and_circle() -> None:
    recipe = check_method(hrnet18.SPEC, profile="cpu")
    terms = {t.name: t for t in recipe.losses}
    assert {n: (t.input_key, t.weight) for n, t in terms.items()} == {
        "ce": ("logits", 1.0),
        "circle": ("features", 1.0),
    }
    assert isinstance(terms["ce"].loss, nn.CrossEntropyLoss)
    circle = terms["circle"].loss
    assert isinstance(circle, PairwiseCircleLoss) and circle.normalize_by_batch
    assert (circle.gamma, circle.margin) == (32.0, 0.25)
    # card fixture: 26.7712 before /B, 8.923733 after /B = 3
    f = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])
    value = circle(f, torch.tensor([0, 0, 1]))
    torch.testing.assert_close(value, torch.tensor(8.923733), atol=1e-4, rtol=0)
    head = recipe.model.head
    assert recipe.head_parameter_prefixes == ("head.",)
    head_names = {f"head.{n}" for n, _ in head.named_parameters()}
    assert {n for n, _ in recipe.model.named_parameters() if n.startswith("head.")} == head_names


def test_train_features_are_post_dropout_and_eval_embedding_is_the_bottleneck() -> None:
    recipe = hrnet18.build(hrnet18.cpu(), INFO)
    images, targets = _batch()
    model = recipe.model.train()
    out = model(images, targets["camids"])
    assert out["pooled"].shape == (8, 2048) and out["features"].shape == (8, 512)
    zero_frac = (out["features"] == 0).float().mean().item()
    assert 0.3 < zero_frac < 0.7  # dropout 0.5 applied before the circle loss
    Criterion(recipe.losses)(out, targets).total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    model.eval()
    with torch.no_grad():
        ev = model(images[:2])
        head = model.head
        expected = head.bn(head.linear(ev["pooled"]))
    torch.testing.assert_close(ev["embedding"], expected)


def test_paper_build_is_hrnet_w18_with_a_2048_d_pooled_map() -> None:
    cfg = hrnet18.paper()
    recipe = hrnet18.build(
        type(cfg)(training=cfg.training, pretrained=False),
        DataInfo(num_classes=5, num_cameras=2, num_train_samples=10),
    )
    with torch.no_grad():
        out = recipe.model.eval()(torch.randn(1, 3, 64, 64))
    assert out["pooled"].shape == (1, 2048) and out["embedding"].shape == (1, 512)
