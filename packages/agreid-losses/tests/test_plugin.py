"""The agreid-losses plugin: every name registers, builds from ``tiny`` and trains."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

import agreid_losses
import agreid_losses.plugin
from agreid_core.components import ComponentSpec
from agreid_core.plugins.host import PluginHost

NAMES = [
    "cross-entropy-ls",
    "triplet",
    "soft-triplet",
    "center",
    "circle-pairwise",
    "circle-softmax",
    "arcface",
    "cosface",
    "centroid-triplet",
    "asl-single",
    "asl-multi",
    "attribute-bce",
    "online-label-smoothing",
    "bento-class-proxy",
    "bento-camera-proxy",
    "camera-softmax-triplet",
    "video-memory-contrast",
    "image-text",
]

# What each loss consumes: logits (B, 4) + labels, features (B, 8) + labels, or multi-label
# logits (B, 5) + 0/1 targets (attribute targets also contain −1 = unknown).
INPUT_KIND = {
    "cross-entropy-ls": "logits",
    "asl-single": "logits",
    "asl-multi": "multilabel",
    "attribute-bce": "attributes",
    "online-label-smoothing": "logits",
}

# Losses that take the batch's cameras (LossTerm extra_targets=("camids",)).
CAMERA_AWARE = {"bento-camera-proxy", "camera-softmax-triplet"}
CAMIDS = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])


def _prepare(module: nn.Module, g: torch.Generator) -> None:
    """Run the hooks a trainer runs before the first forward (proxy / memory / text losses)."""
    refresh = getattr(module, "refresh_from_features", None)
    if refresh is not None:
        labels = torch.arange(4).repeat(4)
        refresh(torch.randn(16, 8, generator=g), labels, torch.arange(2).repeat_interleave(8))
    set_text = getattr(module, "set_text_features", None)
    if set_text is not None:
        set_text(torch.randn(4, 8, generator=g))


def _inputs(name: str, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])  # P4 × K2
    kind = INPUT_KIND.get(name, "features")
    if kind == "logits":
        return torch.randn(8, 4, generator=g), labels
    if kind == "features":
        return torch.randn(8, 8, generator=g), labels
    targets = torch.randint(0, 2, (8, 5), generator=g)
    if kind == "attributes":
        targets[0, 0] = -1
    return torch.randn(8, 5, generator=g), targets


@pytest.fixture(scope="module")
def host() -> PluginHost:
    h = PluginHost()
    info = h.register(agreid_losses.plugin, name="losses-test")
    assert info.status == "ok", info.error
    return h


def test_every_name_registered(host: PluginHost) -> None:
    losses = host.components("losses")
    assert sorted(NAMES) == losses.names()
    for name in NAMES:
        assert losses.entry(name).plugin == "losses-test"
    assert host.plugins["losses-test"].contributions == {"losses": sorted(NAMES)}
    assert host.clashes == []


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_documented(host: PluginHost, name: str) -> None:
    spec = host.components("losses").get(name)
    assert isinstance(spec, ComponentSpec)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
    assert spec.summary and "\n" not in spec.summary
    assert spec.reference


@pytest.mark.parametrize("name", NAMES)
def test_tiny_instance_trains(host: PluginHost, name: str) -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    module = host.components("losses").get(name).build(**host.components("losses").get(name).tiny)
    assert isinstance(module, nn.Module)
    _prepare(module, g)
    inputs, targets = _inputs(name, g)
    inputs.requires_grad_()
    extra = {"camids": CAMIDS} if name in CAMERA_AWARE else {}
    out = module(inputs, targets, **extra)
    assert isinstance(out, torch.Tensor) and out.dim() == 0
    assert torch.isfinite(out)
    torch.autograd.backward(out)
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()
    assert inputs.grad.abs().sum() > 0
    for p in module.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()


def test_soft_triplet_factory_is_soft(host: PluginHost) -> None:
    module = host.components("losses").get("soft-triplet").build()
    assert isinstance(module, agreid_losses.TripletLoss) and module.soft


def test_exports() -> None:
    assert agreid_losses.__version__ == "0.1.0"
    for name in agreid_losses.__all__:
        assert hasattr(agreid_losses, name)


def test_plugin_import_pulls_only_torch_and_agreid_core() -> None:
    code = textwrap.dedent(
        """
        import sys
        before = set(sys.modules)
        import agreid_losses.plugin
        new = {m.split(".")[0] for m in set(sys.modules) - before}
        extra = sorted(new - set(sys.stdlib_module_names) - {"torch", "agreid_core", "agreid_losses"})
        print(",".join(extra))
        """
    )
    pre = "import torch, agreid_core.components, agreid_core.plugins.hookspecs\n"
    # With torch and agreid_core already loaded, the plugin adds nothing but itself.
    res = subprocess.run(
        [sys.executable, "-c", pre + code], capture_output=True, text=True, check=True
    )
    assert res.stdout.strip() == ""
