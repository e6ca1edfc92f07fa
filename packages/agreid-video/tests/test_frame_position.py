"""X-TFCLIP frame-position + camera embedding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agreid_video.modules.frame_position import FrameCameraEmbedding


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_adds_frame_and_camera_vectors() -> None:
    emb = FrameCameraEmbedding(32, max_frames=8, num_cameras=3, sie_coef=2.0)
    frames = torch.randn(2, 4, 32)
    cam = torch.tensor([0, 2])
    out = emb(frames, cam)
    assert out.shape == (2, 4, 32)
    assert emb.cam_embed is not None
    expected = frames + emb.frame_embed[:4] + 2.0 * emb.cam_embed[cam][:, None]
    torch.testing.assert_close(out, expected)
    per_frame = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 2]])
    assert emb(frames, per_frame).shape == (2, 4, 32)
    torch.testing.assert_close(emb(frames, per_frame)[1], out[1])
    out.pow(2).sum().backward()
    _assert_all_grads(emb)


def test_errors_and_no_camera_mode() -> None:
    emb = FrameCameraEmbedding(32, max_frames=4, num_cameras=2)
    with pytest.raises(ValueError, match="camids"):
        emb(torch.randn(2, 4, 32))
    with pytest.raises(ValueError, match="max_frames"):
        emb(torch.randn(2, 5, 32), torch.tensor([0, 1]))
    plain = FrameCameraEmbedding(32, max_frames=4)
    assert plain.bias(3, batch=2).shape == (2, 3, 32)
    torch.testing.assert_close(plain(torch.zeros(2, 3, 32))[1], plain.frame_embed[:3])
