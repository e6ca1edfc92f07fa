"""Decoding in DataLoader workers: image file → resized uint8 tensor; tracklet → clip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from agreid_core.data.dataset import DatasetError


def read_image(path: str | Path, height: int, width: int) -> torch.Tensor:
    """Decode ``path`` as RGB and resize to ``height × width``; uint8 tensor (3, H, W).

    A missing, unreadable or truncated file raises :class:`DatasetError` naming it.
    """
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError(f"{path}: cannot decode image ({exc})") from None
    array = np.asarray(rgb, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


class ImageSamples(Dataset[tuple[torch.Tensor, int, int, int]]):
    """Decodes ``paths[i]``; yields ``(image uint8 (3,H,W), label, camid, i)``."""

    def __init__(
        self,
        paths: Sequence[str],
        labels: Sequence[int],
        camids: Sequence[int],
        height: int,
        width: int,
    ) -> None:
        if not len(paths) == len(labels) == len(camids):
            raise ValueError("paths, labels and camids must have the same length")
        self.paths, self.labels, self.camids = list(paths), list(labels), list(camids)
        self.height, self.width = height, width

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int, int]:
        image = read_image(self.paths[i], self.height, self.width)
        return image, self.labels[i], self.camids[i], i


class ClipSamples(Dataset[tuple[torch.Tensor, int, int, int]]):
    """Draws a ``clip_length``-frame clip of tracklet ``i`` (``frames[i]``: its frame paths);
    yields ``(clip uint8 (T, 3, H, W), label, camid, i)``.

    ``restricted-random``: one random frame per equal chunk of the tracklet (Li et al.,
    CVPR 2018), drawn from torch's RNG (per worker, seeded by the DataLoader);
    ``evenly-spaced``: first to last frame at equal steps.
    """

    def __init__(
        self,
        frames: Sequence[Sequence[str]],
        labels: Sequence[int],
        camids: Sequence[int],
        height: int,
        width: int,
        clip_length: int,
        sampling: str = "restricted-random",
    ) -> None:
        if not len(frames) == len(labels) == len(camids):
            raise ValueError("frames, labels and camids must have the same length")
        if sampling not in ("restricted-random", "evenly-spaced"):
            raise ValueError(f"unknown clip sampling {sampling!r}")
        self.frames = [list(f) for f in frames]
        self.labels, self.camids = list(labels), list(camids)
        self.height, self.width = height, width
        self.clip_length, self.sampling = clip_length, sampling

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int, int]:
        from agreid_core.data.clips import evenly_spaced_indices, restricted_random_indices

        paths = self.frames[i]
        if not paths:
            raise DatasetError(f"tracklet {i} has no frames")
        if self.sampling == "restricted-random":
            index = restricted_random_indices(len(paths), self.clip_length, train=True)
        else:
            index = evenly_spaced_indices(len(paths), self.clip_length)
        clip = torch.stack([read_image(paths[j], self.height, self.width) for j in index])
        return clip, self.labels[i], self.camids[i], i
