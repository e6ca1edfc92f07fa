"""Feature extraction for evaluation: decode in workers, normalise, (flip), embed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from agreid_core.config import InputConfig
from agreid_core.data.augment import build_test_transform
from agreid_core.data.decode import ImageSamples
from agreid_core.method import EMBEDDING


@torch.no_grad()
def extract_features(
    model: nn.Module,
    paths: Sequence[str],
    camids: Sequence[int],
    inp: InputConfig,
    *,
    device: torch.device,
    batch_size: int = 128,
    flip: bool = False,
    num_workers: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> Tensor:
    """Embed every image of ``paths``; returns float32 (N, D) on the CPU.

    With ``flip`` the embedding of the horizontally flipped image is added (flip TTA).
    """
    dataset = ImageSamples(paths, [0] * len(paths), camids, inp.height, inp.width)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    transform = build_test_transform(inp).to(device)
    was_training = model.training
    model.eval()
    chunks: list[Tensor] = []
    for images, _, cams, _ in loader:
        x = transform(images.to(device))
        cams = cams.to(device)
        feats: Tensor = model(x, cams)[EMBEDDING]
        if flip:
            feats = feats + model(torch.flip(x, dims=[3]), cams)[EMBEDDING]
        chunks.append(feats.float().cpu())
        if on_batch is not None:
            on_batch(len(images))
    model.train(was_training)
    if not chunks:
        raise ValueError("no images to embed")
    return torch.cat(chunks)
