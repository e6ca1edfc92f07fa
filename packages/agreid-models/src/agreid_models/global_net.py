"""Backbone → pooling → neck: the global-feature ReID network shared by the CNN baselines."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from agreid_core.method import EMBEDDING


class GlobalFeatureNet(nn.Module):
    """A ReID network producing one global feature per image.

    ``forward(images, camids)`` returns the neck's outputs plus ``embedding``: the neck
    feature (``embedding_from="neck"``, fast-reid's default) or the pooled feature.
    """

    def __init__(
        self,
        backbone: nn.Module,
        pool: nn.Module,
        neck: nn.Module,
        embedding_from: Literal["neck", "pooled"] = "neck",
    ) -> None:
        super().__init__()
        self.backbone, self.pool, self.neck = backbone, pool, neck
        self.embedding_from = embedding_from

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        """Named outputs for ``images`` (camera ids are unused by this network)."""
        pooled = self.pool(self.backbone(images))
        out: dict[str, Tensor] = dict(self.neck(pooled))
        out[EMBEDDING] = out["neck_features"] if self.embedding_from == "neck" else out["features"]
        return out
