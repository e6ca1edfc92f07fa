"""Named registries, one per component kind, that report clashes instead of overwriting."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: Component kinds, in the order the CLI lists them, mapped to their hook names.
KINDS: dict[str, str] = {
    "methods": "agreid_register_methods",
    "datasets": "agreid_register_datasets",
    "backbones": "agreid_register_backbones",
    "heads": "agreid_register_heads",
    "losses": "agreid_register_losses",
    "samplers": "agreid_register_samplers",
    "augmentations": "agreid_register_augmentations",
    "evaluators": "agreid_register_evaluators",
}


class UnknownNameError(KeyError):
    """A name that no plugin registered; the message lists close matches."""

    def __init__(self, kind: str, name: str, known: list[str], hint: str = "") -> None:
        self.kind, self.name, self.known = kind, name, known
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        singular = "loss" if kind == "losses" else kind.removesuffix("s")
        msg = f"unknown {singular} {name!r}."
        if close:
            msg += f" Did you mean: {', '.join(close)}?"
        msg += f" Known {kind}: {', '.join(sorted(known)) or '(none)'}."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered component and the plugin that contributed it."""

    name: str
    value: T
    plugin: str


@dataclass(frozen=True)
class Clash:
    """Two plugins registered the same name for the same kind; the first one is kept."""

    kind: str
    name: str
    kept_plugin: str
    rejected_plugin: str


class Registry(Generic[T]):
    """A name → component mapping for one kind of component."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self.clashes: list[Clash] = []

    def add(self, name: str, value: T, plugin: str) -> bool:
        """Add ``value`` under ``name``; returns False (and records a clash) if taken."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"plugin {plugin!r} registered a {self.kind} with an empty name")
        existing = self._entries.get(name)
        if existing is not None:
            self.clashes.append(Clash(self.kind, name, existing.plugin, plugin))
            return False
        self._entries[name] = Entry(name, value, plugin)
        return True

    def remove_plugin(self, plugin: str) -> None:
        """Forget everything ``plugin`` registered."""
        self._entries = {k: e for k, e in self._entries.items() if e.plugin != plugin}

    def entry(self, name: str, hint: str = "") -> Entry[T]:
        """The entry called ``name``, or :class:`UnknownNameError` with close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._entries), hint) from None

    def get(self, name: str, hint: str = "") -> T:
        """The component called ``name``."""
        return self.entry(name, hint).value

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)
