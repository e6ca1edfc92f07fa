"""SMTL: Table 5 variants build exactly their loss sets, weights γ/λ, ArcFace numbers, views."""

from __future__ import annotations

import polars as pl
import pytest
import torch

from agreid_core.config import SamplerConfig
from agreid_core.engine.distributed import DistContext
from agreid_core.engine.trainer import build_batch_sampler
from agreid_core.method import Criterion, DataInfo
from agreid_core.testing import check_method
from agreid_losses.margin_heads import ArcFace, MarginSoftmaxLoss, arcface_logits
from agreid_losses.triplet import TripletLoss
from agreid_models.heads.attributes import AGREID_ATTRIBUTES
from agreid_models.methods import smtl

MAT_FIELDS = tuple(a.mat_field for a in AGREID_ATTRIBUTES)
INFO = DataInfo(num_classes=4, num_cameras=3, num_train_samples=16, attribute_names=MAT_FIELDS)

#: Table 5 row → expected {term: (loss type, weight)} and epochs.
EXPECTED: dict[str, tuple[dict[str, tuple[type, float]], int]] = {
    "smtl-bh": ({"triplet": (TripletLoss, 1.0)}, 151),
    "smtl-am": ({"am": (MarginSoftmaxLoss, 1.0)}, 260),
    "smtl-am0": ({"am": (MarginSoftmaxLoss, 1.0)}, 261),
    "smtl-ambh": ({"am": (MarginSoftmaxLoss, 1.0), "triplet": (TripletLoss, 0.54)}, 251),
    "smtl-am0bh": ({"am": (MarginSoftmaxLoss, 1.0), "triplet": (TripletLoss, 0.54)}, 204),
    "smtl-am0bhattr": (
        {
            "am": (MarginSoftmaxLoss, 1.0),
            "triplet": (TripletLoss, 0.54),
            "attributes": (smtl.AttributeMarginLoss, 0.25),
        },
        1277,
    ),
}


def test_specs_are_the_six_table5_rows_plus_the_best_as_default() -> None:
    assert set(smtl.SPECS) == {"smtl", *EXPECTED}
    assert smtl.SPECS["smtl"].config("paper") == smtl.SPECS["smtl-am0bhattr"].config("paper")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_variant_builds_exactly_its_loss_set(name: str) -> None:
    terms, epochs = EXPECTED[name]
    cfg = smtl.SPECS[name].config("cpu")
    recipe = smtl.build(cfg, INFO)
    got = {t.name: (type(t.loss), t.weight) for t in recipe.losses}
    assert got == terms
    assert smtl.SPECS[name].config("paper").training.schedule.epochs == epochs
    margin = 0.0 if "am0" in name else 0.3
    for t in recipe.losses:
        assert t.input_key == "neck_features"
        if t.name == "am":
            assert isinstance(t.loss, MarginSoftmaxLoss) and isinstance(t.loss.head, ArcFace)
            assert (t.loss.head.scale, t.loss.head.margin) == (30.0, margin)
        if t.name == "triplet":
            assert isinstance(t.loss, TripletLoss) and t.loss.margin == 0.3


