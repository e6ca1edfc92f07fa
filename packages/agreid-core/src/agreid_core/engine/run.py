"""One ``agreid run``: resolve method, profile and data; train; evaluate; write outputs.

Output folder contents: ``config.json`` (resolved config, seed, plugin versions, git
revision), ``train_log.jsonl`` (one line per step), ``model.safetensors`` (final weights),
``results.csv`` / ``results.parquet`` (one row per protocol slice plus ``overall``),
``cmc.csv`` / ``cmc.png``, ``ranked_list_<protocol>.png`` and, for the AG-ReID family, the
challenge's ``submission_<challenge>.csv``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from agreid_core.config import TrainingConfig, apply_overrides, override, to_dict
from agreid_core.data.dataset import LoadOptions, ReIDData
from agreid_core.data.merge import MERGE_PREFIX, load_merge_spec
from agreid_core.engine.checkpoint import atomic_write_text, load_weights, save_weights
from agreid_core.engine.distributed import env_context
from agreid_core.engine.stages import TRANSDUCTIVE, Stage, StageContext, stage_dir
from agreid_core.engine.state import CHECKPOINT_NAME, load_training_state
from agreid_core.engine.trainer import Trainer, TrainResult
from agreid_core.engine.validation import split_validation
from agreid_core.evaluation.report import ModelEvaluation, evaluate_model, write_evaluation
from agreid_core.method import Criterion
from agreid_core.plugins.host import PluginHost


@dataclass
class RunOutcome:
    """What a finished run produced."""

    results: pl.DataFrame
    train: TrainResult
    output_dir: Path
    config: dict[str, Any]
    evaluation: ModelEvaluation | None = None
    files: dict[str, Path] = field(default_factory=dict)
    stages: dict[str, TrainResult] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def git_revision() -> str | None:
    """The current git commit, if the working directory is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


DEFAULT_FORMAT = "agreid-v1"


def default_data(host: PluginHost, methods: Sequence[str]) -> str:
    """The generated dataset ``methods`` use when no data is named: ``embedded`` for image
    methods, ``embedded-video`` for video methods.

    Raises ``ValueError`` when they mix the two kinds (no single dataset serves both), and
    the registry's error for an unknown method name.
    """
    kinds: dict[str, list[str]] = {}
    for name in methods:
        kinds.setdefault(host.methods.get(name, host.failed_hint()).kind, []).append(name)
    if len(kinds) > 1:
        raise ValueError(
            f"the methods mix image ({', '.join(kinds['image'])}) and video "
            f"({', '.join(kinds['video'])}) methods, which train on different data: "
            "run each kind on its own, or name a dataset with --data"
        )
    return "embedded-video" if "video" in kinds else "embedded"


def load_data(
    host: PluginHost, data: str, dataset: str | None = None, strict: bool = False
) -> ReIDData:
    """Load ``data``: the name of a generated dataset (``embedded``, ``embedded-video``, any
    registered dataset that needs no folder) or a folder read as format ``dataset``
    (default ``agreid-v1``), or a merge of several (``merge:agvpreid=/d/ag+g2a-vreid=/d/g2a*``,
    see :mod:`agreid_core.data.merge`)."""
    if data.startswith(MERGE_PREFIX):
        return load_merge_spec(
            data,
            lambda src: load_data(
                host, src.path or src.dataset, src.dataset if src.path else None, strict
            ),
        )
    if dataset is None and data in host.datasets and not host.datasets.get(data).needs_path:
        return host.datasets.get(data).load(None, LoadOptions(strict=strict))
    spec = host.datasets.get(dataset or DEFAULT_FORMAT, host.failed_hint())
    if not spec.needs_path:
        return spec.load(None, LoadOptions(strict=strict))
    return spec.load(Path(data), LoadOptions(strict=strict))


def select_protocols(host: PluginHost, data: ReIDData, evaluator: str = "auto") -> ReIDData:
    """``data`` with the protocols of the registered ``evaluator`` (``auto``: the one named
    like the dataset, or every protocol the loader found when none is registered)."""
    if evaluator == "auto":
        if data.name not in host.evaluators:
            return data
        evaluator = data.name
    return host.evaluators.get(evaluator, host.failed_hint()).select(data, evaluator)


