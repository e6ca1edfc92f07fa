"""IBN-a ResNet: which norms are IBN, the IBN split, shapes, last stride, weights policy."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from agreid_models.backbones.ibn import IBN, ResNetIBNBackbone

TINY = (1, 1, 1, 1)


@pytest.mark.parametrize(("depth", "n_ibn"), [(50, 3 + 4 + 6), (101, 3 + 4 + 23)])
def test_only_bn1_of_layer1_to_3_is_ibn(depth: int, n_ibn: int) -> None:
    body = ResNetIBNBackbone(depth).body
    ibn_names = [name for name, m in body.named_modules() if isinstance(m, IBN)]
    assert len(ibn_names) == n_ibn
    assert all(name.split(".")[0] in {"layer1", "layer2", "layer3"} for name in ibn_names)
    assert all(name.endswith(".bn1") for name in ibn_names)
    assert isinstance(body.bn1, nn.BatchNorm2d)  # stem
    for block in body.layer4:
        assert isinstance(block.bn1, nn.BatchNorm2d)
    for block in body.layer2:
        assert isinstance(block.bn2, nn.BatchNorm2d) and isinstance(block.bn3, nn.BatchNorm2d)
    first = body.layer1[0].bn1
    assert first.IN.num_features == 32 and first.BN.num_features == 32  # 64 channels, half/half
    assert first.IN.affine


def test_ibn_normalises_half_per_instance_and_half_per_batch() -> None:
    torch.manual_seed(0)
    ibn = IBN(8).train()
    x = torch.randn(3, 8, 5, 4) * 4 + 2
    out = ibn(x)
    torch.testing.assert_close(out[:, :4], F.instance_norm(x[:, :4], eps=ibn.IN.eps))
    torch.testing.assert_close(
        out[:, 4:], F.batch_norm(x[:, 4:], None, None, training=True, eps=ibn.BN.eps)
    )
    # instance-normalised channels have zero mean per sample; batch-normalised ones only overall
    assert out[:, :4].mean(dim=(2, 3)).abs().max() < 1e-5
    assert out[:, 4:].mean(dim=(2, 3)).abs().max() > 1e-3
    assert out[:, 4:].mean(dim=(0, 2, 3)).abs().max() < 1e-5


def test_last_stride_and_shapes() -> None:
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        ls1 = ResNetIBNBackbone(50, last_stride=1, layers=TINY).eval()(x)
        ls2 = ResNetIBNBackbone(50, last_stride=2, layers=TINY).eval()(x)
    assert ls1.shape == (2, 2048, 4, 2)
    assert ls2.shape == (2, 2048, 2, 1)


def test_gradients_reach_the_instance_norm() -> None:
    model = ResNetIBNBackbone(50, layers=TINY).train()
    assert model.feature_dim == 2048
    for block in (*model.body.layer1, *model.body.layer2, *model.body.layer3, *model.body.layer4):
        nn.init.ones_(block.bn3.weight)  # timm zero-inits it, which blocks the residual branch
    model(torch.randn(2, 3, 64, 32)).mean().backward()
    ibn = model.body.layer1[0].bn1
    assert ibn.IN.weight.grad is not None and ibn.IN.weight.grad.abs().sum() > 0
    assert model.body.conv1.weight.grad is not None


def test_rejects_other_depths() -> None:
    with pytest.raises(ValueError, match="50 or 101"):
        ResNetIBNBackbone(34)


def test_pretrained_without_file_warns_and_uses_random_init(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="agreid.models"):
        ResNetIBNBackbone(50, pretrained=True, layers=TINY)
    assert "resnet50-ibn-a" in caplog.text and "random initialisation" in caplog.text


def test_local_weights_with_ibn_net_key_names_load(tmp_path: Path) -> None:
    source = ResNetIBNBackbone(50, layers=TINY)
    state = {k: v.clone() for k, v in source.body.state_dict().items()}
    assert "layer1.0.bn1.IN.weight" in state and "layer1.0.bn1.BN.running_mean" in state
    with torch.no_grad():
        state["layer1.0.bn1.IN.weight"].fill_(0.5)
    state["fc.weight"] = torch.zeros(1000, 2048)  # classifier keys are ignored
    torch.save(state, tmp_path / "ibn.pth")
    loaded = ResNetIBNBackbone(50, layers=TINY, weights=str(tmp_path / "ibn.pth"))
    assert torch.all(loaded.body.layer1[0].bn1.IN.weight == 0.5)
    torch.testing.assert_close(loaded.body.conv1.weight, source.body.conv1.weight)