def test_paper_profile_is_the_card() -> None:
    cfg = smtl.SPECS["smtl"].config("paper")
    t = cfg.training
    assert (cfg.depth, cfg.pretrained) == (50, True)
    assert (t.input.height, t.input.width, t.augment.pad) == (256, 128, 16)  # 288×144 → crop
    assert (t.sampler.name, t.sampler.ids_per_batch, t.sampler.instances_per_id) == (
        "platform-pk",
        8,
        4,
    )
    assert (t.optim.name, t.optim.lr, t.optim.weight_decay) == ("adam", 3.5e-4, 5e-4)
    assert t.schedule.milestones == (766, 1085)  # 60 % and 85 % of 1277
    assert t.schedule.warmup_iters == 10 * (51_530 // 64)
    assert (cfg.triplet_weight, cfg.attribute_weight, cfg.am_margin) == (0.54, 0.25, 0.0)
    cpu = smtl.SPECS["smtl"].config("cpu")
    assert (cpu.depth, cpu.training.schedule.epochs, cpu.training.input.height) == (18, 8, 64)


def test_arcface_numbers_of_the_card() -> None:
    # card §6 H-ARC: cos_y .8, others .3 / −.2, s 30 → CE 0.000182 (m .3), 3.06e-7 (m 0)
    cos = torch.tensor([[0.8, 0.3, -0.2]], dtype=torch.float64)
    y = torch.tensor([0])
    ce = torch.nn.functional.cross_entropy
    torch.testing.assert_close(
        ce(arcface_logits(cos, y, 30.0, 0.3), y),
        torch.tensor(0.000182, dtype=torch.float64),
        atol=1e-6,
        rtol=0,
    )
    torch.testing.assert_close(
        ce(arcface_logits(cos, y, 30.0, 0.0), y),
        torch.tensor(3.06e-7, dtype=torch.float64),
        atol=1e-9,
        rtol=0,
    )
    # the built AM0 term's head gives the same number on a feature with those cosines
    recipe = smtl.build(smtl.SPECS["smtl-am0"].config("cpu"), DataInfo(3, 2, 6))
    am = recipe.losses[0].loss
    assert isinstance(am, MarginSoftmaxLoss)
    basis = torch.linalg.qr(torch.randn(512, 3)).Q.T  # 3 orthonormal class directions
    with torch.no_grad():
        am.head.weight.copy_(basis)
    f = torch.tensor([[0.8, 0.3, -0.2]]) @ basis + 0.5 * _orthogonal(basis)
    f = f / f.norm()
    got = am(f, y)
    expected = ce(arcface_logits(am.head.cosine(f), y, 30.0, 0.0), y)
    torch.testing.assert_close(got, expected)


def _orthogonal(basis: torch.Tensor) -> torch.Tensor:
    v = torch.randn(1, basis.shape[1])
    return v - (v @ basis.T) @ basis


def test_attribute_loss_has_15_heads_and_maps_unknown_codes() -> None:
    cols = smtl.attribute_columns_of(INFO)
    loss = smtl.AttributeMarginLoss(8, cols, scale=30.0, margin=0.0)
    assert loss.names == tuple(a.name for a in AGREID_ATTRIBUTES)
    sizes = [m.head.num_classes for m in loss.heads.values()]
    assert sizes == [a.num_classes for a in AGREID_ATTRIBUTES] and sum(sizes) == 93
    # columns follow DataInfo.attribute_names, whatever their order
    shuffled = DataInfo(4, 2, 8, attribute_names=("bag", "gender"))
    assert [(s.name, c) for s, c in smtl.attribute_columns_of(shuffled)] == [
        ("gender", 1),
        ("accessories", 0),
    ]
    f = torch.randn(2, 8)
    unknown = torch.full((2, 15), -1)
    coded = torch.tensor([[a.unknown_index or 0 for a in AGREID_ATTRIBUTES]] * 2)
    torch.testing.assert_close(loss(f, unknown), loss(f, coded))


def test_no_attribute_columns_leaves_task_c_out_with_a_note() -> None:
    recipe = check_method(smtl.SPECS["smtl"], profile="cpu")
    assert [t.name for t in recipe.losses] == ["am", "triplet"]
    assert "attributes" in recipe.notes


def test_forward_backward_with_attributes_reaches_every_head() -> None:
    recipe = smtl.build(smtl.SPECS["smtl"].config("cpu"), INFO)
    torch.manual_seed(0)
    images = torch.randn(8, 3, 64, 32)
    targets = {
        "pids": torch.arange(4).repeat_interleave(2),
        "camids": torch.arange(8) % 3,
        "attributes": torch.randint(0, 3, (8, 15)),
    }
    out = recipe.model.train()(images, targets["camids"])
    assert out["neck_features"].shape == (8, 512)
    result = Criterion(recipe.losses)(out, targets)
    assert set(result.parts) == {"am", "triplet", "attributes"}
    result.total.backward()
    attr = next(t.loss for t in recipe.losses if t.name == "attributes")
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in attr.parameters())
    assert recipe.model.backbone.body.conv1.weight.grad.abs().sum() > 0
    recipe.model.eval()
    with torch.no_grad():
        emb = recipe.model(images[:2])["embedding"]
    assert emb.shape == (2, 512)


def test_platform_pk_sampler_draws_every_view_of_an_identity() -> None:
    platforms = ["aerial", "cctv", "wearable"]
    rows = pl.DataFrame({"pid": [p for p in range(4) for _ in range(6)], "platform": platforms * 8})
    labels = rows["pid"].to_list()
    sampler = build_batch_sampler(
        rows,
        labels,
        SamplerConfig(name="platform-pk", ids_per_batch=2, instances_per_id=2),
        0,
        DistContext(),
    )
    batches = list(sampler)
    assert batches
    for batch in batches:
        for pid in {labels[i] for i in batch}:
            views = [rows["platform"][i] for i in batch if labels[i] == pid]
            assert sorted(views) == sorted(platforms * 2)
