"""OSNet: shapes, omni-scale streams with one shared gate, x1.0 size, gradients, weights."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from torch import nn

from agreid_models.backbones.osnet import AggregationGate, LiteConv3x3, OSBlock, OSNetBackbone


def test_x1_0_map_is_512_channels_at_stride_16() -> None:
    model = OSNetBackbone().eval()
    assert model.feature_dim == 512
    with torch.no_grad():
        out = model(torch.randn(1, 3, 128, 64))
    assert out.shape == (1, 512, 8, 4)


def test_width_multiplier_gives_a_tiny_model() -> None:
    model = OSNetBackbone(width=0.25).eval()
    assert model.feature_dim == 128
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 32)).shape == (2, 128, 4, 2)


def test_x1_0_has_about_2_2m_parameters() -> None:
    trunk = sum(p.numel() for p in OSNetBackbone().parameters())
    assert 1.85e6 < trunk < 1.95e6  # conv1 … conv5
    # the paper's 2.2M also counts the 512→512 FC embedding (+BN1d) after pooling, no classifier
    embedding = nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512))
    total = trunk + sum(p.numel() for p in embedding.parameters())
    assert 2.1e6 < total < 2.3e6


def test_streams_are_1_to_4_lite_convs_and_share_one_gate() -> None:
    block = OSBlock(64, 256).eval()
    depths = [sum(isinstance(m, LiteConv3x3) for m in s.modules()) for s in block.streams]
    assert depths == [1, 2, 3, 4]
    gates = [m for m in block.modules() if isinstance(m, AggregationGate)]
    assert gates == [block.gate]
    calls: list[int] = []
    block.gate.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        out = block(torch.randn(2, 64, 8, 4))
    assert out.shape == (2, 256, 8, 4)
    assert len(calls) == 4  # the same gate weights rescale every stream


def test_gate_is_a_channel_gate_in_0_1() -> None:
    gate = AggregationGate(32)
    x = torch.ones(2, 32, 3, 3)
    out = gate(x)
    assert out.shape == x.shape
    assert torch.all((out > 0) & (out < 1))
    assert torch.allclose(out, out[:, :, :1, :1].expand_as(out))  # one value per channel


def test_gradients_reach_every_parameter() -> None:
    model = OSNetBackbone(width=0.25).train()
    model(torch.randn(2, 3, 64, 32)).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_pretrained_warns_and_local_weights_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="agreid.models"):
        source = OSNetBackbone(width=0.25, pretrained=True)
    assert "osnet" in caplog.text and "random initialisation" in caplog.text
    torch.save(source.state_dict(), tmp_path / "osnet.pth")
    loaded = OSNetBackbone(width=0.25, weights=str(tmp_path / "osnet.pth"))
    torch.testing.assert_close(loaded.conv1[0].weight, source.conv1[0].weight)
    with pytest.raises(ValueError, match="do not fit"):
        OSNetBackbone(width=0.5, weights=str(tmp_path / "osnet.pth"))