def resume_arguments(run_dir: Path) -> dict[str, Any]:
    """What ``run_method`` needs to continue the run in ``run_dir``, from its config.json:
    ``method``, ``profile``, ``data`` / ``dataset`` (for :func:`load_data`), ``seed``,
    ``device``, ``epochs`` and ``overrides``."""
    path = run_dir / "config.json"
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(
            f"{path}: no such file; --resume needs the folder of an earlier run"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    missing = [k for k in ("method", "profile", "dataset", "seed") if k not in saved]
    if missing:
        raise ValueError(f"{path}: missing {missing}; not a config.json written by agreid run")
    name = str(saved["dataset"])
    generated = name.startswith("embedded")
    return {
        "method": saved["method"],
        "profile": saved["profile"],
        "data": name if generated else str(saved.get("data_root")),
        "dataset": None if generated else name,
        "seed": int(saved["seed"]),
        "device": str(saved.get("device", "cpu")),
        "epochs": saved.get("epochs"),
        "overrides": [str(o) for o in saved.get("overrides", [])],
    }


def run_method(
    host: PluginHost,
    method: str,
    data: ReIDData,
    *,
    profile: str | None = None,
    output_dir: Path,
    epochs: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    overrides: list[str] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    on_eval_batch: Callable[[int], None] | None = None,
    resume: bool = False,
) -> RunOutcome:
    """Train ``method`` on ``data``'s train split and evaluate every protocol.

    ``resume``: continue training from ``output_dir/checkpoint.safetensors`` (the state
    saved every epoch, every ``training.checkpoint_every`` steps and on SIGTERM) instead of
    starting over; the log keeps the lines up to that checkpoint.
    """
    spec = host.methods.get(method, host.failed_hint())
    if spec.kind != data.kind:
        raise ValueError(
            f"method {method!r} trains on {spec.kind} datasets, but {data.name!r} is a {data.kind} dataset"
        )
    cfg = spec.config(profile)
    if epochs is not None:
        cfg = override(cfg, "training.schedule.epochs", epochs)
    cfg = apply_overrides(cfg, overrides or [])
    seed_everything(seed)
    dev = torch.device(device)
    output_dir.mkdir(parents=True, exist_ok=True)
    resolved = {
        "method": method,
        "profile": profile or spec.default_profile,
        "dataset": data.name,
        "data_root": str(data.root),
        "seed": seed,
        "device": device,
        "epochs": epochs,
        "overrides": list(overrides or []),
        "config": to_dict(cfg),
        "plugins": {
            n: {"package": p.package, "version": p.version} for n, p in host.plugins.items()
        },
        "git_revision": git_revision(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_text(output_dir / "config.json", json.dumps(resolved, indent=2, default=str))
    ctx = StageContext(
        config=cfg,
        data=data,
        device=dev,
        seed=seed,
        num_cameras=int(data.index["camid"].cast(pl.Int64).max() or 0) + 1,  # type: ignore[arg-type]
    )
    staged = spec.stages is not None
    stages = (
        list(spec.stages(cfg))
        if spec.stages is not None
        else [Stage("main", lambda c, info: spec.build(c.config, info))]
    )
    results: dict[str, TrainResult] = {}
    for stage in stages:
        folder = stage_dir(output_dir, stage.name) if staged else output_dir
        results[stage.name] = _train_stage(
            stage,
            ctx,
            folder,
            training=stage.training(cfg.training) if stage.training else cfg.training,
            resume=resume,
            run_info=resolved,
            meta={"method": method, "seed": seed, "stage": stage.name},
            on_step=on_step,
        )
    model = spec.assemble(ctx) if spec.assemble is not None else ctx.models[stages[-1].name]
    train = results[stages[-1].name] if len(results) == 1 else combine_results(results)
    if not env_context().is_main:  # data-parallel: rank 0 evaluates and writes
        empty = pl.DataFrame()
        return RunOutcome(empty, train, output_dir, resolved, None, {}, results)
    evaluated = evaluate_model(
        model,
        select_protocols(host, data, cfg.training.eval.evaluator),
        cfg.training.input,
        cfg.training.eval,
        method=method,
        device=dev,
        num_workers=cfg.training.num_workers,
        on_batch=on_eval_batch,
    )
    if ctx.notes.get(TRANSDUCTIVE):  # a stage trained on unlabelled test images
        evaluated = mark_transductive(evaluated, str(ctx.notes[TRANSDUCTIVE]))
    files = write_evaluation(
        evaluated.evaluation, data.name, output_dir, cfg.training.eval, method=method
    )
    return RunOutcome(evaluated.table, train, output_dir, resolved, evaluated, files, results)


def mark_transductive(evaluated: ModelEvaluation, how: str) -> ModelEvaluation:
    """Label every result row as using the unlabelled test images (``how`` says for what)."""
    table = evaluated.evaluation.table.with_columns(
        (pl.col("eval") + pl.lit(f",transductive({how})")).alias("eval")
    )
    return dataclasses.replace(
        evaluated, evaluation=dataclasses.replace(evaluated.evaluation, table=table)
    )


def combine_results(results: dict[str, TrainResult]) -> TrainResult:
    """One :class:`TrainResult` for several stages: summed steps and time, overall rates."""
    parts = list(results.values())
    seconds = sum(r.seconds for r in parts)
    images = sum(r.images_per_second * r.seconds for r in parts)
    wait = sum(r.data_wait_fraction * r.seconds for r in parts)
    return TrainResult(
        epochs=sum(r.epochs for r in parts),
        steps=sum(r.steps for r in parts),
        seconds=seconds,
        images_per_second=images / seconds if seconds > 0 else 0.0,
        data_wait_fraction=wait / seconds if seconds > 0 else 0.0,
        final_loss=parts[-1].final_loss,
        history=[{**h, "stage": name} for name, r in results.items() for h in r.history],
    )


def _finished(folder: Path, training: TrainingConfig) -> bool:
    """Whether the stage in ``folder`` trained all of ``training``'s epochs."""
    ckpt = folder / CHECKPOINT_NAME
    if not ckpt.is_file():
        return True  # weights without a resumable state: nothing left to continue
    return load_training_state(ckpt).counters.epoch >= training.schedule.epochs


def _train_stage(
    stage: Stage,
    ctx: StageContext,
    folder: Path,
    *,
    training: TrainingConfig,
    resume: bool,
    run_info: dict[str, Any],
    meta: dict[str, Any],
    on_step: Callable[[int, int, float], None] | None,
) -> TrainResult:
    """Train one stage into ``folder`` (or reload it when its weights are already there);
    the trained model is added to ``ctx.models``."""
    train_rows = stage.train_rows(ctx) if stage.train_rows is not None else ctx.data.train()
    validation = None
    if training.val_fraction > 0:  # carved first: held-out ids are not classes
        validation = split_validation(train_rows, training.val_fraction, ctx.seed)
        train_rows = validation.train
    recipe = stage.build(ctx, ctx.info(train_rows))
    ctx.recipes[stage.name] = recipe
    ctx.models[stage.name] = recipe.model
    weights = folder / "model.safetensors"
    folder.mkdir(parents=True, exist_ok=True)
    if resume and weights.is_file() and _finished(folder, training):
        load_weights(recipe.model, weights)  # finished before the interruption
        recipe.model.to(ctx.device)
        return TrainResult(0, 0, 0.0, 0.0, 0.0, float("nan"))
    log_path = folder / "train_log.jsonl"
    if not resume:
        log_path.unlink(missing_ok=True)
    trainer = Trainer(
        recipe.model,
        Criterion(recipe.losses),
        training,
        device=ctx.device,
        seed=ctx.seed,
        head_prefixes=recipe.head_parameter_prefixes,
        log_path=log_path,
    )
    train = trainer.fit(
        train_rows,
        on_step=on_step,
        checkpoint_dir=folder,
        resume=resume,
        run_info=run_info,
        validation=validation,
    )
    if train.checkpoint == "val-best" and train.best_path is not None:
        load_weights(recipe.model, train.best_path)  # the report uses the val-best weights
    if trainer.dist.is_main:
        save_weights(recipe.model, weights, meta)
        if training.eval.plots:
            from agreid_core.engine.curves import plot_training_curve

            plot_training_curve(log_path, folder / "training_curve.png")
    return train
