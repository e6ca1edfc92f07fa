"""Feature extraction for evaluation: decode in workers, normalise, (flip), embed.

Images: one feature each. Video tracklets: every frame is used, in clips or frame by frame,
and the embeddings are averaged over time (per-tracklet temporal pooling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from agreid_core.config import InputConfig
from agreid_core.data.augment import build_test_transform
from agreid_core.data.clips import all_frames_in_chunks
from agreid_core.data.decode import ImageSamples, read_image
from agreid_core.method import EMBEDDING

#: Model output holding predicted attribute labels (N, A), −1 unknown, in the order of the
#: model's ``attribute_names``; read when evaluation masks with predicted attributes.
ATTRIBUTE_LABELS = "attribute_labels"


@torch.no_grad()
def extract_outputs(
    model: nn.Module,
    paths: Sequence[str],
    camids: Sequence[int],
    inp: InputConfig,
    *,
    device: torch.device,
    keys: Sequence[str] = (EMBEDDING,),
    batch_size: int = 128,
    flip: bool = False,
    num_workers: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Tensor]:
    """The eval-mode outputs ``keys`` of ``model`` for every image of ``paths`` (CPU).

    With ``flip`` the embedding of the horizontally flipped image is added (flip TTA); other
    outputs come from the unflipped image.
    """
    dataset = ImageSamples(paths, [0] * len(paths), camids, inp.height, inp.width)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    transform = build_test_transform(inp).to(device)
    was_training = model.training
    model.eval()
    chunks: dict[str, list[Tensor]] = {k: [] for k in keys}
    for images, _, cams, _ in loader:
        x = transform(images.to(device))
        cams = cams.to(device)
        out = model(x, cams)
        for key in keys:
            if key not in out:
                raise KeyError(f"the model returned no {key!r} output (it has {sorted(out)})")
            value: Tensor = out[key]
            if key == EMBEDDING:
                if flip:
                    value = value + model(torch.flip(x, dims=[3]), cams)[EMBEDDING]
                value = value.float()
            chunks[key].append(value.cpu())
        if on_batch is not None:
            on_batch(len(images))
    model.train(was_training)
    if not paths:
        raise ValueError("no images to embed")
    return {k: torch.cat(v) for k, v in chunks.items()}


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
    return extract_outputs(
        model,
        paths,
        camids,
        inp,
        device=device,
        batch_size=batch_size,
        flip=flip,
        num_workers=num_workers,
        on_batch=on_batch,
    )[EMBEDDING]


class _TrackletFrames(Dataset[tuple[Tensor, int, int]]):
    """Decodes every frame of tracklet ``i``: ``(frames uint8 (F, 3, H, W), camid, i)``."""

    def __init__(
        self, frames: Sequence[Sequence[str]], camids: Sequence[int], height: int, width: int
    ) -> None:
        self.frames, self.camids = [list(f) for f in frames], list(camids)
        self.height, self.width = height, width

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> tuple[Tensor, int, int]:
        if not self.frames[i]:
            raise ValueError(f"tracklet {i} has no frames")
        images = [read_image(p, self.height, self.width) for p in self.frames[i]]
        return torch.stack(images), self.camids[i], i


def chunk_clips(frames: Tensor, clip_length: int) -> Tensor:
    """Split (F, C, H, W) frames into (⌈F / T⌉, T, C, H, W) clips covering every frame once;
    the last clip is completed by cycling from the first frame
    (:func:`~agreid_core.data.clips.all_frames_in_chunks`)."""
    index = torch.as_tensor(all_frames_in_chunks(frames.shape[0], clip_length))
    return frames[index.flatten()].reshape(*index.shape, *frames.shape[1:])


@torch.no_grad()
def extract_tracklet_outputs(
    model: nn.Module,
    frames: Sequence[Sequence[str]],
    camids: Sequence[int],
    inp: InputConfig,
    *,
    device: torch.device,
    keys: Sequence[str] = (EMBEDDING,),
    clip_length: int = 8,
    flip: bool = False,
    num_workers: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Tensor]:
    """The eval-mode outputs ``keys`` per tracklet, averaged over time (CPU, float32;
    :data:`ATTRIBUTE_LABELS` by majority vote over the clips or frames).

    A video model (``model.input_kind == "video"``) embeds the tracklet as consecutive
    ``clip_length``-frame clips (B, T, C, H, W) and the clip outputs are averaged; an
    image model embeds every frame and the frame outputs are averaged. ``flip`` adds the
    embedding of the mirrored input, as for images.
    """
    video = getattr(model, "input_kind", "image") == "video"
    dataset = _TrackletFrames(frames, camids, inp.height, inp.width)
    loader = DataLoader(
        dataset, batch_size=None, shuffle=False, num_workers=num_workers
    )  # one tracklet per item: lengths differ
    transform = build_test_transform(inp).to(device)
    was_training = model.training
    model.eval()
    out: dict[str, list[Tensor]] = {k: [] for k in keys}
    for clip_frames, cam, _ in loader:
        x = transform(clip_frames.to(device))
        if video:
            x = chunk_clips(x, clip_length)
        cams = torch.full((x.shape[0],), int(cam), dtype=torch.long, device=device)
        result = model(x, cams)
        for key in keys:
            if key not in result:
                raise KeyError(f"the model returned no {key!r} output (it has {sorted(result)})")
            value: Tensor = result[key]
            if key == EMBEDDING and flip:
                value = value + model(torch.flip(x, dims=[-1]), cams)[EMBEDDING]
            if key == ATTRIBUTE_LABELS:  # per-clip / per-frame predictions: majority vote
                out[key].append(value.mode(dim=0).values.cpu())
            else:
                out[key].append(value.float().mean(dim=0).cpu())
        if on_batch is not None:
            on_batch(1)
    model.train(was_training)
    if not frames:
        raise ValueError("no tracklets to embed")
    return {k: torch.stack(v) for k, v in out.items()}


def extract_tracklet_features(
    model: nn.Module,
    frames: Sequence[Sequence[str]],
    camids: Sequence[int],
    inp: InputConfig,
    *,
    device: torch.device,
    clip_length: int = 8,
    flip: bool = False,
    num_workers: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> Tensor:
    """One feature per tracklet by temporal average pooling over all of its frames
    (:func:`extract_tracklet_outputs` of the embedding); float32 (N, D) on the CPU."""
    return extract_tracklet_outputs(
        model,
        frames,
        camids,
        inp,
        device=device,
        clip_length=clip_length,
        flip=flip,
        num_workers=num_workers,
        on_batch=on_batch,
    )[EMBEDDING]
