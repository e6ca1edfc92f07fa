"""Which frames of a tracklet form a clip.

Restricted random sampling (Li et al., CVPR 2018; the TF-CLIP loaders): the tracklet is cut
into ``seq_len`` equal chunks; training takes one random frame per chunk, testing the first
frame of each chunk. Tracklets shorter than ``seq_len`` repeat frames in order.
"""

from __future__ import annotations

import itertools

import torch


def restricted_random_indices(
    num_frames: int, seq_len: int, *, train: bool, generator: torch.Generator | None = None
) -> list[int]:
    """``seq_len`` frame indices in [0, num_frames), ascending."""
    if num_frames < 1 or seq_len < 1:
        raise ValueError(f"need num_frames ≥ 1 and seq_len ≥ 1, got {num_frames}, {seq_len}")
    if num_frames < seq_len:
        return [i * num_frames // seq_len for i in range(seq_len)]
    bounds = [i * num_frames // seq_len for i in range(seq_len + 1)]
    if not train:
        return bounds[:-1]
    out: list[int] = []
    for lo, hi in itertools.pairwise(bounds):
        out.append(lo + int(torch.randint(hi - lo, (1,), generator=generator)))
    return out


def evenly_spaced_indices(num_frames: int, seq_len: int) -> list[int]:
    """``seq_len`` indices spread evenly from the first to the last frame."""
    if num_frames < 1 or seq_len < 1:
        raise ValueError(f"need num_frames ≥ 1 and seq_len ≥ 1, got {num_frames}, {seq_len}")
    if seq_len == 1:
        return [0]
    return [round(i * (num_frames - 1) / (seq_len - 1)) for i in range(seq_len)]


def all_frames_in_chunks(num_frames: int, seq_len: int) -> list[list[int]]:
    """Every frame, cut into consecutive clips of ``seq_len`` (evaluation, "dense" mode).

    The last clip is filled by cycling from the tracklet's start, so every clip has
    ``seq_len`` frames and clip features can be averaged into one tracklet feature.
    """
    if num_frames < 1 or seq_len < 1:
        raise ValueError(f"need num_frames ≥ 1 and seq_len ≥ 1, got {num_frames}, {seq_len}")
    clips: list[list[int]] = []
    for start in range(0, num_frames, seq_len):
        clip = list(range(start, min(start + seq_len, num_frames)))
        clip += [i % num_frames for i in range(seq_len - len(clip))]
        clips.append(clip)
    return clips
