"""The BoT recipe and its parts: BNNeck, profiles, which feature each loss sees."""

from __future__ import annotations

import torch

from agreid_core.method import DataInfo
from agreid_core.testing import check_method
from agreid_models.heads.bnneck import BNNeck
from agreid_models.heads.pooling import GeneralizedMeanPooling
from agreid_models.methods import bot


def test_bnneck_bias_is_frozen_and_classifier_has_no_bias() -> None:
    neck = BNNeck(8, 3)
    assert neck.norm.bias.requires_grad is False  # type: ignore[union-attr]
    assert neck.classifier is not None and neck.classifier.bias is None
    out = neck(torch.randn(4, 8))
    assert set(out) == {"features", "neck_features", "logits"}
    assert out["logits"].shape == (4, 3)


def test_instance_norm_neck_normalises_each_vector() -> None:
    out = BNNeck(16, 0, norm="in")(torch.randn(3, 16) * 5 + 2)["neck_features"]
    torch.testing.assert_close(out.mean(1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(1, unbiased=False), torch.ones(3), atol=1e-3, rtol=0)


def test_gem_with_p1_is_average_pooling() -> None:
    x = torch.rand(2, 4, 3, 3)
    torch.testing.assert_close(GeneralizedMeanPooling(p=1.0)(x), x.mean(dim=(2, 3)))


def test_paper_profile_is_the_published_recipe() -> None:
    cfg = bot.paper()
    t = cfg.training
    assert (t.input.height, t.input.width) == (256, 128)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id) == (16, 4)
    assert (t.optim.name, t.optim.lr, t.optim.weight_decay) == ("adam", 3.5e-4, 5e-4)
    assert (t.schedule.epochs, t.schedule.milestones, t.schedule.warmup_iters) == (
        120,
        (40, 90),
        2000,
    )
    assert (cfg.depth, cfg.last_stride, cfg.label_smoothing, cfg.triplet_margin) == (
        50,
        1,
        0.1,
        0.3,
    )


def test_cpu_profile_conforms_and_losses_see_the_right_features() -> None:
    recipe = check_method(bot.SPEC, profile="cpu")
    keys = {t.name: t.input_key for t in recipe.losses}
    assert keys == {"ce": "logits", "triplet": "features"}  # triplet before the neck
    model = recipe.model.eval()
    x = torch.randn(2, 3, 128, 64)
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out["embedding"], out["neck_features"])  # test feature: after BN
    assert out["features"].shape == (2, 512)


def test_paper_profile_builds_resnet50_with_2048_features() -> None:
    recipe = bot.build(
        bot.paper().__class__(pretrained=False),
        DataInfo(num_classes=5, num_cameras=2, num_train_samples=10),
    )
    with torch.no_grad():
        out = recipe.model.eval()(torch.randn(1, 3, 256, 128))
    assert out["embedding"].shape == (1, 2048)
