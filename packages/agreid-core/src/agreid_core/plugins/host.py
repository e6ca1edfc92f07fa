"""The plugin host: finds ``agreid`` entry points, loads each one guarded, fills registries.

Loading follows the find → load → record pattern: every entry point is imported on its own;
one that fails is recorded with its package, version and error (shown by ``agreid plugins``)
and only a command that asks for one of its names fails. ``AGREID_DISABLE_PLUGINS`` (comma
separated entry-point names) skips named plugins, e.g. to recover from a broken one.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from agreid_core.plugins import hookspecs
from agreid_core.plugins.registry import KINDS, Clash, Registry

if TYPE_CHECKING:
    from agreid_core.components import ComponentSpec
    from agreid_core.data.dataset import DatasetSpec
    from agreid_core.evaluation.evaluators import ProtocolEvaluator
    from agreid_core.method import MethodSpec

ENTRY_POINT_GROUP = "agreid"
DISABLE_ENV = "AGREID_DISABLE_PLUGINS"

Status = Literal["ok", "error", "disabled"]


@dataclass
class PluginInfo:
    """What the host knows about one plugin: where it came from and what it gave."""

    name: str
    package: str
    version: str
    target: str
    status: Status = "ok"
    error: str | None = None
    contributions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """``methods: bot; losses: triplet, …`` — one line of contributions."""
        parts = [f"{k}: {', '.join(v)}" for k, v in self.contributions.items() if v]
        return "; ".join(parts)


def _disabled_names() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {n.strip() for n in raw.split(",") if n.strip()}


class PluginHost:
    """Holds the pluggy manager, the plugin records and one registry per component kind."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.registries: dict[str, Registry[Any]] = {kind: Registry(kind) for kind in KINDS}

    # -- typed views -------------------------------------------------------------------
    @property
    def methods(self) -> Registry[MethodSpec[Any]]:
        """Registered method recipes."""
        return self.registries["methods"]

    @property
    def datasets(self) -> Registry[DatasetSpec]:
        """Registered dataset loaders."""
        return self.registries["datasets"]

    @property
    def evaluators(self) -> Registry[ProtocolEvaluator]:
        """Registered protocol evaluators."""
        return self.registries["evaluators"]

    def components(self, kind: str) -> Registry[ComponentSpec]:
        """Registered components of ``kind`` (backbones, heads, losses, samplers, …)."""
        if kind not in self.registries:
            raise KeyError(f"unknown component kind {kind!r}; known: {', '.join(KINDS)}")
        return self.registries[kind]

    @property
    def clashes(self) -> list[Clash]:
        """Every name that two plugins tried to register."""
        return [c for reg in self.registries.values() for c in reg.clashes]

    def failed_hint(self) -> str:
        """A sentence naming plugins that failed to load, for 'unknown name' errors."""
        bad = [p for p in self.plugins.values() if p.status == "error"]
        if not bad:
            return ""
        names = ", ".join(f"{p.name} ({p.package})" for p in bad)
        return f"Plugins that failed to load (see `agreid plugins`): {names}."

    # -- loading -----------------------------------------------------------------------
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Load every entry point of ``group``, each guarded; first-party ones first."""
        disabled = _disabled_names()
        eps = sorted(
            metadata.entry_points(group=group),
            key=lambda ep: (not _dist_name(ep).startswith("agreid-"), ep.name),
        )
        for ep in eps:
            package = _dist_name(ep)
            version = ep.dist.version if ep.dist is not None else "?"
            if ep.name in self.plugins:
                continue
            info = PluginInfo(ep.name, package, version, ep.value)
            if ep.name in disabled:
                info.status = "disabled"
                self.plugins[ep.name] = info
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not stop the host
                info.status, info.error = "error", _format_error(exc)
                self.plugins[ep.name] = info
                continue
            self._add(obj, info)

    def register(
        self, plugin: object, name: str, package: str = "(local)", version: str = "0"
    ) -> PluginInfo:
        """Register an in-process plugin object (tests, notebooks); returns its record."""
        info = PluginInfo(name, package, version, repr(plugin))
        self._add(plugin, info)
        return info

    def unregister(self, name: str) -> None:
        """Remove a plugin and everything it registered."""
        info = self.plugins.pop(name, None)
        if info is None:
            return
        for reg in self.registries.values():
            reg.remove_plugin(name)
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)

    def _add(self, obj: object, info: PluginInfo) -> None:
        self.plugins[info.name] = info
        try:
            unknown = [
                attr
                for attr in dir(obj)
                if attr.startswith("agreid_")
                and attr not in KINDS.values()
                and self.pm.parse_hookimpl_opts(obj, attr) is not None
            ]
            if unknown:
                raise TypeError(f"implements unknown hook(s): {', '.join(unknown)}")
            self.pm.register(obj, name=info.name)
        except Exception as exc:
            info.status, info.error = "error", _format_error(exc)
            return
        for kind, hook_name in KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                if impl.plugin_name != info.name:
                    continue
                added: list[str] = []

                def register(
                    name: str, value: Any, _kind: str = kind, _a: list[str] = added
                ) -> None:
                    if self.registries[_kind].add(name, value, info.name):
                        _a.append(name)

                try:
                    impl.function(register=register)
                except Exception as exc:
                    info.status = "error"
                    info.error = f"{hook_name} raised {_format_error(exc)}"
                    for reg in self.registries.values():
                        reg.remove_plugin(info.name)
                    info.contributions.clear()
                    return
                if added:
                    info.contributions[kind] = sorted(added)


def _dist_name(ep: metadata.EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "?"


def _format_error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


_HOST: PluginHost | None = None


def get_host(reload: bool = False) -> PluginHost:
    """The process-wide host, loading installed entry points on first use."""
    global _HOST
    if _HOST is None or reload:
        _HOST = PluginHost()
        _HOST.load_entry_points()
    return _HOST
