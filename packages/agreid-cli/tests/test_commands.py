"""``agreid --version``, ``plugins``, ``list`` and name errors, in-process."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agreid_cli.app import app

runner = CliRunner()


def test_version_lists_every_installed_package() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    for pkg in (
        "agreid-core 0.1.0",
        "agreid-models 0.1.0",
        "agreid-losses 0.1.0",
        "agreid-cli 0.1.0",
    ):
        assert pkg in result.stdout


def test_plugins_json_shows_first_party_contributions() -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    by_name = {p["name"]: p for p in data["plugins"]}
    assert by_name["models"]["package"] == "agreid-models"
    assert "bot" in by_name["models"]["contributes"]["methods"]
    assert "embedded" in by_name["core"]["contributes"]["datasets"]


def test_list_methods_and_losses() -> None:
    result = runner.invoke(app, ["list", "methods"])
    assert result.exit_code == 0 and "bot" in result.stdout
    result = runner.invoke(app, ["list", "losses"])
    assert result.exit_code == 0 and "triplet" in result.stdout


def test_unknown_kind_and_method_suggest_close_matches() -> None:
    result = runner.invoke(app, ["list", "method"])
    assert result.exit_code == 2 and "Did you mean: methods" in result.output
    result = runner.invoke(app, ["run", "--method", "bott"])
    assert result.exit_code == 2
    assert "unknown method 'bott'" in result.output and "Did you mean: bot" in result.output


def test_unknown_profile_is_reported() -> None:
    result = runner.invoke(app, ["run", "--method", "bot", "--profile", "laptop"])
    assert result.exit_code == 2 and "unknown profile 'laptop'" in result.output


def test_image_method_on_video_data_is_refused_clearly(tmp_path: Path) -> None:
    from agreid_core.data.synth import SynthVideoConfig, generate_video_dataset

    tree = tmp_path / "video"
    generate_video_dataset(tree, SynthVideoConfig(num_ids=6, seed=0), workers=1)
    result = runner.invoke(
        app, ["run", "--data", str(tree), "--dataset", "agvpreid", "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert (
        "method 'bot' trains on image datasets, but 'agvpreid' is a video dataset" in result.output
    )


def test_video_method_runs_on_the_embedded_video_data_by_default(tmp_path: Path) -> None:
    import polars as pl

    out = tmp_path / "acp"
    # the client's example, shortened: no --data needed for a video method
    result = runner.invoke(
        app,
        [
            "run",
            "--method",
            "acp-vpreid",
            "--epochs",
            "2",
            "--set",
            "training.eval.plots=false",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    results = pl.read_csv(out / "results.csv")
    assert set(results["dataset"].to_list()) == {"embedded-video"}
    assert {"80 m", "120 m"} <= set(results["altitude"].to_list())


def test_bench_of_image_and_video_methods_needs_a_dataset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "--methods", "bot,tf-clip", "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert "mix image (bot) and video (tf-clip) methods" in result.output
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_run_config_file_is_read_and_bad_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "best.toml"
    bad.write_text("set = [")
    result = runner.invoke(app, ["run", "--method", "bot", "--config", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('set = ["training.optim.nope=1"]')
    result = runner.invoke(app, ["run", "--method", "bot", "--config", str(wrong), "--epochs", "1"])
    assert result.exit_code == 2
    assert "nope" in result.output
