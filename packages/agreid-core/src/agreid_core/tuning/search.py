"""MFHO: multi-fidelity hyper-parameter search over a registered method's config.

The AG-VPReID 2025 challenge entry MFHO (Appendix A.4 of the challenge report) tunes its
model with a simplified Hyperband: random configurations are trained at low fidelity (few
epochs), poor ones are discarded, promising ones continue at higher fidelity. Here that is an
Optuna study with a :class:`optuna.pruners.HyperbandPruner` (or successive halving) whose
resource is the epoch: every trial trains with ``training.schedule.epochs = max_epochs``,
reports its **validation** mAP after each epoch (``trial.report(mAP, epoch)``), and is stopped
as soon as the pruner says so. The validation split is carved from the training identities
(``training.val_fraction``, see :mod:`agreid_core.engine.validation`); the objective never
reads test data. Configurations are sampled at random by default, as in Hyperband, each
trial's sampler seeded from ``(seed, trial number)`` so an interrupted search draws the same
sequence as an uninterrupted one.

Output folder: ``study.db`` (Optuna's SQLite storage), ``tune.json`` (the settings, read back by
``resume``), ``trials/NNNN/`` (one ``agreid run`` folder per trial), ``trials.csv`` /
``trials.parquet`` (one row per trial) and ``best.toml`` (the best trial's overrides, for
``agreid run``). Trials train through :func:`~agreid_core.engine.run.run_method` (so every
method works, staged ones included) and are stopped at the first test-evaluation batch, after
the weights were saved: the search never evaluates the test set.

Resume: the study is reopened with ``load_if_exists=True``; a trial left ``RUNNING`` by a killed
process is continued (same trial number and parameters, training resumed from its last
epoch checkpoint), then new trials are asked until the study holds ``trials`` trials. Only one
process may work on a search folder at a time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from agreid_core.config import apply_overrides, get_field
from agreid_core.data.dataset import ReIDData
from agreid_core.engine.run import run_method
from agreid_core.engine.stages import stage_dir
from agreid_core.engine.state import CHECKPOINT_NAME
from agreid_core.engine.trainer import BEST_NAME
from agreid_core.engine.validation import split_validation
from agreid_core.plugins.host import PluginHost
from agreid_core.tuning.space import Param, SearchSpace, read_document

if TYPE_CHECKING:
    import optuna

STUDY_NAME = "mfho"
STUDY_FILE = "study.db"
SETTINGS_FILE = "tune.json"
TABLE_NAME = "trials"
PROFILE_FILE = "best.toml"
COMMAND_FILE = "best_command.txt"
INSTALL_HINT = "pip install 'agreid-core[tune]'"

log = logging.getLogger(__name__)


def require_optuna() -> Any:
    """Import optuna, or raise ``ImportError`` saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ImportError(
            f"agreid tune needs optuna, which is not installed: {INSTALL_HINT} "
            "(or pip install 'optuna>=3.5')"
        ) from None
    return optuna


