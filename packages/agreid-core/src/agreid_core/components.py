"""What a plugin registers for backbones, heads, losses, samplers, augmentations, evaluators."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ComponentSpec:
    """A named factory plus what a reader (and the conformance checks) need to know.

    ``factory(**kwargs)`` builds the component. ``tiny`` holds keyword arguments that build
    a small instance for tests and CPU profiles (backbones must provide it).
    """

    factory: Callable[..., Any]
    summary: str
    tiny: Mapping[str, Any] = field(default_factory=dict)
    reference: str = ""

    def build(self, **kwargs: Any) -> Any:
        """Call the factory."""
        return self.factory(**kwargs)
