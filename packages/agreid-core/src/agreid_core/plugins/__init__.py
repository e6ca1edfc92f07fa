"""The plugin host: pluggy hookspecs, guarded entry-point loading and named registries."""

from agreid_core.plugins.hookspecs import hookimpl, hookspec
from agreid_core.plugins.host import PluginHost, PluginInfo, get_host
from agreid_core.plugins.registry import KINDS, Registry, UnknownNameError

__all__ = [
    "KINDS",
    "PluginHost",
    "PluginInfo",
    "Registry",
    "UnknownNameError",
    "get_host",
    "hookimpl",
    "hookspec",
]
