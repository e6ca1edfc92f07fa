"""ResNet backbones: last stride, feature dim, pretrained policy, local weights."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from agreid_core.testing import check_backbone
from agreid_models.backbones.resnet import ResNetBackbone


@pytest.mark.parametrize(("depth", "dim"), [(18, 512), (50, 2048)])
def test_last_stride_one_doubles_the_final_map(depth: int, dim: int) -> None:
    x = torch.randn(1, 3, 256, 128)
    with torch.no_grad():
        ls1 = ResNetBackbone(depth, last_stride=1, pretrained=False).eval()(x)
        ls2 = ResNetBackbone(depth, last_stride=2, pretrained=False).eval()(x)
    assert ls1.shape == (1, dim, 16, 8)
    assert ls2.shape == (1, dim, 8, 4)


def test_registered_backbones_conform() -> None:
    from agreid_core.plugins.host import PluginHost
    from agreid_models import plugin

    host = PluginHost()
    host.register(plugin, name="models-under-test")
    for name in ("resnet18", "resnet34"):
        model = check_backbone(host.components("backbones").get(name))
        assert model.feature_dim == 512


def test_pretrained_offline_falls_back_to_random_init_with_a_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="agreid.models"):
        model = ResNetBackbone(18, pretrained=True)
    assert model.feature_dim == 512
    assert "random initialisation" in caplog.text and "resnet18" in caplog.text


def test_local_weights_file_is_loaded(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    source = ResNetBackbone(18, pretrained=False)
    state = {k: v.clone() for k, v in source.body.state_dict().items()}
    save_file(state, str(tmp_path / "r18.safetensors"))
    torch.save(state, tmp_path / "r18.pth")
    for name in ("r18.safetensors", "r18.pth"):
        loaded = ResNetBackbone(18, pretrained=False, weights=str(tmp_path / name))
        torch.testing.assert_close(loaded.body.conv1.weight, source.body.conv1.weight)


def test_mismatched_weights_file_is_rejected(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"conv1.weight": torch.zeros(1)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match=r"bad\.safetensors: weights do not fit"):
        ResNetBackbone(18, pretrained=False, weights=str(tmp_path / "bad.safetensors"))
    with pytest.raises(FileNotFoundError, match="not found"):
        ResNetBackbone(18, pretrained=False, weights=str(tmp_path / "missing.pth"))
