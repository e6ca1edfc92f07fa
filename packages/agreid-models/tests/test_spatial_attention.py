"""Spatial attention (MFE) and spatial-channel attention (BENTO): shapes, ranges, gradients,
hand-set weights, identity at initialisation."""

from __future__ import annotations

import math

import pytest
import torch

from agreid_models.heads.spatial_attention import (
    SpatialAttention,
    SpatialAttentionHead,
    SpatialChannelAttention,
    attach_spatial_channel_attention,
)


def _hot_map(value: float = 2.0, at: tuple[int, int] = (2, 1)) -> torch.Tensor:
    x = torch.zeros(1, 4, 5, 3)
    x[0, 0, at[0], at[1]] = value
    return x


def test_attention_head_shapes_and_range() -> None:
    head = SpatialAttentionHead(8, hidden_channels=2, kernel_size=3)
    out = head(torch.randn(3, 8, 6, 4))
    assert out["features"].shape == (3, 8)
    assert out["attention"].shape == (3, 1, 6, 4)
    assert out["attended"].shape == (3, 8, 6, 4)
    assert ((out["attention"] > 0) & (out["attention"] < 1)).all()


def test_hot_location_gets_the_highest_attention_with_hand_set_conv() -> None:
    att = SpatialAttention(4, kernel_size=1)
    assert isinstance(att.score, torch.nn.Conv2d)
    with torch.no_grad():
        att.score.weight.fill_(1.0)
        att.score.bias.zero_()  # type: ignore[union-attr]
    x = _hot_map(2.0, at=(2, 1))
    attended, attention = att(x)
    flat = attention.flatten()
    assert int(flat.argmax()) == 2 * 3 + 1
    sig2 = 1.0 / (1.0 + math.exp(-2.0))
    assert flat[7].item() == pytest.approx(sig2)
    assert torch.allclose(flat[torch.arange(15) != 7], torch.tensor(0.5))
    assert attended[0, 0, 2, 1].item() == pytest.approx(2.0 * sig2)


def test_head_pools_the_attended_map() -> None:
    head = SpatialAttentionHead(4, kernel_size=1)
    with torch.no_grad():
        head.attention.score.weight.fill_(1.0)  # type: ignore[operator]
        head.attention.score.bias.zero_()  # type: ignore[union-attr]
    out = head(_hot_map(2.0))
    sig2 = 1.0 / (1.0 + math.exp(-2.0))
    torch.testing.assert_close(out["features"], torch.tensor([[2.0 * sig2 / 15, 0.0, 0.0, 0.0]]))
    residual = SpatialAttentionHead(4, kernel_size=1, residual=True, pool="max")
    with torch.no_grad():
        residual.attention.score.weight.fill_(1.0)  # type: ignore[operator]
        residual.attention.score.bias.zero_()  # type: ignore[union-attr]
    out = residual(_hot_map(2.0))
    assert out["features"][0, 0].item() == pytest.approx(2.0 * (1 + sig2))


def test_attention_head_gradients_reach_the_attention_conv_and_input() -> None:
    head = SpatialAttentionHead(8, hidden_channels=4, kernel_size=3)
    x = torch.randn(2, 8, 6, 4, requires_grad=True)
    head(x)["features"].pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for p in head.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_spatial_channel_block_is_identity_at_init_and_gates_in_range() -> None:
    block = SpatialChannelAttention(16, reduction=4)
    x = torch.randn(2, 16, 6, 4)
    out, channel_gate, spatial_gate = block.attend(x)
    torch.testing.assert_close(out, x)
    assert channel_gate.shape == (2, 16, 1, 1)
    assert spatial_gate.shape == (2, 1, 6, 4)
    for g in (channel_gate, spatial_gate):
        assert ((g > 0) & (g < 1)).all()


def test_spatial_channel_gradients() -> None:
    block = SpatialChannelAttention(16, reduction=4)
    x = torch.randn(2, 16, 6, 4, requires_grad=True)
    block(x).sum().backward()
    # at init only the zero-initialised scale can learn; the gates get no gradient yet
    assert block.gamma is not None and block.gamma.grad is not None
    assert block.gamma.grad.abs().sum() > 0
    assert block.spatial.weight.grad is not None
    assert block.spatial.weight.grad.abs().sum() == 0
    block.zero_grad()
    with torch.no_grad():
        block.gamma.fill_(1.0)
    block(x).pow(2).sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_spatial_channel_hand_set_numbers_and_hot_location() -> None:
    block = SpatialChannelAttention(4, reduction=2, kernel_size=3, residual=False)
    with torch.no_grad():
        for p in block.mlp.parameters():
            p.zero_()  # channel gate = σ(0) = 0.5 everywhere
        block.spatial.weight.zero_()
        block.spatial.weight[0, 0, 1, 1] = 1.0  # centre tap of the channel-mean map
    x = _hot_map(8.0, at=(3, 2))
    out, channel_gate, spatial_gate = block.attend(x)
    torch.testing.assert_close(channel_gate, torch.full((1, 4, 1, 1), 0.5))
    # mean over 4 channels of 0.5·8 at the hot location = 1 → σ(1); elsewhere σ(0)
    sig1 = 1.0 / (1.0 + math.exp(-1.0))
    flat = spatial_gate.flatten()
    assert int(flat.argmax()) == 3 * 3 + 2
    assert flat[11].item() == pytest.approx(sig1)
    assert torch.allclose(flat[torch.arange(15) != 11], torch.tensor(0.5))
    assert out[0, 0, 3, 2].item() == pytest.approx(8.0 * 0.5 * sig1)
    residual = SpatialChannelAttention(4, reduction=2, kernel_size=3, zero_init=False)
    residual.load_state_dict({**block.state_dict(), "gamma": torch.ones(1, 4, 1, 1)})
    assert residual(x)[0, 0, 3, 2].item() == pytest.approx(8.0 * (1 + 0.5 * sig1))


def test_channel_gate_favours_the_hot_channel_with_hand_set_mlp() -> None:
    block = SpatialChannelAttention(4, reduction=4, residual=False)  # hidden 1
    with torch.no_grad():
        block.mlp[0].weight.zero_()
        block.mlp[0].weight[0, 0] = 1.0  # hidden = relu(pooled channel 0)
        block.mlp[2].weight.zero_()
        block.mlp[2].weight[0, 0] = 1.0  # back onto channel 0 only
    _, channel_gate, _ = block.attend(_hot_map(2.0))
    # avg of channel 0 = 2/15, max = 2 → σ(2/15 + 2); other channels σ(0)
    expected = torch.tensor([1.0 / (1.0 + math.exp(-(2.0 / 15 + 2.0))), 0.5, 0.5, 0.5])
    torch.testing.assert_close(channel_gate.flatten(), expected)


def test_attach_after_resnet_stages_keeps_outputs_at_init() -> None:
    import timm

    torch.manual_seed(0)
    resnet = timm.create_model("resnet18", pretrained=False, num_classes=0).eval()
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        before = resnet(x)
        blocks = attach_spatial_channel_attention(resnet)
        after = resnet(x)
    assert set(blocks) == {"layer2", "layer3"}
    assert blocks["layer2"].mlp[0].in_channels == 128
    assert blocks["layer3"].mlp[0].in_channels == 256
    torch.testing.assert_close(after, before)


def test_even_kernel_is_rejected() -> None:
    with pytest.raises(ValueError, match="odd"):
        SpatialChannelAttention(4, kernel_size=4)
    with pytest.raises(ValueError, match="odd"):
        SpatialAttention(4, kernel_size=2)
