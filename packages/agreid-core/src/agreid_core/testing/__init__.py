"""Conformance checks a plugin author runs in their own tests.

Example (in a plugin's test suite)::

    from agreid_core.testing import check_plugin, check_method

    def test_plugin_loads():
        host = check_plugin(my_plugin_module, name="my-plugin")
        check_method(host.methods.get("my-method"), profile="cpu")

Each check raises ``AssertionError`` with a message that says what to fix.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from agreid_core.components import ComponentSpec
from agreid_core.method import EMBEDDING, Criterion, DataInfo, MethodSpec, Recipe
from agreid_core.plugins.host import PluginHost


def check_plugin(plugin: object, name: str = "plugin-under-test") -> PluginHost:
    """Register ``plugin`` on a fresh host; assert it loads and contributes something."""
    host = PluginHost()
    info = host.register(plugin, name=name)
    assert info.status == "ok", f"plugin {name!r} failed to register: {info.error}"
    assert info.contributions, (
        f"plugin {name!r} implements no agreid_register_* hook that registers anything"
    )
    assert not host.clashes, f"plugin {name!r} registered a name twice: {host.clashes}"
    return host


def check_loss(spec: ComponentSpec, inputs: Tensor, targets: Tensor) -> Tensor:
    """Build the loss from ``spec.tiny``; assert a finite scalar with gradients w.r.t. inputs."""
    loss = spec.build(**spec.tiny)
    assert isinstance(loss, nn.Module), (
        f"loss factory returned {type(loss).__name__}, expected nn.Module"
    )
    x = inputs.detach().clone().requires_grad_(True)
    value = loss(x, targets)
    assert isinstance(value, Tensor) and value.ndim == 0, "a loss must return a 0-dim tensor"
    assert torch.isfinite(value), f"loss is not finite: {value}"
    value.backward()  # type: ignore[no-untyped-call]
    assert x.grad is not None and torch.isfinite(x.grad).all(), (
        "loss gradient is missing or not finite"
    )
    return value.detach()


def check_backbone(spec: ComponentSpec, input_size: tuple[int, int] = (64, 32)) -> nn.Module:
    """Build the backbone from ``spec.tiny``; assert ``feature_dim`` matches its output."""
    model = spec.build(**spec.tiny)
    dim = getattr(model, "feature_dim", None)
    assert isinstance(dim, int) and dim > 0, "a backbone must expose an int `feature_dim`"
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, *input_size))
    assert out.shape[0] == 2 and out.shape[1] == dim, (
        f"backbone output {tuple(out.shape)} does not have feature_dim={dim} channels"
    )
    return model  # type: ignore[no-any-return]


def _refresh_memories(recipe: Recipe, images: Tensor, pids: Tensor, camids: Tensor) -> None:
    """Fill feature memories (proxies, identity memories) from the toy batch, as the trainer
    does at every epoch start."""
    hooks = [
        m
        for term in recipe.losses
        for m in term.loss.modules()
        if callable(getattr(m, "refresh_from_features", None))
    ]
    if not hooks:
        return
    recipe.model.eval()
    with torch.no_grad():
        outputs = recipe.model(images, camids)
    for m in hooks:
        key = str(getattr(m, "feature_key", "features"))
        m.refresh_from_features(outputs[key], pids, camids)  # type: ignore[operator]


def check_method(
    spec: MethodSpec[Any], profile: str = "cpu", num_classes: int = 4, batch_per_class: int = 2
) -> Recipe:
    """Build ``spec``'s ``profile`` for a toy problem; run one train and one eval forward.

    Loss memories (``refresh_from_features``) are filled from the toy batch first, and video
    methods get (B, T, C, H, W) clips. Asserts the profiles ``cpu`` and ``paper`` exist, the
    model returns every output the loss terms need, the loss is finite with gradients, and
    eval mode returns ``embedding`` of shape (B, D).
    """
    missing = {"cpu", "paper"} - set(spec.profiles)
    assert not missing, f"method is missing profile(s): {sorted(missing)}"
    cfg = spec.config(profile)
    recipe = spec.build(cfg, DataInfo(num_classes=num_classes, num_cameras=2, num_train_samples=32))
    inp = cfg.training.input
    batch = num_classes * batch_per_class
    frames = (cfg.training.sampler.clip_length,) if spec.kind == "video" else ()
    images = torch.randn(batch, *frames, 3, inp.height, inp.width)
    pids = torch.arange(num_classes).repeat_interleave(batch_per_class)
    camids = torch.arange(batch) % 2
    _refresh_memories(recipe, images, pids, camids)
    recipe.model.train()
    outputs = recipe.model(images, camids)
    result = Criterion(recipe.losses)(outputs, {"pids": pids, "camids": camids})
    assert torch.isfinite(result.total), f"non-finite loss on a toy batch: {dict(result.parts)}"
    result.total.backward()
    grads = [p.grad for p in recipe.model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), (
        "no parameter received a gradient"
    )
    recipe.model.eval()
    with torch.no_grad():
        emb = recipe.model(images, camids)[EMBEDDING]
    assert emb.ndim == 2 and emb.shape[0] == batch, f"eval embedding has shape {tuple(emb.shape)}"
    return recipe
