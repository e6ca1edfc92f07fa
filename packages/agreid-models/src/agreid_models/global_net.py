"""Backbone → pooling → neck: the global-feature ReID network shared by the CNN baselines."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from agreid_core.method import EMBEDDING


class GlobalFeatureNet(nn.Module):
    """A ReID network producing one global feature per image.

    ``forward(images, camids)`` returns the neck's outputs plus ``embedding``: the neck
    feature (``embedding_from="neck"``, fast-reid's default) or the pooled feature. With
    ``camera_aware`` the camera ids are passed on to the backbone (a ViT with SIE).
    """

    def __init__(
        self,
        backbone: nn.Module,
        pool: nn.Module,
        neck: nn.Module,
        embedding_from: Literal["neck", "pooled"] = "neck",
        camera_aware: bool = False,
    ) -> None:
        super().__init__()
        self.backbone, self.pool, self.neck = backbone, pool, neck
        self.embedding_from = embedding_from
        self.camera_aware = camera_aware

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids reach only a ``camera_aware`` backbone)."""
        fmap = self.backbone(images, camids) if self.camera_aware else self.backbone(images)
        pooled = self.pool(fmap)
        out: dict[str, Tensor] = dict(self.neck(pooled))
        out[EMBEDDING] = out["neck_features"] if self.embedding_from == "neck" else out["features"]
        return out
