"""Camera id → view (platform) id for the view-aware ACP-VPReID modules.

The trainer passes only ``camids`` to the model, so the view of a clip is derived from its
camera. The mapping is a method-config field (``"camid:view"`` pairs); the default follows
the AG-VPReID README camera codes used by the dataset plugin
(:data:`agreid_core.data.datasets.agvpreid.README_CAMERAS`): C0/C1 CCTV, C2/C3 wearable,
C4/C5 UAV. Those codes are UNCERTAIN for the real release (an issue comment says
"CCTVx2/GoProx2/UAVx2"); the embedded synthetic video data writes C0/C1 for CCTV and C4/C5
for UAV, which this default reads correctly. Cameras missing from the mapping get
``default_view``; after :func:`agreid_core.data.merge.merge_datasets` the merged camids of a
later source are offset, so pass their views explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from agreid_video.modules.views import VIEWS

#: AG-VPReID README camera codes (UNCERTAIN, see the module docstring).
AGVPREID_CAMERA_VIEWS: tuple[str, ...] = (
    "0:cctv",
    "1:cctv",
    "2:wearable",
    "3:wearable",
    "4:aerial",
    "5:aerial",
)


def parse_camera_views(pairs: Sequence[str]) -> dict[int, int]:
    """``("0:cctv", "4:aerial")`` → ``{0: 1, 4: 0}`` (view ids in :data:`VIEWS` order)."""
    out: dict[int, int] = {}
    for pair in pairs:
        cam, sep, view = pair.partition(":")
        if not sep or view.strip() not in VIEWS:
            raise ValueError(f"expected 'camid:view' with view in {VIEWS}, got {pair!r}")
        out[int(cam)] = VIEWS.index(view.strip())
    return out


def camera_view_table(pairs: Sequence[str], num_cameras: int, default_view: str) -> Tensor:
    """A (num_cameras,) long tensor: the view id of every camera id."""
    if default_view not in VIEWS:
        raise ValueError(f"default_view must be one of {VIEWS}, got {default_view!r}")
    mapping = parse_camera_views(pairs)
    table = torch.full((max(num_cameras, 1),), VIEWS.index(default_view), dtype=torch.long)
    for cam, view in mapping.items():
        if 0 <= cam < table.shape[0]:
            table[cam] = view
    return table