@dataclass(frozen=True)
class TuneSettings:
    """Everything that defines one search (saved as ``tune.json``).

    ``trials``: total trials in the study (completed, pruned and failed). ``min_epochs`` /
    ``max_epochs``: the pruner's minimum and maximum resource; every trial is trained with the
    schedule of ``max_epochs`` epochs. ``reduction_factor``: η. ``pruner``: ``hyperband``,
    ``sha`` (one successive-halving bracket) or ``none``. ``sampler``: ``random`` (Hyperband's)
    or ``tpe``. ``val_fraction``: identities held out of training for the objective.
    ``overrides``: fixed ``--set`` overrides applied before the searched ones.
    """

    method: str
    space: SearchSpace
    trials: int
    max_epochs: int
    min_epochs: int = 1
    profile: str | None = None
    reduction_factor: int = 3
    pruner: Literal["hyperband", "sha", "none"] = "hyperband"
    sampler: Literal["random", "tpe"] = "random"
    seed: int = 0
    device: str = "cpu"
    val_fraction: float = 0.1
    overrides: tuple[str, ...] = ()
    data: str = ""
    dataset: str | None = None
    keep_checkpoints: bool = False

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ValueError(f"trials must be >= 1, got {self.trials}")
        if not 1 <= self.min_epochs <= self.max_epochs:
            raise ValueError(
                f"need 1 <= min_epochs <= max_epochs, got {self.min_epochs} and {self.max_epochs}"
            )
        if self.reduction_factor < 2:
            raise ValueError(f"reduction_factor must be >= 2, got {self.reduction_factor}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_json` reads it back."""
        doc = dataclasses.asdict(self)
        doc["space"] = [dataclasses.asdict(p) for p in self.space.params]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TuneSettings:
        """Settings from :meth:`to_json`'s dict."""
        params = tuple(Param(**{**p, "choices": tuple(p.get("choices", ()))}) for p in doc["space"])
        fields = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in doc.items() if k in fields and k != "space"}
        kept["overrides"] = tuple(kept.get("overrides", ()))
        return cls(space=SearchSpace(params), **kept)

    def tuning_overrides(self) -> list[str]:
        """What every trial adds so the objective can be measured: a validation split carved
        from the training ids, evaluated after every epoch; no plots."""
        return [
            f"training.val_fraction={self.val_fraction}",
            "training.eval_every=1",
            "training.report_checkpoint=last",
            "training.eval.plots=false",
        ]


def hyperband_brackets(min_resource: int, max_resource: int, reduction_factor: int) -> int:
    """Hyperband's bracket count ⌊log_η(R/r)⌋ + 1, in exact integer arithmetic.

    (Optuna computes it with a float logarithm, which can come out one short when R/r is an
    exact power of η, e.g. 243 with η = 3.)
    """
    ratio, n = max_resource // min_resource, 0
    while reduction_factor ** (n + 1) <= ratio:
        n += 1
    return n + 1


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number``: a function of the search seed and the number only."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def _make_sampler(optuna: Any, kind: str, seed: int) -> Any:
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def _make_pruner(optuna: Any, s: TuneSettings) -> Any:
    if s.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=s.min_epochs,
            max_resource=s.max_epochs,
            reduction_factor=s.reduction_factor,
        )
    if s.pruner == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=s.min_epochs, reduction_factor=s.reduction_factor
        )
    return optuna.pruners.NopPruner()


