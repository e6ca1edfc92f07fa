"""MFE: profiles vs the card, one stage per encoder with its own losses and training section,
the spatial-attention encoder, and Σ-cosine fusion with per-encoder input normalisation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from agreid_core.config import apply_overrides
from agreid_core.data.dataset import ReIDData
from agreid_core.data.index import empty_index
from agreid_core.engine.stages import StageContext
from agreid_core.method import EMBEDDING, DataInfo, MethodSpec
from agreid_core.testing import check_method
from agreid_losses.center import CenterLoss
from agreid_losses.centroid_triplet import CentroidTripletLoss
from agreid_losses.cross_entropy import CrossEntropyLabelSmooth
from agreid_losses.triplet import TripletLoss
from agreid_models.ensemble import FusedEnsemble, Renormalize
from agreid_models.methods import mfe

INFO = DataInfo(num_classes=4, num_cameras=3, num_train_samples=16)


def test_paper_profile_is_the_card() -> None:
    cfg = mfe.paper()
    assert cfg.encoders == ("ctl", "attention", "vit") and cfg.encoder_weights == ()
    assert (cfg.training.input.height, cfg.training.input.width, cfg.depth) == (256, 128, 50)
    assert not cfg.training.eval.centroid_gallery and not cfg.training.eval.oracle
    c, a, v = cfg.ctl, cfg.attention, cfg.vit
    assert (c.optim.name, c.optim.lr, c.sampler.batch_size) == ("adam", 3.5e-4, 16)
    assert (c.schedule.epochs, c.schedule.milestones) == (120, (40, 70))
    assert c.schedule.warmup_iters == 10 * (51_530 // 16)
    assert (cfg.ctl_margin, cfg.ctl_center_weight, cfg.ctl_centroid_triplet) == (0.3, 5e-4, True)
    assert (a.optim.name, a.optim.lr, a.sampler.batch_size) == ("adam", 3e-4, 32)
    assert (a.schedule.epochs, a.schedule.milestones, a.schedule.gamma) == (
        500,
        (70, 140, 210, 310, 410),
        0.3,
    )
    assert (a.schedule.warmup_factor, cfg.attention_reduce_dim) == (0.01, 1024)
    assert (v.optim.name, v.optim.lr, v.optim.bias_lr_factor, v.optim.weight_decay) == (
        "sgd",
        0.008,
        2.0,
        1e-4,
    )
    assert (v.sampler.batch_size, v.schedule.epochs, v.schedule.kind) == (64, 120, "cosine")
    assert v.schedule.min_lr == pytest.approx(1.6e-5)
    assert v.input.mean == (0.5, 0.5, 0.5) and v.input.std == (0.5, 0.5, 0.5)
    assert (cfg.vit_sie, cfg.vit_sie_coef) == (True, 3.0)


def test_cpu_profile_is_small() -> None:
    cfg = mfe.cpu()
    assert (cfg.training.input.height, cfg.training.input.width) == (64, 32)
    assert (cfg.depth, cfg.pretrained, cfg.vit_embed_dim, cfg.vit_depth) == (18, False, 64, 2)
    assert all(getattr(cfg, e).schedule.epochs == 4 for e in mfe.ENCODERS)


def test_one_stage_per_encoder_with_its_own_training_section() -> None:
    cfg = mfe.paper()
    stages = mfe.stages(cfg)
    assert [s.name for s in stages] == ["ctl", "attention", "vit"]
    trainings = [s.training(cfg.training) for s in stages if s.training is not None]
    assert [t.optim.name for t in trainings] == ["adam", "adam", "sgd"]
    assert [t.schedule.epochs for t in trainings] == [120, 500, 120]
    assert all((t.input.height, t.input.width) == (256, 128) for t in trainings)
    assert trainings[2].input.mean == (0.5, 0.5, 0.5)
    ablated = apply_overrides(cfg, ["encoders=vit,ctl", "attention.schedule.epochs=3"])
    assert [s.name for s in mfe.stages(ablated)] == ["ctl", "vit"]  # canonical order
    assert ablated.attention.schedule.epochs == 3
    with pytest.raises(ValueError, match="distinct names from ctl, attention, vit"):
        mfe.stages(dataclasses.replace(cfg, encoders=("ctl", "ctl")))


def _small() -> mfe.MFEConfig:
    return mfe.cpu()


def test_ctl_encoder_losses() -> None:
    recipe = mfe.build_encoder(_small(), "ctl", INFO)
    terms = {t.name: (t.input_key, t.weight) for t in recipe.losses}
    assert terms == {
        "ce": ("logits", 1.0),
        "triplet": ("features", 1.0),
        "center": ("features", 5e-4),
        "centroid_triplet": ("features", 1.0),
    }
    ce, tri, center, ctl = (t.loss for t in recipe.losses)
    assert isinstance(ce, CrossEntropyLabelSmooth) and isinstance(center, CenterLoss)
    assert isinstance(tri, TripletLoss) and isinstance(ctl, CentroidTripletLoss)
    # card §6 L-CTL (margin .3): id0 [0,0],[2,0],[0,1]; id1 [1.5,.5],[3,1],[4,0]; K 3 → 0.465975
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.5, 0.5], [3.0, 1.0], [4.0, 0.0]])
    torch.testing.assert_close(
        ctl(x, torch.tensor([0, 0, 0, 1, 1, 1])), torch.tensor(0.465975), atol=1e-5, rtol=0
    )


def test_attention_encoder_outputs_and_losses() -> None:
    recipe = mfe.build_encoder(_small(), "attention", INFO)
    assert [t.name for t in recipe.losses] == ["ce", "triplet"]
    triplet = recipe.losses[1].loss
    assert isinstance(triplet, TripletLoss) and triplet.normalize_features  # cosine distance
    with torch.no_grad():
        out = recipe.model.eval()(torch.randn(2, 3, 64, 32))
    assert out["attention"].shape == (2, 1, 4, 2)  # ResNet map at stride 16
    assert out["features"].shape == (2, 128) and out[EMBEDDING].shape == (2, 128)
    assert float(out["attention"].min()) > 0 and float(out["attention"].max()) < 1


def test_vit_encoder_soft_triplet_and_pre_bn_embedding() -> None:
    recipe = mfe.build_encoder(_small(), "vit", INFO)
    ce, tri = (t.loss for t in recipe.losses)
    assert isinstance(ce, CrossEntropyLabelSmooth) and ce.epsilon == 0.0
    assert isinstance(tri, TripletLoss) and tri.margin is None
    # card §6 L-TRI soft: X [0,0],[1,0],[.5,.5],[2,0]; y [0,0,1,1] → 0.987168
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [2.0, 0.0]])
    torch.testing.assert_close(
        tri(x, torch.tensor([0, 0, 1, 1])), torch.tensor(0.987168), atol=1e-5, rtol=0
    )
    model = recipe.model.eval()
    out = model(torch.randn(2, 3, 64, 32), torch.tensor([0, 2]))
    torch.testing.assert_close(out[EMBEDDING], out["features"])  # TransReID: pre-BN


@pytest.mark.parametrize("encoder", mfe.ENCODERS)
def test_each_encoder_cpu_recipe_conforms(encoder: str) -> None:
    cfg = dataclasses.replace(_small(), encoders=(encoder,))
    spec: MethodSpec[mfe.MFEConfig] = MethodSpec(
        "test", {"cpu": lambda: cfg, "paper": mfe.paper}, mfe.build
    )
    check_method(spec, profile="cpu")


def test_encoders_share_no_parameters_and_fuse_by_summed_cosines(tmp_path: Path) -> None:
    assert set(mfe.SPECS) == {"mfe"} and mfe.SPECS["mfe"].assemble is mfe.assemble
    cfg = _small()
    data = ReIDData("toy", tmp_path, "image", empty_index(), ())
    ctx = StageContext(cfg, data, torch.device("cpu"), 0, 3)
    for name in mfe.ENCODERS:
        ctx.models[name] = mfe.build_encoder(cfg, name, INFO).model.eval()
    ids = [{id(p) for p in m.parameters()} for m in ctx.models.values()]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    fused = mfe.assemble(ctx).eval()
    assert isinstance(fused, FusedEnsemble)
    assert [type(a) for a in fused.adapters][2] is Renormalize  # the ViT's 0.5 normalisation
    q, g = torch.randn(2, 3, 64, 32), torch.randn(3, 3, 64, 32)
    cq, cg = torch.tensor([0, 1]), torch.tensor([2, 0, 1])
    with torch.no_grad():
        fq, fg = fused(q, cq)[EMBEDDING], fused(g, cg)[EMBEDDING]
        total = torch.zeros(2, 3)
        for member, adapter in zip(fused.members, fused.adapters, strict=True):
            a = torch.nn.functional.normalize(member(adapter(q), cq)[EMBEDDING], dim=1)
            b = torch.nn.functional.normalize(member(adapter(g), cg)[EMBEDDING], dim=1)
            total += a @ b.T
    # pairwise fused score = Σ of the three cosines (concat of unit features)
    torch.testing.assert_close(fq @ fg.T, total, atol=1e-5, rtol=0)
