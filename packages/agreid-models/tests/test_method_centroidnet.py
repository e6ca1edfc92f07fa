"""CentroidNet: profiles vs the card, CTL + ASL terms, one-hot attribute BCE, two stages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from agreid_core.data.dataset import ReIDData
from agreid_core.data.index import empty_index
from agreid_core.engine.stages import StageContext
from agreid_core.method import Criterion, DataInfo
from agreid_core.testing import check_method
from agreid_losses.asymmetric import AsymmetricLossSingleLabel
from agreid_losses.centroid_triplet import CentroidTripletLoss
from agreid_models.heads.attributes import AGREID_ATTRIBUTES
from agreid_models.methods import centroidnet
from agreid_models.methods.smtl import attribute_columns_of

MAT_FIELDS = tuple(a.mat_field for a in AGREID_ATTRIBUTES)
INFO = DataInfo(num_classes=4, num_cameras=2, num_train_samples=16, attribute_names=MAT_FIELDS)


def test_paper_profile_is_the_card() -> None:
    cfg = centroidnet.paper()
    t = cfg.training
    assert (cfg.depth, t.input.height, t.input.width) == (101, 384, 384)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id) == (16, 4)  # batch 64
    assert (t.optim.name, t.optim.lr, t.optim.weight_decay) == ("adam", 3.5e-4, 5e-4)
    assert (t.schedule.epochs, t.schedule.milestones) == (200, (67, 117))  # per stage
    assert t.schedule.warmup_iters == 10 * (51_530 // 64)
    assert t.eval.rerank and (t.eval.rerank_k1, t.eval.rerank_k2, t.eval.rerank_lambda) == (
        20,
        6,
        0.3,
    )
    assert not t.eval.centroid_gallery and not t.eval.oracle  # oracle: opt-in only
    assert (cfg.asl_gamma_pos, cfg.asl_gamma_neg, cfg.asl_epsilon) == (0.0, 4.0, 0.1)
    assert (cfg.triplet_margin, cfg.center_weight, cfg.attribute_branch) == (0.5, 5e-4, True)
    assert len(centroidnet.stages(cfg)) == 2  # 200 + 200 epochs


def test_cpu_profile_is_small() -> None:
    cfg = centroidnet.cpu()
    t = cfg.training
    assert (cfg.layers, cfg.pretrained, t.input.height, t.input.width) == (
        (1, 1, 1, 1),
        False,
        64,
        64,
    )
    assert 2 * t.schedule.epochs <= 8 and t.sampler.batch_size == 16


def test_cpu_recipe_conforms_with_asl_triplet_center_and_centroid_triplet() -> None:
    recipe = check_method(centroidnet.SPEC, profile="cpu")
    terms = {t.name: (t.input_key, t.weight) for t in recipe.losses}
    assert terms == {
        "asl": ("logits", 1.0),
        "triplet": ("features", 1.0),
        "center": ("features", 5e-4),
        "centroid_triplet": ("features", 1.0),
    }
    asl = recipe.losses[0].loss
    assert isinstance(asl, AsymmetricLossSingleLabel)
    # card §6: logits [2, .5, −1], y 0, γ₊ 0, γ₋ 4, ε .1 → 0.225279
    value = asl(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0]))
    torch.testing.assert_close(value, torch.tensor(0.225279), atol=1e-5, rtol=0)
    ctl = recipe.losses[3].loss
    assert isinstance(ctl, CentroidTripletLoss) and ctl.margin == 0.5
    assert "attr_logits" not in recipe.model.eval()(torch.randn(1, 3, 64, 64))


def test_ibn_is_in_layers_1_to_3_only() -> None:
    from agreid_models.backbones.ibn import IBN

    recipe = centroidnet.build(centroidnet.cpu(), INFO)
    body = recipe.model.net.backbone.body
    assert all(
        isinstance(b.bn1, IBN) for layer in (body.layer1, body.layer2, body.layer3) for b in layer
    )
    assert not any(isinstance(b.bn1, IBN) for b in body.layer4)


def test_one_hot_attribute_targets_by_hand() -> None:
    cols = attribute_columns_of(DataInfo(2, 2, 2, attribute_names=("weight", "gender")))
    loss = centroidnet.OneHotAttributeBCE(cols)
    assert loss.out_dim == 3 + 4  # gender (3) then body volume (4)
    codes = torch.tensor([[1, 0], [3, 1], [-1, 2]])  # columns: weight, gender
    expected = torch.tensor(
        [
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],  # male; medium
            [0.0, 1.0, 0.0, -1.0, -1.0, -1.0, -1.0],  # female; weight unknown (3)
            [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0],  # gender unknown (2); weight −1
        ]
    )
    torch.testing.assert_close(loss.targets(codes), expected)
    # BCE of zero logits over the 7 known entries is log 2
    torch.testing.assert_close(loss(torch.zeros(3, 7), codes), torch.log(torch.tensor(2.0)))


def _ctx(tmp_path: Path, cfg: centroidnet.CentroidNetConfig) -> StageContext:
    data = ReIDData("toy", tmp_path, "image", empty_index(), ())
    return StageContext(cfg, data, torch.device("cpu"), 0, 2)


@pytest.mark.parametrize("branch", [True, False])
def test_stage2_warm_starts_from_stage1_and_adds_the_attribute_branch(
    tmp_path: Path, branch: bool
) -> None:
    cfg = dataclasses.replace(centroidnet.cpu(), attribute_branch=branch)
    stages = centroidnet.stages(cfg)
    assert [s.name for s in stages] == ["stage1", "stage2"]
    ctx = _ctx(tmp_path, cfg)
    first = stages[0].build(ctx, INFO)
    ctx.recipes["stage1"], ctx.models["stage1"] = first, first.model
    with torch.no_grad():
        for p in first.model.parameters():
            p.add_(0.01)
        first.losses[2].loss.centers.mul_(2.0)
    second = stages[1].build(ctx, INFO)
    old, new = first.model.state_dict(), second.model.state_dict()
    for key, value in old.items():
        torch.testing.assert_close(new[key], value)
    torch.testing.assert_close(second.losses[2].loss.centers, first.losses[2].loss.centers)
    names = [t.name for t in second.losses]
    assert ("attributes" in names) is branch
    if branch:
        assert set(new) - set(old) == {"attributes.weight", "attributes.bias"}
        images = torch.randn(8, 3, 64, 64)
        targets = {
            "pids": torch.arange(4).repeat_interleave(2),
            "camids": torch.zeros(8, dtype=torch.long),
            "attributes": torch.zeros(8, 15, dtype=torch.long),
        }
        out = second.model.train()(images)
        assert out["attr_logits"].shape == (8, 93)
        Criterion(second.losses)(out, targets).total.backward()
        assert second.model.attributes.weight.grad.abs().sum() > 0
    else:
        assert set(new) == set(old)


def test_attribute_branch_without_attribute_data_explains_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="attribute_branch=false"):
        centroidnet.build_stage(centroidnet.cpu(), DataInfo(4, 2, 8), with_attributes=True)