def suggest(trial: optuna.trial.Trial, p: Param) -> object:
    """Draw ``p``'s value for ``trial`` (a trial that already has it gets it back)."""
    if p.kind == "categorical":
        return trial.suggest_categorical(p.key, list(p.choices))
    if p.kind == "int":
        return trial.suggest_int(p.key, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
    return trial.suggest_float(p.key, p.low, p.high, step=p.step, log=p.log)


class _TrialPrunedError(Exception):
    """Raised from the training callback to stop a trial the pruner rejected."""


class _TrainingDoneError(Exception):
    """Raised at the first test-evaluation batch: a trial ends when its training does."""


def _stop_before_test(n: int) -> None:
    raise _TrainingDoneError


class ValidationReporter:
    """Reports a trial's validation mAP to Optuna as the epochs finish.

    The trainer writes a ``val_mAP`` line to ``train_log.jsonl`` after each epoch; this reads
    the new lines of the trial's logs (the run folder's and its stages') whenever training
    enters a new epoch, reports each as ``trial.report(val_mAP, step)`` with ``step`` the epochs
    trained so far (summed over stages), and raises when the pruner stops the trial. Steps
    already in the trial (a resumed trial) are not reported again.
    """

    def __init__(
        self, trial: optuna.trial.Trial, folder: Path, reported: set[int] | None = None
    ) -> None:
        self.trial = trial
        self.folder = folder
        self.reported = set(reported or ())
        self.offsets: dict[Path, int] = {}
        self.epoch_base: dict[Path, int] = {}
        self.epochs_in: dict[Path, int] = {}
        self.values: dict[int, float] = {}
        self._epoch: int | None = None

    def _logs(self) -> list[Path]:
        found = [self.folder / "train_log.jsonl"]
        stages = stage_dir(self.folder, "x").parent
        if stages.is_dir():
            found += sorted(stages.glob("*/train_log.jsonl"), key=lambda p: p.stat().st_mtime)
        return [p for p in found if p.is_file()]

    def poll(self, *, prune: bool) -> None:
        """Report every new validation line; with ``prune``, raise ``_TrialPrunedError`` when the pruner
        stops the trial."""
        reported = False
        for path in self._logs():
            if path not in self.epoch_base:  # stages train one after the other
                self.epoch_base[path] = sum(self.epochs_in.values())
                self.epochs_in[path] = 0
            with path.open("rb") as fh:
                fh.seek(self.offsets.get(path, 0))
                chunk = fh.read()
            end = chunk.rfind(b"\n") + 1  # only whole lines
            self.offsets[path] = self.offsets.get(path, 0) + end
            for line in chunk[:end].decode().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "val_mAP" not in rec:
                    continue
                epoch = int(rec["epoch"]) + 1
                self.epochs_in[path] = max(self.epochs_in[path], epoch)
                step = self.epoch_base[path] + epoch
                value = float(rec["val_mAP"])
                self.values[step] = value
                if step not in self.reported and math.isfinite(value):
                    self.trial.report(value, step)
                    self.reported.add(step)
                    reported = True
        if prune and reported and self.trial.should_prune():
            raise _TrialPrunedError

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        """``run_method``'s ``on_step`` callback: poll when a new epoch has started."""
        if epoch != self._epoch:
            self._epoch = epoch
            self.poll(prune=True)

    @property
    def last(self) -> tuple[int, float] | None:
        """The last reported (step, validation mAP), if any."""
        if not self.values:
            return None
        step = max(self.values)
        return step, self.values[step]


@dataclass
class TrialReport:
    """One finished trial as the search saw it."""

    number: int
    state: str
    value: float | None
    epochs: int
    params: dict[str, Any]
    error: str | None = None


@dataclass
class TuneOutcome:
    """What a search produced: the trials table, the best trial and the files written."""

    table: pl.DataFrame
    best: TrialReport | None
    output_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    brackets: int = 1


def _storage_url(output_dir: Path) -> str:
    return f"sqlite:///{(output_dir / STUDY_FILE).resolve()}"


def load_settings(output_dir: Path) -> TuneSettings:
    """The settings of the search in ``output_dir`` (its ``tune.json``)."""
    path = output_dir / SETTINGS_FILE
    try:
        return TuneSettings.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ValueError(
            f"{path}: no such file; --resume needs the folder of an earlier search"
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a tune.json written by agreid tune ({exc})") from None


def trials_table(study: optuna.study.Study, space: SearchSpace) -> pl.DataFrame:
    """One row per trial: ``trial``, ``state``, ``value`` (last validation mAP), ``best_val_mAP``,
    ``epochs`` (epochs reached), ``seconds``, one column per searched key, ``error``."""
    rows = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    cols: dict[str, pl.Series] = {
        "trial": pl.Series([t.number for t in rows], dtype=pl.Int64),
        "state": pl.Series([t.state.name for t in rows], dtype=pl.Utf8),
        "value": pl.Series([t.value if t.values else None for t in rows], dtype=pl.Float64),
        "best_val_mAP": pl.Series(
            [max(t.intermediate_values.values(), default=None) for t in rows], dtype=pl.Float64
        ),
        "epochs": pl.Series([t.last_step or 0 for t in rows], dtype=pl.Int64),
        "seconds": pl.Series(
            [
                (t.datetime_complete - t.datetime_start).total_seconds()
                if t.datetime_complete and t.datetime_start
                else None
                for t in rows
            ],
            dtype=pl.Float64,
        ),
    }
    for p in space.params:
        values = [t.params.get(p.key) for t in rows]
        if p.kind == "categorical":
            cols[p.key] = pl.Series(
                [None if v is None else p.format(v) for v in values], dtype=pl.Utf8
            )
        else:
            cols[p.key] = pl.Series(values, dtype=pl.Int64 if p.kind == "int" else pl.Float64)
    cols["error"] = pl.Series([t.user_attrs.get("error") for t in rows], dtype=pl.Utf8)
    return pl.DataFrame(cols)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_profile(path: Path, settings: TuneSettings, best: TrialReport) -> Path:
    """Write the best configuration as a TOML profile: ``method``, ``profile`` and ``set`` (the
    ``--set`` overrides: the fixed ones, then the tuned ones), plus the trial's record."""
    overrides = [*settings.overrides, *settings.space.overrides(best.params)]
    lines = [
        "# MFHO (multi-fidelity hyper-parameter optimisation, AG-VPReID 2025 Appendix A.4):",
        "# the best trial of `agreid tune`; use with `agreid run --config THIS_FILE`.",
        f"method = {_toml_string(settings.method)}",
        f"profile = {_toml_string(settings.profile or '')}",
        f"trial = {best.number}",
        f"val_mAP = {best.value!r}",
        f"epochs = {best.epochs}",
        "set = [",
        *[f"  {_toml_string(o)}," for o in overrides],
        "]",
        "",
    ]
    path.write_text("\n".join(lines))
    return path


@dataclass(frozen=True)
class TunedProfile:
    """A profile file read back: method, profile (None: the method's default) and overrides."""

    method: str | None
    profile: str | None
    overrides: list[str]


def load_profile(path: Path) -> TunedProfile:
    """Read a profile file (TOML, or JSON with the same keys) written by :func:`write_profile`;
    only ``set`` (a list of ``KEY=VALUE`` strings) is required."""
    doc = read_document(path)
    sets = doc.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) and "=" in s for s in sets):
        raise ValueError(f'{path}: `set` must be a list of "KEY=VALUE" strings')
    method, profile = doc.get("method"), doc.get("profile")
    return TunedProfile(
        str(method) if method else None, str(profile) if profile else None, list(sets)
    )


