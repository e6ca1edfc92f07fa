"""CLIP ViT-B/16 and EVA-CLIP-L/14 image towers at tiny configs (random init, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from agreid_core.testing import check_backbone
from agreid_models.backbones.clip import EVACLIPL14, CLIPViTB16
from agreid_models.backbones.specs import BACKBONE_SPECS

TINY: dict[str, Any] = {"embed_dim": 64, "depth": 2, "num_heads": 2, "proj_dim": 32}


@pytest.mark.parametrize("name", ["clip-vit-b16", "eva-clip-l14"])
def test_registered_tiny_towers_conform(name: str) -> None:
    model = check_backbone(BACKBONE_SPECS[name])
    assert model.feature_dim == 64
    assert BACKBONE_SPECS[name].reference


def test_vit_b16_tokens_projection_and_sie_at_non_square_input() -> None:
    torch.manual_seed(0)
    tower = CLIPViTB16(img_size=(64, 32), num_cameras=3, **TINY)
    assert tower.grid_size == (4, 2) and tower.num_tokens == 9
    x = torch.randn(2, 3, 64, 32)
    cam = torch.tensor([0, 2])
    tokens = tower.forward_tokens(x, cam)
    assert tokens.shape == (2, 9, 64)
    assert tower(x, cam).shape == (2, 64, 1, 1)
    assert tower.project(tokens).shape == (2, 9, 32)
    with pytest.raises(ValueError, match="camids"):
        tower.forward_tokens(x)
    # SIE goes on the CLS token only, before the blocks: another camera changes the output
    assert not torch.allclose(tokens, tower.forward_tokens(x, torch.tensor([1, 1])))


def test_vit_b16_video_encoding_shapes_and_grads() -> None:
    tower = CLIPViTB16(img_size=(64, 32), num_cameras=2, **TINY)
    clips = torch.randn(2, 4, 3, 64, 32)
    out = tower.encode_video(clips, torch.tensor([0, 1]), cls_bias=torch.zeros(2, 4, 64))
    assert out.cls.shape == (2, 4, 64)
    assert out.proj.shape == (2, 4, 32)
    assert out.tokens.shape == (2, 4, 9, 64)
    (out.proj.sum() + out.cls.sum()).backward()
    assert tower.proj.weight.grad is not None
    assert tower.cam_embed is not None and tower.cam_embed.grad is not None


def test_overlapping_stride_and_bicubic_resize() -> None:
    tower = CLIPViTB16(img_size=(64, 32), stride=12, pos_embed_mode="bicubic", **TINY)
    assert tower.grid_size == (5, 2)
    assert tower.body.pos_embed.shape == (1, 11, 64)
    assert tower(torch.randn(1, 3, 64, 32)).shape == (1, 64, 1, 1)


def test_eva_l14_patch14_non_square_resizes_rope_and_pos_embed() -> None:
    torch.manual_seed(0)
    tower = EVACLIPL14(img_size=(56, 28), **TINY)
    assert tower.grid_size == (4, 2)
    assert list(tower.body.rope.feat_shape) == [4, 2]
    out = tower.encode_video(torch.randn(2, 2, 3, 56, 28))
    assert out.cls.shape == (2, 2, 64) and out.proj.shape == (2, 2, 32)
    assert out.tokens.shape == (2, 2, 9, 64)
    assert torch.isfinite(out.tokens).all()


def test_local_weights_file_at_pretraining_grid_loads(tmp_path: Path) -> None:
    ref = CLIPViTB16(img_size=(224, 224), **TINY)
    path = tmp_path / "clip.pth"
    state = {**ref.body.state_dict(), **{f"head.{k}": v for k, v in ref.proj.state_dict().items()}}
    torch.save(state, path)
    tower = CLIPViTB16(img_size=(64, 32), weights=str(path), **TINY)
    torch.testing.assert_close(tower.proj.weight, ref.proj.weight)
    torch.testing.assert_close(tower.body.pos_embed[:, :1], ref.body.pos_embed[:, :1])
    assert tower.body.pos_embed.shape == (1, 9, 64)
