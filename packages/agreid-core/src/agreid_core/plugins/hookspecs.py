"""Hook specifications of the ``agreid`` plugin system.

A plugin is a module (or object) exposed through the ``agreid`` entry-point group. It
implements any of the hooks below with ``@hookimpl``; each hook receives a ``register``
callback that takes ``(name, component)``. Example::

    from agreid_core.plugins import hookimpl

    @hookimpl
    def agreid_register_methods(register):
        register("my-method", MY_METHOD_SPEC)

Hooks are called with keyword arguments, so a future argument breaks no plugin.
Registering must stay cheap: import heavy libraries (timm, open_clip, faiss) inside the
factories, not at module import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "agreid"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[[str, Any], None]


@hookspec
def agreid_register_methods(register: Register) -> None:
    """Register method recipes (:class:`agreid_core.method.MethodSpec`) by name."""


@hookspec
def agreid_register_datasets(register: Register) -> None:
    """Register dataset loaders (:class:`agreid_core.data.dataset.DatasetSpec`) by name."""


@hookspec
def agreid_register_backbones(register: Register) -> None:
    """Register backbone factories (:class:`agreid_core.components.ComponentSpec`)."""


@hookspec
def agreid_register_heads(register: Register) -> None:
    """Register neck/head factories (:class:`agreid_core.components.ComponentSpec`)."""


@hookspec
def agreid_register_losses(register: Register) -> None:
    """Register loss factories (:class:`agreid_core.components.ComponentSpec`)."""


@hookspec
def agreid_register_samplers(register: Register) -> None:
    """Register batch-sampler factories (:class:`agreid_core.components.ComponentSpec`)."""


@hookspec
def agreid_register_augmentations(register: Register) -> None:
    """Register augmentation factories (:class:`agreid_core.components.ComponentSpec`)."""


@hookspec
def agreid_register_evaluators(register: Register) -> None:
    """Register protocol evaluators
    (:class:`agreid_core.evaluation.evaluators.ProtocolEvaluator`), named after the dataset
    they score or the subset of protocols they report."""
