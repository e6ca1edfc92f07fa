"""MFHO search spaces (parsing, validation against a config) and the search's building blocks:
bracket count, per-trial seeds, the validation reporter, profile files and saved settings."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agreid_core.config import TrainingConfig, apply_overrides
from agreid_core.tuning.space import (
    Param,
    SearchSpace,
    build_space,
    load_space_file,
    parse_assignment,
    split_arguments,
)


@dataclass(frozen=True)
class _Cfg:
    training: TrainingConfig = field(default_factory=TrainingConfig)
    width: int = 32


def test_cli_strings_give_typed_distributions() -> None:
    lr = parse_assignment("training.optim.lr=loguniform(1e-4, 1e-2)")
    assert (lr.key, lr.kind, lr.low, lr.high, lr.log, lr.step) == (
        "training.optim.lr", "float", 1e-4, 1e-2, True, None,
    )  # fmt: skip
    margin = parse_assignment("loss.margin=uniform(0.2,0.5,0.1)")
    assert (margin.kind, margin.log, margin.step) == ("float", False, 0.1)
    width = parse_assignment("width=int(16,64,16)")
    assert (width.kind, width.low, width.high, width.step) == ("int", 16, 64, 16)
    assert parse_assignment("width=logint(8,128)").log
    opt = parse_assignment("training.optim.name=choice(adam, 'sgd', adamw)")
    assert opt.choices == ("adam", "sgd", "adamw")
    mixed = parse_assignment("x=choice(4, 0.5, true, (30,60))")
    assert mixed.choices == (4, 0.5, True, "(30,60)")


def test_describe_round_trips_and_overrides_are_set_strings() -> None:
    space = build_space(
        ["training.optim.lr=loguniform(0.0001,0.01)", "width=int(16,64)", "a=choice(1,x)"]
    )
    assert [parse_assignment(line) for line in space.describe()] == list(space.params)
    values = {"training.optim.lr": 0.00123, "width": 32, "a": "x"}
    assert space.overrides(values) == ["training.optim.lr=0.00123", "width=32", "a=x"]
    cfg = apply_overrides(_Cfg(), space.overrides(values)[:2])
    assert cfg.training.optim.lr == 0.00123 and cfg.width == 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lr=loguniform(0,1)", "LOW > 0"),
        ("lr=uniform(2,1)", "LOW <= HIGH"),
        ("lr=normal(0,1)", "unknown distribution"),
        ("lr=uniform(0,1,2,3)", "takes 2 or 3 arguments"),
        ("n=int(1.5,3)", "integer"),
        ("lr=choice()", "at least one choice"),
        ("lr=uniform(a,1)", "not a number"),
        ("lr", "KEY=DISTRIBUTION"),
        ("lr=uniform(0,1", "expected"),
    ],
)
def test_bad_distributions_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_assignment(text)


def test_split_arguments_respects_brackets_and_quotes() -> None:
    assert split_arguments("1, (2,3), 'a,b', [4,5]") == ["1", "(2,3)", "'a,b'", "[4,5]"]
    assert split_arguments("") == []
    with pytest.raises(ValueError, match="unbalanced"):
        split_arguments("(1,2")


def test_toml_and_json_files_nested_or_dotted(tmp_path: Path) -> None:
    toml = tmp_path / "space.toml"
    toml.write_text(
        '[space]\n"training.optim.lr" = "loguniform(1e-5,1e-3)"\n'
        "[space.training.sampler]\n"
        'instances_per_id = { type = "int", low = 2, high = 8, step = 2 }\n'
        'name = { type = "categorical", choices = ["pk", "platform-pk"] }\n'
    )
    space = load_space_file(toml)
    assert space.keys == [
        "training.optim.lr",
        "training.sampler.instances_per_id",
        "training.sampler.name",
    ]
    assert space.params[1] == Param("training.sampler.instances_per_id", "int", 2, 8, step=2)
    assert space.params[2].choices == ("pk", "platform-pk")
    js = tmp_path / "space.json"
    js.write_text(json.dumps({"training": {"optim": {"weight_decay": "loguniform(1e-5,1e-3)"}}}))
    both = build_space([str(toml), str(js), "width=int(8,16)"])
    assert both.keys[-2:] == ["training.optim.weight_decay", "width"]
    bad = tmp_path / "bad.toml"
    bad.write_text('lr = { type = "float", low = 1 }\n')
    with pytest.raises(
        ValueError, match=r"bad\.toml: lr: a float parameter needs `low` and `high`"
    ):
        load_space_file(bad)


def test_duplicates_and_empty_spaces_are_errors() -> None:
    with pytest.raises(ValueError, match="more than once"):
        build_space(["width=int(1,2)", "width=int(3,4)"])
    with pytest.raises(ValueError, match="empty"):
        build_space([])


def test_check_against_a_config_names_the_bad_key_or_value() -> None:
    SearchSpace((parse_assignment("training.optim.name=choice(adam,sgd)"),)).check(_Cfg())
    with pytest.raises(KeyError, match="unknown config field 'lrate'"):
        SearchSpace((parse_assignment("training.optim.lrate=uniform(0,1)"),)).check(_Cfg())
    with pytest.raises(ValueError, match="not one of"):
        SearchSpace((parse_assignment("training.optim.name=choice(adam,lamb)"),)).check(_Cfg())
    with pytest.raises(ValueError, match="not a valid int"):  # a float range on an int field
        SearchSpace((parse_assignment("width=uniform(1,2)"),)).check(_Cfg())


def test_missing_optuna_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from agreid_core.tuning.search import require_optuna

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'agreid-core\[tune\]'"):
        require_optuna()


# --------------------------------------------------------------- search building blocks

optuna = pytest.importorskip("optuna")

from agreid_core.tuning import search  # noqa: E402
from agreid_core.tuning.search import (  # noqa: E402
    TrialReport,
    TuneSettings,
    ValidationReporter,
    hyperband_brackets,
    load_profile,
    suggest,
    trial_seed,
    write_profile,
)


def test_hyperband_bracket_count_is_exact() -> None:
    assert hyperband_brackets(1, 27, 3) == 4
    assert hyperband_brackets(1, 81, 3) == 5
    assert hyperband_brackets(1, 243, 3) == 6  # a float log gives 5
    assert hyperband_brackets(1, 2, 3) == 1
    assert hyperband_brackets(1, 2, 2) == 2


def test_trial_seeds_depend_on_seed_and_number_only() -> None:
    assert trial_seed(0, 5) == trial_seed(0, 5)
    assert len({trial_seed(0, n) for n in range(20)} | {trial_seed(1, 0)}) == 21


def test_per_trial_sampler_draws_are_reproducible() -> None:
    space = build_space(["lr=loguniform(1e-4,1e-2)", "n=int(1,9)", "c=choice(a,b,c)"])

    def draw(number: int) -> dict[str, object]:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(trial_seed(3, number)))
        trial = study.ask()
        return {p.key: suggest(trial, p) for p in space.params}

    first = [draw(n) for n in range(4)]
    assert first == [draw(n) for n in range(4)]
    assert len({json.dumps(d) for d in first}) == 4
    for d in first:
        lr, n = d["lr"], d["n"]
        assert isinstance(lr, float) and isinstance(n, int) and d["c"] in ("a", "b", "c")
        assert 1e-4 <= lr <= 1e-2 and 1 <= n <= 9


def _log(path: Path, records: list[dict[str, float]]) -> None:
    with path.open("a") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")


def test_reporter_reports_each_epoch_once_and_raises_when_pruned(tmp_path: Path) -> None:
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=20.0)
    )
    trial = study.ask()
    log = tmp_path / "train_log.jsonl"
    _log(log, [{"epoch": 0, "step": 1, "loss": 2.0}, {"epoch": 0, "step": 2, "val_mAP": 30.0}])
    reporter = ValidationReporter(trial, tmp_path)
    reporter.on_step(0, 1, 2.0)  # first call polls: the epoch-0 line is reported
    reporter.on_step(0, 2, 2.0)  # same epoch: nothing new
    with log.open("a") as fh:
        fh.write('{"epoch": 1, "step": 3, "val_mAP": 10.0}\n{"epoch": 2, "val_mAP"')  # partial
    with pytest.raises(search._TrialPrunedError):
        reporter.on_step(2, 5, 1.0)  # epoch 1 (10 < 20) is reported; the pruner stops
    frozen = study.get_trials(deepcopy=False)[0]
    assert frozen.intermediate_values == {1: 30.0, 2: 10.0}
    assert reporter.last == (2, 10.0)
    # a resumed trial: steps already stored are skipped, new ones reported
    again = ValidationReporter(trial, tmp_path, reported={1, 2})
    with log.open("a") as fh:
        fh.write(": 50.0}\n")
    again.poll(prune=True)  # the best value is above the threshold: not pruned
    assert study.get_trials(deepcopy=False)[0].intermediate_values == {1: 30.0, 2: 10.0, 3: 50.0}


def test_reporter_sums_epochs_over_stages(tmp_path: Path) -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    first, second = tmp_path / "stages" / "a", tmp_path / "stages" / "b"
    first.mkdir(parents=True)
    _log(first / "train_log.jsonl", [{"epoch": 0, "val_mAP": 1.0}, {"epoch": 1, "val_mAP": 2.0}])
    reporter = ValidationReporter(trial, tmp_path)
    reporter.poll(prune=False)
    second.mkdir()
    _log(second / "train_log.jsonl", [{"epoch": 0, "val_mAP": 3.0}])
    reporter.poll(prune=False)
    assert study.get_trials(deepcopy=False)[0].intermediate_values == {1: 1.0, 2: 2.0, 3: 3.0}


def test_profile_file_round_trip(tmp_path: Path) -> None:
    settings = TuneSettings(
        method="toy-cnn",
        space=build_space(["training.optim.lr=loguniform(1e-4,1e-2)", "width=int(8,64)"]),
        trials=3,
        max_epochs=2,
        profile="cpu",
        overrides=("training.num_workers=0",),
    )
    best = TrialReport(2, "COMPLETE", 41.5, 2, {"training.optim.lr": 0.002, "width": 16})
    path = write_profile(tmp_path / "best.toml", settings, best)
    prof = load_profile(path)
    assert (prof.method, prof.profile) == ("toy-cnn", "cpu")
    assert prof.overrides == ["training.num_workers=0", "training.optim.lr=0.002", "width=16"]
    cfg = apply_overrides(_Cfg(), prof.overrides)
    assert (cfg.training.optim.lr, cfg.width, cfg.training.num_workers) == (0.002, 16, 0)
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"set": ["width=8"]}))
    assert load_profile(js).overrides == ["width=8"] and load_profile(js).method is None
    js.write_text(json.dumps({"set": ["width"]}))
    with pytest.raises(ValueError, match="KEY=VALUE"):
        load_profile(js)


def test_settings_json_round_trip() -> None:
    settings = TuneSettings(
        method="m",
        space=build_space(["a=choice(1,x,true)", "b=uniform(0,1,0.5)", "c=logint(1,8)"]),
        trials=4,
        max_epochs=9,
        overrides=("x=1",),
    )
    assert TuneSettings.from_json(json.loads(json.dumps(settings.to_json()))) == settings
    with pytest.raises(ValueError, match="min_epochs <= max_epochs"):
        TuneSettings(method="m", space=settings.space, trials=1, max_epochs=2, min_epochs=3)
