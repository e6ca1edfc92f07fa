"""Swin / SwinV2 (timm): (B, C, H', W') maps from tiny configs, non-square inputs."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from agreid_models.backbones.swin import SwinBackbone

TINY: dict[str, Any] = {
    "embed_dim": 32,
    "depths": (1, 1, 1, 1),
    "num_heads": (1, 2, 2, 4),
    "window_size": 2,
}
VARIANTS = ["swin_base_patch4_window7_224", "swinv2_base_window8_256"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_tiny_non_square_gives_a_channels_first_map(variant: str) -> None:
    model = SwinBackbone(variant, img_size=(64, 32), **TINY).eval()
    assert model.feature_dim == 256  # 32 · 2³
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        out = model(x)
        nhwc = model.body.forward_features(x)
    assert out.shape == (2, 256, 2, 1)
    torch.testing.assert_close(out, nhwc.permute(0, 3, 1, 2))


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_flow_and_drop_path_is_set(variant: str) -> None:
    model = SwinBackbone(variant, img_size=(64, 32), drop_path_rate=0.2, **TINY).train()
    model(torch.randn(2, 3, 64, 32)).mean().backward()
    assert model.body.patch_embed.proj.weight.grad is not None
    rates = [float(getattr(m, "drop_prob", 0.0)) for m in model.body.modules()]
    assert max(rates) == pytest.approx(0.2)


def test_default_image_sizes_and_unknown_variant() -> None:
    assert SwinBackbone(VARIANTS[0], **TINY).img_size == (224, 224)
    assert SwinBackbone(VARIANTS[1], **TINY).img_size == (256, 256)
    with pytest.raises(ValueError, match="unknown Swin variant"):
        SwinBackbone("swin_tiny_patch4_window7_224")
