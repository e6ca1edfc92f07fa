"""Temporal pooling and clip sampling."""

from __future__ import annotations

import torch

from agreid_video.clip_sampling import (
    all_frames_in_chunks,
    evenly_spaced_indices,
    restricted_random_indices,
)
from agreid_video.modules.temporal_pool import TemporalAttentionPooling, TemporalAveragePooling


def test_attention_pooling_starts_as_average_and_learns_to_weight() -> None:
    torch.manual_seed(0)
    frames = torch.randn(3, 5, 8)
    attn = TemporalAttentionPooling(8, hidden=4)
    torch.testing.assert_close(attn(frames), TemporalAveragePooling()(frames))
    with torch.no_grad():
        attn.score.weight.fill_(1.0)
    w = attn.weights(frames)
    assert w.shape == (3, 5)
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    assert not torch.allclose(attn(frames), frames.mean(1))


def test_attention_pooling_gradients_reach_scores() -> None:
    frames = torch.randn(2, 4, 8, requires_grad=True)
    attn = TemporalAttentionPooling(8, hidden=4)
    attn(frames).pow(2).sum().backward()
    assert attn.score.weight.grad is not None and attn.score.weight.grad.abs().sum() > 0
    assert frames.grad is not None


def test_restricted_random_sampling_one_frame_per_chunk() -> None:
    g = torch.Generator().manual_seed(0)
    idx = restricted_random_indices(20, 4, train=True, generator=g)
    assert [i // 5 for i in idx] == [0, 1, 2, 3]
    assert restricted_random_indices(20, 4, train=False) == [0, 5, 10, 15]
    assert restricted_random_indices(3, 6, train=False) == [0, 0, 1, 1, 2, 2]


def test_evenly_spaced_covers_both_ends() -> None:
    assert evenly_spaced_indices(10, 4) == [0, 3, 6, 9]
    assert evenly_spaced_indices(5, 1) == [0]


def test_all_frames_in_chunks_covers_every_frame_and_pads_by_cycling() -> None:
    assert all_frames_in_chunks(10, 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    assert all_frames_in_chunks(3, 8) == [[0, 1, 2, 0, 1, 2, 0, 1]]
    assert all_frames_in_chunks(8, 4) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    clips = all_frames_in_chunks(23, 8)
    assert sorted({i for c in clips for i in c}) == list(range(23))
