"""Small value types shared by every agreid package."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import Tensor


class Platform(str, enum.Enum):
    """The kind of camera that took a sample."""

    AERIAL = "aerial"
    CCTV = "cctv"
    WEARABLE = "wearable"

    @property
    def is_ground(self) -> bool:
        """CCTV and wearable cameras are both ground views."""
        return self is not Platform.AERIAL


@dataclass(frozen=True)
class LossResult:
    """A loss value with its named parts, for logging.

    ``total`` is the scalar that is back-propagated; ``parts`` maps a part name to its
    (already weighted) scalar contribution, so ``sum(parts.values()) == total``.
    """

    total: Tensor
    parts: Mapping[str, Tensor] = field(default_factory=dict)
