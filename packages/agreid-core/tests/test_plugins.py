"""The plugin host: registration, clashes, guarded loading, disabling, error hints."""

from __future__ import annotations

import sys
import types
from importlib import metadata
from typing import Any

import pytest

from agreid_core.components import ComponentSpec
from agreid_core.plugins import PluginHost, UnknownNameError, hookimpl
from agreid_core.plugins.hookspecs import Register


def _loss_spec(summary: str) -> ComponentSpec:
    return ComponentSpec(lambda: None, summary)


class GoodPlugin:
    @hookimpl
    def agreid_register_losses(self, register: Register) -> None:
        register("my-loss", _loss_spec("mine"))
        register("other-loss", _loss_spec("other"))


class ClashingPlugin:
    @hookimpl
    def agreid_register_losses(self, register: Register) -> None:
        register("my-loss", _loss_spec("impostor"))
        register("third-loss", _loss_spec("third"))


class RaisingPlugin:
    @hookimpl
    def agreid_register_losses(self, register: Register) -> None:
        register("half-done", _loss_spec("registered before the failure"))
        raise RuntimeError("boom")


class MisspelledPlugin:
    @hookimpl
    def agreid_register_loses(self, register: Register) -> None:  # typo on purpose
        register("x", _loss_spec("x"))


def test_register_records_contributions() -> None:
    host = PluginHost()
    info = host.register(GoodPlugin(), name="good")
    assert info.status == "ok"
    assert info.contributions == {"losses": ["my-loss", "other-loss"]}
    assert host.components("losses").get("my-loss").summary == "mine"
    assert host.components("losses").entry("other-loss").plugin == "good"


def test_name_clash_keeps_first_and_reports() -> None:
    host = PluginHost()
    host.register(GoodPlugin(), name="good")
    info = host.register(ClashingPlugin(), name="clash")
    assert host.components("losses").get("my-loss").summary == "mine"
    assert info.contributions == {"losses": ["third-loss"]}
    [clash] = host.clashes
    assert (clash.kind, clash.name, clash.kept_plugin, clash.rejected_plugin) == (
        "losses",
        "my-loss",
        "good",
        "clash",
    )


def test_hook_that_raises_is_recorded_and_rolled_back() -> None:
    host = PluginHost()
    info = host.register(RaisingPlugin(), name="raiser")
    assert info.status == "error"
    assert "RuntimeError: boom" in (info.error or "")
    assert "half-done" not in host.components("losses")


def test_unknown_hook_name_is_an_error() -> None:
    host = PluginHost()
    info = host.register(MisspelledPlugin(), name="typo")
    assert info.status == "error"
    assert "agreid_register_loses" in (info.error or "")


def test_unregister_removes_everything() -> None:
    host = PluginHost()
    host.register(GoodPlugin(), name="good")
    host.unregister("good")
    assert len(host.components("losses")) == 0
    assert "good" not in host.plugins


def test_unknown_name_lists_close_matches_and_broken_plugins() -> None:
    host = PluginHost()
    host.register(GoodPlugin(), name="good")
    host.register(RaisingPlugin(), name="raiser")
    with pytest.raises(UnknownNameError) as exc:
        host.components("losses").get("my-los", host.failed_hint())
    text = str(exc.value)
    assert "unknown loss 'my-los'" in text
    assert "Did you mean: my-loss" in text
    assert "raiser" in text


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, eps: list[metadata.EntryPoint]) -> None:
    def fake(group: str | None = None, **_: Any) -> list[metadata.EntryPoint]:
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(metadata, "entry_points", fake)


def test_entry_point_loading_is_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    good = types.ModuleType("agreid_fake_good")

    @hookimpl
    def agreid_register_losses(register: Register) -> None:
        register("fake-loss", _loss_spec("fake"))

    good.agreid_register_losses = agreid_register_losses  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agreid_fake_good", good)
    eps = [
        metadata.EntryPoint("fake-good", "agreid_fake_good", "agreid"),
        metadata.EntryPoint("fake-broken", "agreid_module_that_does_not_exist", "agreid"),
        metadata.EntryPoint("not-ours", "agreid_fake_good", "other-group"),
    ]
    _fake_entry_points(monkeypatch, eps)
    host = PluginHost()
    host.load_entry_points()
    assert set(host.plugins) == {"fake-good", "fake-broken"}
    assert host.plugins["fake-good"].status == "ok"
    broken = host.plugins["fake-broken"]
    assert broken.status == "error"
    assert "ModuleNotFoundError" in (broken.error or "")
    assert "fake-loss" in host.components("losses")


def test_disable_env_skips_named_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [metadata.EntryPoint("fake-broken", "agreid_module_that_does_not_exist", "agreid")]
    _fake_entry_points(monkeypatch, eps)
    monkeypatch.setenv("AGREID_DISABLE_PLUGINS", " fake-broken , something-else")
    host = PluginHost()
    host.load_entry_points()
    assert host.plugins["fake-broken"].status == "disabled"
    assert host.failed_hint() == ""


def test_installed_first_party_plugins_load_and_stay_lazy() -> None:
    import subprocess

    code = (
        "import sys\n"
        "from agreid_core.plugins.host import get_host\n"
        "h = get_host()\n"
        "bad = [p for p in h.plugins.values() if p.status != 'ok' and p.package.startswith('agreid-')"
        " and p.package not in ('agreid-broken-plugin',)]\n"
        "assert not bad, bad\n"
        "assert 'bot' in h.methods and 'embedded' in h.datasets and 'triplet' in h.components('losses')\n"
        "heavy = [m for m in ('timm', 'open_clip', 'faiss') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
