"""MGN head: branch strides, stripe pooling, output keys and sizes, gradients, weight copies."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from agreid_models.heads.mgn import FEATURE_NAMES, MGN, build_mgn, stripe_pool


def _resnet18() -> Any:
    import timm

    torch.manual_seed(0)
    return timm.create_model("resnet18", pretrained=False, num_classes=0, global_pool="")


@pytest.fixture(scope="module")
def resnet_and_mgn() -> tuple[Any, MGN]:
    resnet = _resnet18()
    return resnet, MGN.from_timm_resnet(resnet, num_classes=5)


def test_stripe_pool_takes_the_max_of_each_stripe() -> None:
    x = torch.arange(24, dtype=torch.float32).view(1, 1, 6, 4)  # row r holds 4r..4r+3
    torch.testing.assert_close(stripe_pool(x, 2), torch.tensor([[[11.0, 23.0]]]))
    torch.testing.assert_close(stripe_pool(x, 3), torch.tensor([[[7.0, 15.0, 23.0]]]))
    torch.testing.assert_close(stripe_pool(x, 1, "avg"), torch.tensor([[[11.5]]]))
    # 4 rows into 3 stripes: adaptive bins [0:2], [1:3], [2:4]
    y = torch.arange(8, dtype=torch.float32).view(1, 1, 4, 2)
    torch.testing.assert_close(stripe_pool(y, 3), torch.tensor([[[3.0, 5.0, 7.0]]]))


def test_global_branch_keeps_stride_two_and_part_branches_use_stride_one(
    resnet_and_mgn: tuple[Any, MGN],
) -> None:
    _, model = resnet_and_mgn
    with torch.no_grad():
        maps = model.eval().branch_maps(torch.randn(2, 3, 64, 32))
    assert maps["g"].shape == (2, 512, 2, 1)
    assert maps["p2"].shape == (2, 512, 4, 2)
    assert maps["p3"].shape == (2, 512, 4, 2)


def test_all_stride_one_variant() -> None:
    model = MGN.from_timm_resnet(_resnet18(), num_classes=0, global_last_stride=1)
    with torch.no_grad():
        maps = model.eval().branch_maps(torch.randn(1, 3, 64, 32))
    assert maps["g"].shape == (1, 512, 4, 2)


def test_outputs_keys_and_shapes(resnet_and_mgn: tuple[Any, MGN]) -> None:
    _, model = resnet_and_mgn
    model.train()
    out = model(torch.randn(2, 3, 64, 32))
    expected = {"features", "embedding", "part_features_p2", "part_features_p3"}
    expected |= {f"triplet_features_{n}" for n in ("g", "p2", "p3")}
    expected |= {f"logits_{n}" for n in FEATURE_NAMES}
    assert set(out) == expected
    assert out["embedding"].shape == (2, 2048)
    assert out["features"].shape == (2, 768)
    assert out["part_features_p2"].shape == (2, 512)
    assert out["part_features_p3"].shape == (2, 768)
    for name in FEATURE_NAMES:
        assert out[f"logits_{name}"].shape == (2, 5)
    # documented order: embedding = [g, p2, p3, p2_0, p2_1, p3_0, p3_1, p3_2]
    torch.testing.assert_close(out["embedding"][:, :768], out["features"])
    torch.testing.assert_close(out["embedding"][:, 768:1280], out["part_features_p2"])
    torch.testing.assert_close(out["embedding"][:, 1280:], out["part_features_p3"])
    torch.testing.assert_close(out["features"][:, 256:512], out["triplet_features_p2"])
    assert (out["embedding"] >= 0).all()  # ReLU after each reduction


def test_eval_embedding_is_one_reduction_per_pooled_stripe(
    resnet_and_mgn: tuple[Any, MGN],
) -> None:
    _, model = resnet_and_mgn
    model.eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        out = model(x)
        maps = model.branch_maps(x)
        p3_second = maps["p3"][:, :, 1:3, :].amax(dim=(2, 3))  # rows 1..2 of 4
        expected = model.reductions["p3_1"](p3_second)
    torch.testing.assert_close(out["embedding"][:, 6 * 256 : 7 * 256], expected)


def test_branches_start_from_the_trunk_layer4_but_do_not_share_it(
    resnet_and_mgn: tuple[Any, MGN],
) -> None:
    resnet, model = resnet_and_mgn
    source = resnet.layer4[0].conv1.weight
    copies = [model.branches[n][0][0].conv1.weight for n in ("g", "p2", "p3")]
    for w in copies:
        torch.testing.assert_close(w, source)
        assert w.data_ptr() != source.data_ptr()
    assert len({w.data_ptr() for w in copies}) == 3
    assert model.shared[-1] is resnet.layer3  # the trunk through layer3 is shared


def test_gradients_reach_shared_trunk_and_every_branch() -> None:
    model = MGN.from_timm_resnet(_resnet18(), num_classes=3, reduction_dim=8).train()
    out = model(torch.randn(2, 3, 64, 32))
    loss = sum(out[f"logits_{n}"].sum() for n in FEATURE_NAMES) + out["features"].sum()
    assert isinstance(loss, torch.Tensor)
    loss.backward()
    # timm zero-initialises the last BN of every block, so check the shortcut convs
    grads = [model.shared[0].weight.grad] + [
        model.branches[n][0][0].downsample[0].weight.grad for n in ("g", "p2", "p3")
    ]
    for g in grads:
        assert g is not None and g.abs().sum() > 0
    for name in FEATURE_NAMES:
        assert model.reductions[name].conv.weight.grad is not None
    assert out["embedding"].shape == (2, 64)


def test_layer3_split_copies_the_rest_of_layer3_into_each_branch() -> None:
    resnet = _resnet18()
    model = MGN.from_timm_resnet(resnet, num_classes=0, split="layer3.0")
    assert model.classifiers is None
    assert isinstance(model.branches["g"][0], nn.Sequential)  # layer3[1:]
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 3, 64, 32))
    assert out["embedding"].shape == (1, 2048)
    assert not any(k.startswith("logits") for k in out)


def test_build_mgn_from_timm_offline() -> None:
    model = build_mgn(depth=18, num_classes=2, reduction_dim=4)
    assert model.feature_dim == 512 and model.embedding_dim == 32