def _command_line(settings: TuneSettings, best: TrialReport) -> str:
    parts = ["agreid", "run", "--method", settings.method]
    if settings.profile:
        parts += ["--profile", settings.profile]
    if settings.data:
        parts += ["--data", settings.data]
    if settings.dataset:
        parts += ["--dataset", settings.dataset]
    for o in [*settings.overrides, *settings.space.overrides(best.params)]:
        parts += ["--set", o]
    return shlex.join(parts) + "\n"


def _report(trial: optuna.trial.FrozenTrial) -> TrialReport:
    return TrialReport(
        number=trial.number,
        state=trial.state.name,
        value=trial.value if trial.values else None,
        epochs=trial.last_step or 0,
        params=dict(trial.params),
        error=trial.user_attrs.get("error"),
    )


def _drop_checkpoints(folder: Path) -> None:
    for name in (CHECKPOINT_NAME, BEST_NAME):
        for path in folder.rglob(name):
            path.unlink(missing_ok=True)


def run_search(
    host: PluginHost,
    data: ReIDData,
    settings: TuneSettings,
    output_dir: Path,
    *,
    resume: bool = False,
    on_trial_start: Callable[[int, dict[str, Any]], None] | None = None,
    on_trial: Callable[[TrialReport], None] | None = None,
) -> TuneOutcome:
    """Run (or, with ``resume``, continue) the search in ``output_dir``; see the module docs.

    Raises ``ValueError`` / ``KeyError`` for a bad space, method or data, and when
    ``output_dir`` already holds a search and ``resume`` is off. ``KeyboardInterrupt`` (also the
    trainer's SIGTERM/SIGINT stop) propagates after the table is written; the trial it
    interrupted stays ``RUNNING`` and is continued by the next ``resume``.
    """
    op = require_optuna()
    op.logging.set_verbosity(op.logging.WARNING)
    s = settings
    spec = host.methods.get(s.method, host.failed_hint())
    cfg = spec.config(s.profile)
    s.space.check(cfg)
    get_field(cfg, "training.val_fraction")
    apply_overrides(cfg, [*s.tuning_overrides(), *s.overrides])
    split_validation(data.train(), s.val_fraction, s.seed)  # fails early when too small
    output_dir.mkdir(parents=True, exist_ok=True)
    db = output_dir / STUDY_FILE
    if db.exists() and not resume:
        raise ValueError(f"{output_dir} already holds a search; pass --resume or another --output")
    if not resume or not (output_dir / SETTINGS_FILE).is_file():
        (output_dir / SETTINGS_FILE).write_text(json.dumps(s.to_json(), indent=2))
    study: optuna.study.Study = op.create_study(
        storage=_storage_url(output_dir),
        study_name=STUDY_NAME,
        direction="maximize",
        sampler=_make_sampler(op, s.sampler, s.seed),
        pruner=_make_pruner(op, s),
        load_if_exists=True,
    )
    files = {
        "study": db,
        "settings": output_dir / SETTINGS_FILE,
        "trials_csv": output_dir / f"{TABLE_NAME}.csv",
        "trials_parquet": output_dir / f"{TABLE_NAME}.parquet",
    }

    def save() -> tuple[pl.DataFrame, TrialReport | None]:
        table = trials_table(study, s.space)
        table.write_csv(files["trials_csv"])
        table.write_parquet(files["trials_parquet"])
        done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        best = _report(study.best_trial) if done else None
        if best is not None:
            files["profile"] = write_profile(output_dir / PROFILE_FILE, s, best)
            files["command"] = output_dir / COMMAND_FILE
            files["command"].write_text(_command_line(s, best))
        return table, best

    def run_trial(trial: optuna.trial.Trial, reported: set[int] | None = None) -> None:
        params = {p.key: suggest(trial, p) for p in s.space.params}
        folder = output_dir / "trials" / f"{trial.number:04d}"
        if on_trial_start is not None:
            on_trial_start(trial.number, params)
        reporter = ValidationReporter(trial, folder, reported)
        state, error = op.trial.TrialState.COMPLETE, None
        try:
            run_method(
                host,
                s.method,
                data,
                profile=s.profile,
                output_dir=folder,
                epochs=s.max_epochs,
                seed=s.seed,
                device=s.device,
                overrides=[*s.tuning_overrides(), *s.overrides, *s.space.overrides(params)],
                on_step=reporter.on_step,
                on_eval_batch=_stop_before_test,
                resume=(folder / "config.json").is_file(),
            )
        except _TrainingDoneError:
            pass  # trained and saved; the test set is never evaluated
        except _TrialPrunedError:
            state = op.trial.TrialState.PRUNED
        except RuntimeError as exc:  # diverged (TrainingDivergedError), out of memory, …
            state, error = op.trial.TrialState.FAIL, f"{type(exc).__name__}: {exc}"
        except (ValueError, KeyError) as exc:  # the config or data is wrong: stop the search
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            study.tell(trial, state=op.trial.TrialState.FAIL)
            save()
            raise
        if state == op.trial.TrialState.COMPLETE:
            reporter.poll(prune=False)  # the last epoch's line
        last = reporter.last
        if state == op.trial.TrialState.COMPLETE and last is None:
            state, error = op.trial.TrialState.FAIL, "no validation mAP was reported"
        if error is not None:
            trial.set_user_attr("error", error)
        if state == op.trial.TrialState.COMPLETE and last is not None:
            study.tell(trial, last[1])
        else:
            study.tell(trial, state=state)
        if not s.keep_checkpoints:
            _drop_checkpoints(folder)
        if on_trial is not None:
            on_trial(_report(study.get_trials(deepcopy=False)[trial.number]))
        save()

    try:
        for frozen in study.get_trials(deepcopy=False, states=(op.trial.TrialState.RUNNING,)):
            log.info("continuing interrupted trial %d", frozen.number)
            study.sampler = _make_sampler(op, s.sampler, trial_seed(s.seed, frozen.number))
            resumed = op.trial.Trial(study, frozen._trial_id)
            run_trial(resumed, set(frozen.intermediate_values))
        while (number := len(study.get_trials(deepcopy=False))) < s.trials:
            study.sampler = _make_sampler(op, s.sampler, trial_seed(s.seed, number))
            run_trial(study.ask())
    finally:
        table, best = save()
    return TuneOutcome(
        table,
        best,
        output_dir,
        files,
        hyperband_brackets(s.min_epochs, s.max_epochs, s.reduction_factor)
        if s.pruner == "hyperband"
        else 1,
    )


def settings_with(settings: TuneSettings, **changes: Any) -> TuneSettings:
    """A copy of ``settings`` with some fields replaced (e.g. a larger ``trials`` on resume)."""
    return dataclasses.replace(settings, **changes)
