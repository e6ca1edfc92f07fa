"""HRNet-W18 (timm): the 2048-channel head map at stride 32."""

from __future__ import annotations

import logging

import pytest
import torch

from agreid_models.backbones.hrnet import HRNetBackbone


def test_small_variant_returns_the_2048_channel_map_at_stride_32() -> None:
    model = HRNetBackbone("hrnet_w18_small").eval()
    assert model.feature_dim == 2048
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(out, model.body.forward_features(x))
    assert out.shape == (2, 2048, 2, 1)


def test_gradients_flow_to_the_stem() -> None:
    model = HRNetBackbone("hrnet_w18_small").train()
    model(torch.randn(2, 3, 64, 32)).mean().backward()
    assert model.body.conv1.weight.grad is not None
    assert model.body.conv1.weight.grad.abs().sum() > 0


def test_unknown_variant_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown HRNet variant"):
        HRNetBackbone("hrnet_w32")


def test_pretrained_offline_falls_back_with_a_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="agreid.models"):
        model = HRNetBackbone("hrnet_w18_small", pretrained=True)
    assert model.feature_dim == 2048
    assert "hrnet_w18_small" in caplog.text and "random initialisation" in caplog.text
