"""View (platform) ids shared by the ACP-VPReID modules.

AG-VPReID has three platforms; the dataset plugin's platform table maps camera ids to them.
"""

from __future__ import annotations

from torch import Tensor

VIEWS: tuple[str, ...] = ("aerial", "cctv", "wearable")
"""View names in id order: 0 aerial (UAV), 1 ground CCTV, 2 wearable (body camera)."""


def check_views(views: Tensor, batch: int, num_views: int) -> Tensor:
    """Validate a (B,) integer view-id tensor and return it as ``long``."""
    if views.shape != (batch,):
        raise ValueError(f"views must have shape ({batch},), got {tuple(views.shape)}")
    views = views.long()
    if batch and (int(views.min()) < 0 or int(views.max()) >= num_views):
        raise ValueError(f"view ids must be in [0, {num_views}), got {views.tolist()}")
    return views
