"""A third-party plugin installed with pip is discovered, listed and runnable; a broken one
is reported without stopping anything else."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from .conftest import agreid


def test_installed_plugins_are_listed_with_package_version_and_errors(
    installed_example_plugins: dict[str, Path],
) -> None:
    result = agreid("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    toy = plugins["toy"]
    assert (toy["package"], toy["version"], toy["status"]) == ("agreid-toy-method", "0.3.1", "ok")
    assert toy["contributes"] == {"methods": ["toy-cnn"]}
    broken = plugins["broken"]
    assert (broken["package"], broken["status"]) == ("agreid-broken-plugin", "error")
    assert "agreid_this_dependency_does_not_exist" in broken["error"]
    table = agreid("plugins")
    assert (
        table.returncode == 0 and "agreid-broken-plugin" in table.stdout and "error" in table.stdout
    )


def test_broken_plugin_does_not_stop_other_commands(
    installed_example_plugins: dict[str, Path],
) -> None:
    result = agreid("list", "methods")
    assert result.returncode == 0, result.stderr
    assert "toy-cnn" in result.stdout and "bot" in result.stdout


def test_missing_name_mentions_the_broken_plugin(
    installed_example_plugins: dict[str, Path],
) -> None:
    result = agreid("run", "--method", "broken-method")
    assert result.returncode == 2
    assert "unknown method 'broken-method'" in result.stderr
    assert "broken (agreid-broken-plugin)" in result.stderr


def test_disabling_a_plugin_by_environment(installed_example_plugins: dict[str, Path]) -> None:
    result = agreid("plugins", "--json", env={"AGREID_DISABLE_PLUGINS": "broken,toy"})
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["broken"]["status"] == plugins["toy"]["status"] == "disabled"
    assert "toy-cnn" not in agreid("list", "methods", env={"AGREID_DISABLE_PLUGINS": "toy"}).stdout


def test_third_party_method_runs_end_to_end(
    installed_example_plugins: dict[str, Path], small_synthetic_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = agreid(
        "run",
        "--method",
        "toy-cnn",
        "--data",
        str(small_synthetic_tree),
        "--output",
        str(out),
        "--epochs",
        "2",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    results = pl.read_csv(out / "results.csv")
    assert results["protocol"].to_list() == ["A→G", "G→A", "overall"]
    assert results["method"].unique().to_list() == ["toy-cnn"]
    assert ((results["R1"] >= 0) & (results["R1"] <= 100)).all()
    config = json.loads((out / "config.json").read_text())
    assert config["plugins"]["toy"]["package"] == "agreid-toy-method"
    assert config["config"]["training"]["schedule"]["epochs"] == 2
    assert (out / "model.safetensors").is_file()
    log = (out / "train_log.jsonl").read_text().splitlines()
    assert log and json.loads(log[-1])["epoch"] == 1
    # what a person reads: CMC curves, ranked lists, the challenge submission
    cmc = pl.read_csv(out / "cmc.csv")
    assert set(cmc["protocol"].to_list()) == {"A→G", "G→A"}
    for name in ("cmc.png", "ranked_list_a2g.png", "ranked_list_g2a.png"):
        with Image.open(out / name) as img:
            img.load()
            assert img.width > 100 and img.height > 100
    submission = pl.read_csv(out / "submission_agreid2023.csv")
    assert submission.columns == ["image_id", "person_id"]
    assert submission.height == results.filter(pl.col("protocol") == "overall")["queries"][0]


def test_bench_prints_and_saves_a_leaderboard(
    installed_example_plugins: dict[str, Path], small_synthetic_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench"
    result = agreid(
        "bench",
        "--methods",
        "toy-cnn",
        "--data",
        str(small_synthetic_tree),
        "--output",
        str(out),
        "--epochs",
        "1",
        "--rerank",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "leaderboard" in result.stdout
    board = pl.read_csv(out / "leaderboard.csv")
    assert board["method"].to_list() == ["toy-cnn"]
    for col in ("A→G R1", "A→G mAP", "G→A R1", "overall R1", "overall mAP"):
        assert col in board.columns, board.columns
    assert board["train img/s"][0] > 0 and board["infer items/s"][0] > 0
    runs = pl.read_csv(out / "toy-cnn" / "results.csv")
    assert runs["eval"][0].startswith("cosine,rerank(")
    overall = runs.filter(pl.col("protocol") == "overall").row(0, named=True)
    assert board["overall R1"][0] == pytest.approx(overall["R1"])


def test_bench_rejects_unknown_methods_before_training(
    installed_example_plugins: dict[str, Path], tmp_path: Path
) -> None:
    result = agreid("bench", "--methods", "toy-cnn,no-such-method", "--output", str(tmp_path))
    assert result.returncode == 2
    assert "no-such-method" in result.stderr
    assert not (tmp_path / "toy-cnn").exists()


def test_bench_ablation_reevaluates_eval_only_flags(
    installed_example_plugins: dict[str, Path], small_synthetic_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ablation"
    result = agreid(
        "bench",
        "--methods",
        "toy-cnn",
        "--data",
        str(small_synthetic_tree),
        "--output",
        str(out),
        "--epochs",
        "1",
        "--ablate",
        "training.eval.flip",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    board = pl.read_csv(out / "leaderboard.csv")
    assert board["method"].to_list() == ["toy-cnn", "toy-cnn [flip=on]"]
    assert "re-evaluating the base run's weights" in result.stdout
    assert board["train s"][1] is None  # not retrained: nothing measured
    flipped = pl.read_csv(out / "toy-cnn_flip_on" / "results.csv")
    assert flipped["eval"][0] == "cosine,flip"
    base = (out / "toy-cnn" / "model.safetensors").read_bytes()
    assert (out / "toy-cnn_flip_on" / "model.safetensors").read_bytes() == base


def test_bench_resume_keeps_finished_runs_and_refuses_other_settings(
    installed_example_plugins: dict[str, Path], small_synthetic_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench"
    common = ["bench", "--methods", "toy-cnn", "--data", str(small_synthetic_tree)]
    first = agreid(*common, "--output", str(out), "--epochs", "1")
    assert first.returncode == 0, first.stderr + first.stdout
    weights = (out / "toy-cnn" / "model.safetensors").read_bytes()
    before = pl.read_csv(out / "leaderboard.csv")
    assert before["train s"][0] > 0
    # an interrupted bench is continued: the finished run is reloaded, not retrained
    again = agreid(*common, "--output", str(out), "--epochs", "1", "--resume")
    assert again.returncode == 0, again.stderr + again.stdout
    after = pl.read_csv(out / "leaderboard.csv")
    assert after["train s"][0] is None
    assert after["overall R1"][0] == pytest.approx(before["overall R1"][0])
    assert (out / "toy-cnn" / "model.safetensors").read_bytes() == weights
    # other settings in the same folder would mix two experiments: refused before training
    other = agreid(*common, "--output", str(out), "--epochs", "2", "--resume")
    assert other.returncode == 2
    assert "toy-cnn" in other.stderr and "epochs 1 (asked: 2)" in other.stderr
    assert (out / "toy-cnn" / "model.safetensors").read_bytes() == weights
    no_folder = agreid(*common, "--resume")
    assert no_folder.returncode == 2 and "--resume needs --output" in no_folder.stderr


def test_bench_ablate_needs_a_boolean_field(installed_example_plugins: dict[str, Path]) -> None:
    result = agreid("bench", "--methods", "toy-cnn", "--ablate", "training.optim.lr")
    assert result.returncode == 2
    assert "only boolean config fields can be ablated" in result.stderr
