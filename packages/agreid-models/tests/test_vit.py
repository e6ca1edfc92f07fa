"""TransReID-style ViT: pos-embed interpolation numerics, stride-12 grid, SIE, tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from agreid_models.backbones.vit import ViTBackbone, interpolate_pos_embed, patch_grid

TINY = {"img_size": (64, 32), "embed_dim": 64, "depth": 2, "num_heads": 2}


def _ramp(grid: tuple[int, int], channels: int = 3) -> torch.Tensor:
    """(1, 1 + h·w, C) with a CLS entry and grid values 2·i + 3·j + c + 1."""
    h, w = grid
    i = torch.arange(h, dtype=torch.float64)[:, None]
    j = torch.arange(w, dtype=torch.float64)[None, :]
    vals = torch.stack([2 * i + 3 * j + c + 1 for c in range(channels)], dim=-1)
    cls = torch.full((1, 1, channels), -7.0, dtype=torch.float64)
    return torch.cat([cls, vals.reshape(1, h * w, channels)], dim=1)


def _source_coords(old: int, new: int) -> torch.Tensor:
    """Source coordinate of each output index under ``align_corners=False``."""
    return (torch.arange(new, dtype=torch.float64) + 0.5) * (old / new) - 0.5


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_equal_grids_are_the_identity(mode: str) -> None:
    pe = torch.randn(1, 1 + 6 * 4, 8)
    assert interpolate_pos_embed(pe, (6, 4), (6, 4), 1, mode) is pe  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_shape_changes_and_prefix_tokens_are_kept(mode: str) -> None:
    pe = torch.randn(1, 2 + 14 * 14, 8)
    out = interpolate_pos_embed(pe, (14, 14), (21, 10), 2, mode)  # type: ignore[arg-type]
    assert out.shape == (1, 2 + 21 * 10, 8)
    torch.testing.assert_close(out[:, :2], pe[:, :2])


def test_bilinear_preserves_a_linear_ramp() -> None:
    # downsampling: every output samples inside the old grid, so the ramp is exact everywhere
    out = interpolate_pos_embed(_ramp((8, 6)), (8, 6), (4, 3), 1, "bilinear")
    si, sj = _source_coords(8, 4)[:, None], _source_coords(6, 3)[None, :]
    expected = _ramp((4, 3))[:, 1:].clone()
    for c in range(3):
        expected[0, :, c] = (2 * si + 3 * sj + c + 1).reshape(-1)
    torch.testing.assert_close(out[:, 1:], expected)
    # upsampling (14×14 → 21×10 as TransReID): exact wherever no border clamping happens
    out = interpolate_pos_embed(_ramp((14, 14)), (14, 14), (21, 10), 1, "bilinear")
    si, sj = _source_coords(14, 21), _source_coords(14, 10)
    grid = out[0, 1:].reshape(21, 10, 3)
    inside_i = (si >= 0) & (si <= 13)
    inside_j = (sj >= 0) & (sj <= 13)
    ramp = 2 * si[:, None] + 3 * sj[None, :] + 1
    torch.testing.assert_close(grid[..., 0][inside_i][:, inside_j], ramp[inside_i][:, inside_j])
    assert inside_i.sum() >= 19 and inside_j.all()


def test_bicubic_differs_from_bilinear_on_curved_input() -> None:
    torch.manual_seed(0)
    pe = torch.randn(1, 1 + 5 * 5, 4)
    a = interpolate_pos_embed(pe, (5, 5), (9, 7), 1, "bilinear")
    b = interpolate_pos_embed(pe, (5, 5), (9, 7), 1, "bicubic")
    assert not torch.allclose(a, b)


def test_invalid_arguments_are_rejected() -> None:
    pe = torch.randn(1, 1 + 4, 8)
    with pytest.raises(ValueError, match="mode"):
        interpolate_pos_embed(pe, (2, 2), (3, 3), 1, "nearest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefix tokens"):
        interpolate_pos_embed(pe, (3, 3), (2, 2), 1)


def test_transreid_grid_is_21_by_10() -> None:
    assert patch_grid((256, 128), (16, 16), 12) == (21, 10)
    assert patch_grid((256, 128), (16, 16), 16) == (16, 8)


def test_tiny_vit_shapes_and_overlapping_patches() -> None:
    model = ViTBackbone(**TINY).eval()  # type: ignore[arg-type]
    assert model.feature_dim == 64
    assert model.grid_size == (5, 2)  # (64-16)//12+1, (32-16)//12+1
    assert model.body.patch_embed.proj.stride == (12, 12)
    assert model.body.pos_embed.shape == (1, 1 + 10, 64)
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        out = model(x)
        tokens = model.forward_tokens(x)
    assert out.shape == (2, 64, 1, 1)
    assert tokens.shape == (2, 11, 64)
    torch.testing.assert_close(out[:, :, 0, 0], tokens[:, 0])


def test_skip_last_leaves_the_last_block_and_norm_to_the_caller() -> None:
    model = ViTBackbone(**TINY).eval()  # type: ignore[arg-type]
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        before = model.forward_tokens(x, skip_last=1)
        full = model.forward_tokens(x)
        torch.testing.assert_close(model.body.norm(model.body.blocks[-1](before)), full)


def test_weights_file_pos_embed_is_interpolated_to_the_new_grid(tmp_path: Path) -> None:
    import timm

    ref = timm.create_model(
        "vit_base_patch16_224", embed_dim=64, depth=2, num_heads=2, num_classes=0
    )
    torch.save(ref.state_dict(), tmp_path / "vit.pth")
    for mode in ("bilinear", "bicubic"):
        model = ViTBackbone(**TINY, pos_embed_mode=mode, weights=str(tmp_path / "vit.pth"))  # type: ignore[arg-type]
        expected = interpolate_pos_embed(ref.pos_embed.data, (14, 14), (5, 2), 1, mode)  # type: ignore[arg-type]
        torch.testing.assert_close(model.body.pos_embed.data, expected)
        torch.testing.assert_close(model.body.cls_token.data, ref.cls_token.data)


def test_camera_embedding_is_added_and_learned() -> None:
    torch.manual_seed(0)
    model = ViTBackbone(**TINY, num_cameras=3, sie_coef=3.0).train()  # type: ignore[arg-type]
    model.body.blocks.eval()  # no drop path noise in the comparison
    x = torch.randn(1, 3, 64, 32).repeat(2, 1, 1, 1)
    with pytest.raises(ValueError, match="camids"):
        model(x)
    out = model(x, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])
    # (a plain sum of LayerNorm outputs has ~zero gradient: project on random weights)
    (out * torch.randn_like(out)).sum().backward()
    assert model.cam_embed is not None and model.cam_embed.grad is not None
    grad = model.cam_embed.grad.abs().sum(dim=(1, 2))
    assert grad[0] > 0 and grad[1] > 0 and grad[2] == 0  # only the cameras seen
    assert model.body.patch_embed.proj.weight.grad is not None


def test_frozen_blocks_and_pretrained_offline_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="agreid.models"):
        model = ViTBackbone(**TINY, frozen_blocks=1, pretrained=True)  # type: ignore[arg-type]
    assert "random initialisation" in caplog.text
    assert not any(p.requires_grad for p in model.body.blocks[0].parameters())
    assert all(p.requires_grad for p in model.body.blocks[1].parameters())
