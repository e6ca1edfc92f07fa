"""The trainer: one loop that every method recipe configures, never copies.

Per step: a P×K batch is decoded in DataLoader workers, augmented on the device, passed
through the model, scored by the recipe's :class:`~agreid_core.method.Criterion`, and the
optimiser and per-iteration LR schedule step. A non-finite loss stops the run with
:class:`TrainingDivergedError` before the weights are touched.

With ``checkpoint_dir`` the full training state (:mod:`agreid_core.engine.state`) is saved
atomically after every epoch, every ``checkpoint_every`` steps and on SIGTERM/SIGINT; and
``fit(..., resume=True)`` continues from it mid-epoch to the same weights an uninterrupted
run reaches. Data order is a function of ``(seed, epoch, step)`` only. Under ``torchrun`` the
model is wrapped in DistributedDataParallel and each rank trains on its share of the batches
(:mod:`agreid_core.engine.distributed`); only rank 0 writes files.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import numpy as np
import polars as pl
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from agreid_core.config import SamplerConfig, TrainingConfig
from agreid_core.data.augment import build_clip_augmentation, build_train_augmentation
from agreid_core.data.decode import ClipSamples, ImageSamples
from agreid_core.data.index import attribute_columns
from agreid_core.data.samplers import PKSampler, PlatformBalancedPKSampler
from agreid_core.engine.checkpoint import save_weights
from agreid_core.engine.distributed import (
    DistContext,
    all_true,
    any_true,
    barrier,
    device_for,
    gather_tensor,
    init_distributed,
)
from agreid_core.engine.metric_log import MetricLog
from agreid_core.engine.optim import build_optimizer, build_scheduler
from agreid_core.engine.state import (
    CHECKPOINT_NAME,
    TrainingState,
    load_training_state,
    save_training_state,
)
from agreid_core.engine.validation import ValidationSplit, evaluate_validation, split_validation
from agreid_core.evaluation.extract import extract_outputs, extract_tracklet_outputs
from agreid_core.method import Criterion

#: File name of the best-validation weights (safetensors, weights only).
BEST_NAME = "best.safetensors"
#: Default ``feature_key`` of a loss module's ``refresh_from_features`` hook.
DEFAULT_FEATURE_KEY = "features"


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT stopped training at a step boundary (after saving the state)."""


@dataclass
class TrainResult:
    """What a finished training run reports.

    ``checkpoint`` says which weights the report should use: ``last`` (the model as it is
    now) or ``val-best`` (``best_path``, the epoch with the best validation mAP).
    """

    epochs: int
    steps: int
    seconds: float
    images_per_second: float
    data_wait_fraction: float
    final_loss: float
    history: list[dict[str, Any]] = field(default_factory=list)
    val_history: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: Literal["last", "val-best"] = "last"
    checkpoint_path: Path | None = None
    best_path: Path | None = None
    best_val_mAP: float | None = None  # noqa: N815
    best_epoch: int | None = None
    resumed_from_step: int | None = None


def attribute_targets(rows: pl.DataFrame) -> Tensor | None:
    """(N, A) int64 attribute codes of ``rows`` (its ``attr_*`` columns in index order, −1
    where unknown), or None when the rows have no attributes. The trainer passes a batch's
    rows to the criterion as the ``attributes`` target."""
    cols = attribute_columns(rows)
    if not cols:
        return None
    table = rows.select([pl.col(c).cast(pl.Int64).fill_null(-1) for c in cols]).to_numpy()
    return torch.from_numpy(table.astype(np.int64).copy())


def build_batch_sampler(
    rows: pl.DataFrame, labels: list[int], cfg: SamplerConfig, seed: int, ctx: DistContext
) -> PKSampler | PlatformBalancedPKSampler:
    """The batch sampler ``cfg.name`` names: ``pk`` (P identities × K samples) or
    ``platform-pk`` (P identities × K samples from each platform, BENTO / SMTL style)."""
    if cfg.name == "pk":
        return PKSampler(
            labels,
            cfg.ids_per_batch,
            cfg.instances_per_id,
            seed=seed,
            rank=ctx.rank,
            world_size=ctx.world_size,
        )
    if cfg.name == "platform-pk":
        if "platform" not in rows.columns or rows["platform"].null_count() > 0:
            raise ValueError("sampler platform-pk needs a platform for every training sample")
        return PlatformBalancedPKSampler(
            labels,
            rows["platform"].to_list(),
            cfg.ids_per_batch,
            cfg.instances_per_id,
            seed=seed,
            rank=ctx.rank,
            world_size=ctx.world_size,
        )
    raise ValueError(f"unknown sampler {cfg.name!r}; the trainer knows 'pk' and 'platform-pk'")


def trainable_prefixes(head_prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """Head prefixes of the model (``head.``) or criterion (``criterion.…``) as parameter-name
    prefixes of the ``ModuleList([model, criterion])`` the optimiser is built over."""
    return tuple(
        f"1.{p.removeprefix('criterion.')}" if p.startswith("criterion.") else f"0.{p}"
        for p in head_prefixes
    )


def label_map(pids: list[int]) -> dict[int, int]:
    """Published identity → contiguous class index, in sorted identity order."""
    return {pid: i for i, pid in enumerate(sorted(set(pids)))}


def centralize_gradients(params: Iterator[nn.Parameter] | list[nn.Parameter]) -> None:
    """Gradient centralisation (Yong et al., ECCV'20), in place.

    For every parameter with ≥ 2 dims (conv / linear weights) and a gradient, subtract the
    gradient's mean over all dims but the first (per output channel / row).
    """
    for p in params:
        g = p.grad
        if g is None or g.ndim < 2:
            continue
        g.sub_(g.mean(dim=tuple(range(1, g.ndim)), keepdim=True))


def _seed_worker(worker_id: int) -> None:
    """DataLoader worker init: seed Python and NumPy from the worker's torch seed."""
    s = torch.initial_seed() % 2**32
    random.seed(s)
    np.random.seed(s)


def _loader_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) * 7919 + 17


class _Batches:
    """The sampler's batches ``skip`` … ``stop`` of the current epoch (resume mid-epoch)."""

    def __init__(self, sampler: PKSampler | PlatformBalancedPKSampler) -> None:
        self.sampler = sampler
        self.skip, self.stop = 0, 0

    def __iter__(self) -> Iterator[list[int]]:
        for i, batch in enumerate(self.sampler):
            if i >= self.stop:
                return
            if i >= self.skip:
                yield batch

    def __len__(self) -> int:
        return max(0, min(len(self.sampler), self.stop) - self.skip)


class _TrainStep(nn.Module):
    """Model + criterion as one module, so DistributedDataParallel syncs both."""

    def __init__(self, model: nn.Module, criterion: Criterion) -> None:
        super().__init__()
        self.model, self.criterion = model, criterion

    def forward(
        self, x: Tensor, cams: Tensor, y: Tensor, attributes: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        outputs = self.model(x, cams)
        targets = {"pids": y, "camids": cams}
        if attributes is not None:
            targets["attributes"] = attributes
        result = self.criterion(outputs, targets)
        return result.total, dict(result.parts)


class _StopFlag:
    """SIGTERM / SIGINT → stop at the next step boundary; a second signal aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            self.uninstall()
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class Trainer:
    """Trains ``model`` with ``criterion`` under ``cfg`` on the rows of a sample index.

    ``dist``: the data-parallel context; by default read from the ``torchrun`` environment
    (:func:`~agreid_core.engine.distributed.init_distributed`), a single process otherwise.
    """

    def __init__(
        self,
        model: nn.Module,
        criterion: Criterion,
        cfg: TrainingConfig,
        *,
        device: torch.device,
        seed: int = 0,
        head_prefixes: tuple[str, ...] = (),
        log_path: Path | None = None,
        dist: DistContext | None = None,
    ) -> None:
        self.dist = dist if dist is not None else init_distributed(device)
        device = device_for(device, self.dist)
        self.model = model.to(device)
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.criterion = criterion.to(device)
        self.cfg, self.device, self.seed = cfg, device, seed
        self.head_prefixes = head_prefixes
        self.log_path = log_path
        self.augment = build_train_augmentation(cfg.augment, cfg.input).to(device)
        self.clip_augment = build_clip_augmentation(cfg.augment, cfg.input).to(device)
        if self.dist.rank > 0:
            # each rank draws its own augmentation; rank 0 keeps the caller's RNG stream
            torch.manual_seed(seed * 1_000_003 + self.dist.rank)

    # ------------------------------------------------------------------ helpers

    def _amp(self) -> tuple[bool, torch.dtype, bool]:
        """(autocast enabled, dtype, GradScaler enabled)."""
        cfg = self.cfg
        if cfg.amp_dtype == "auto":
            dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        else:
            dtype = torch.float16 if cfg.amp_dtype == "float16" else torch.bfloat16
        scaler = cfg.amp and dtype == torch.float16 and self.device.type == "cuda"
        return cfg.amp, dtype, scaler

    def refresh_losses(
        self,
        paths: list[str],
        labels: list[int],
        camids: list[int],
        frames: list[list[str]] | None = None,
    ) -> int:
        """Call every loss module's ``refresh_from_features`` with eval-mode features.

        Features are the model output named by the module's ``feature_key`` (default
        ``"features"``) for every sample, extracted with the test transform; returns how
        many modules were refreshed.
        """
        hooks: list[tuple[str, Callable[[Tensor, Tensor, Tensor], object]]] = []
        for m in self.criterion.modules():
            fn = getattr(m, "refresh_from_features", None)
            if m is not self.criterion and callable(fn):
                hooks.append((str(getattr(m, "feature_key", DEFAULT_FEATURE_KEY)), fn))
        if not hooks:
            return 0
        keys = sorted({key for key, _ in hooks})
        if frames is not None:  # video: tracklet outputs averaged over all frames
            outputs = extract_tracklet_outputs(
                self.model,
                frames,
                camids,
                self.cfg.input,
                device=self.device,
                keys=keys,
                clip_length=self.cfg.sampler.clip_length,
            )
        else:
            outputs = extract_outputs(
                self.model,
                paths,
                camids,
                self.cfg.input,
                device=self.device,
                keys=keys,
                batch_size=self.cfg.eval.batch_size,
            )
        y = torch.as_tensor(labels, dtype=torch.long, device=self.device)
        cams = torch.as_tensor(camids, dtype=torch.long, device=self.device)
        for key, refresh in hooks:
            refresh(outputs[key].to(self.device), y, cams)
        return len(hooks)

    def _epoch_end_hooks(self, epoch: int) -> None:
        for m in self.criterion.modules():
            hook = getattr(m, "on_epoch_end", None)
            if m is not self.criterion and callable(hook):
                hook(epoch)

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        train_rows: pl.DataFrame,
        on_step: Callable[[int, int, float], None] | None = None,
        *,
        checkpoint_dir: Path | None = None,
        resume: bool = False,
        run_info: dict[str, Any] | None = None,
        validation: ValidationSplit | None = None,
        on_batch: Callable[[int, int, Tensor], None] | None = None,
    ) -> TrainResult:
        """Train on ``train_rows`` (index rows with ``path``, ``pid``, ``camid``).

        ``checkpoint_dir``: where ``checkpoint.safetensors`` (the resumable state, with
        ``run_info`` — resolved config, plugin versions, git revision — stored alongside) and
        ``best.safetensors`` go; none: nothing is saved. ``resume``: continue from the
        checkpoint there if one exists (else start fresh). ``validation``: a split to
        evaluate every ``eval_every`` epochs; by default, with ``val_fraction > 0``, one is
        carved from ``train_rows`` (needs a ``platform`` column). ``on_batch(epoch, step,
        sample_indices)`` sees the rows of each batch this rank trains on.
        """
        cfg, ctx = self.cfg, self.dist
        if validation is None and cfg.val_fraction > 0:
            validation = split_validation(train_rows, cfg.val_fraction, self.seed)
        if validation is not None:
            train_rows = validation.train
        paths = train_rows["path"].to_list()
        pids = train_rows["pid"].to_list()
        camids = [int(c) for c in train_rows["camid"].to_list()]
        mapping = label_map(pids)
        labels = [mapping[p] for p in pids]
        sampler = build_batch_sampler(train_rows, labels, cfg.sampler, self.seed, ctx)
        attr_table = attribute_targets(train_rows)
        video = "frames" in train_rows.columns
        frames: list[list[str]] | None = train_rows["frames"].to_list() if video else None
        dataset: ImageSamples | ClipSamples
        if frames is not None:
            dataset = ClipSamples(
                frames,
                labels,
                camids,
                cfg.input.height,
                cfg.input.width,
                cfg.sampler.clip_length,
                cfg.sampler.clip_sampling,
            )
        else:
            dataset = ImageSamples(paths, labels, camids, cfg.input.height, cfg.input.width)
        augment = self.clip_augment if video else self.augment
        batches = _Batches(sampler)
        loader_gen = torch.Generator()
        loader = DataLoader(
            dataset,
            batch_sampler=batches,
            num_workers=cfg.num_workers,
            persistent_workers=cfg.num_workers > 0,
            worker_init_fn=_seed_worker,
            generator=loader_gen,
        )
        iters = cfg.schedule.iters_per_epoch or len(sampler)
        if iters < 1:
            raise ValueError("the training split is too small for one P×K batch")
        trainable = nn.ModuleList([self.model, self.criterion])
        optimizer = build_optimizer(trainable, cfg.optim, trainable_prefixes(self.head_prefixes))
        scheduler = build_scheduler(optimizer, cfg.schedule, iters, cfg.optim.lr)
        amp_on, amp_dtype, scaler_on = self._amp()
        scaler = torch.amp.GradScaler(self.device.type, enabled=scaler_on)
        modules: dict[str, nn.Module] = {"model": self.model, "criterion": self.criterion}
        params = [p for p in trainable.parameters() if p.requires_grad]

        ckpt_path = checkpoint_dir / CHECKPOINT_NAME if checkpoint_dir is not None else None
        state = TrainingState()
        resumed_from: int | None = None
        if resume:
            if ckpt_path is None:
                raise ValueError("resume=True needs a checkpoint_dir")
            if ckpt_path.is_file():
                loaded = load_training_state(ckpt_path)
                saved_world = int(loaded.doc["sampler"].get("world_size", 1))
                if saved_world != ctx.world_size:
                    raise ValueError(
                        f"{ckpt_path} was saved by {saved_world} process(es); "
                        f"resume with the same number (this run has {ctx.world_size})"
                    )
                loaded.restore(
                    modules=modules,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    scaler=scaler,
                    device=self.device,
                )
                own = loaded.tensors.get(f"rng.torch.rank{ctx.rank}")
                if own is not None:
                    torch.set_rng_state(own)
                sampler.load_state_dict(
                    {"epoch": loaded.doc["sampler"]["epoch"], "seed": self.seed}
                )
                state = loaded.counters
                resumed_from = state.step
        step_module = _TrainStep(self.model, self.criterion)
        forward: nn.Module = step_module
        if ctx.enabled:
            forward = DistributedDataParallel(
                step_module,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=cfg.ddp_find_unused_parameters,
            )
        writes = ctx.is_main
        if writes and self.log_path is not None and resumed_from is not None:
            _truncate_log(self.log_path, state)
        log = None
        if writes and self.log_path is not None:
            log = MetricLog(self.log_path)
        best_dir = checkpoint_dir or (self.log_path.parent if self.log_path else None)
        best_path = best_dir / BEST_NAME if best_dir is not None else None
        saved_at: tuple[int, int] | None = (
            (state.epoch, state.step) if resumed_from is not None else None
        )

        def save() -> None:
            nonlocal saved_at
            extra: dict[str, Tensor] = {}
            if ctx.enabled:
                for r, t in enumerate(gather_tensor(torch.get_rng_state(), ctx)):
                    extra[f"rng.torch.rank{r}"] = t
            if writes and ckpt_path is not None:
                save_training_state(
                    ckpt_path,
                    modules=modules,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    scaler=scaler,
                    sampler={
                        "epoch": state.epoch,
                        "position": state.position,
                        "seed": self.seed,
                        "world_size": ctx.world_size,
                    },
                    counters=state,
                    device=self.device,
                    extra_tensors=extra,
                    run_info=run_info,
                )
            saved_at = (state.epoch, state.step)

        stop = _StopFlag()
        stop.install()
        wait, images_start = 0.0, state.images
        start = time.perf_counter()
        self.model.train()
        try:
            for epoch in range(state.epoch, cfg.schedule.epochs):
                sampler.set_epoch(epoch)
                first = state.position if epoch == state.epoch else 0
                state.epoch, state.position = epoch, first
                if first == 0:
                    self.refresh_losses(paths, labels, camids, frames)
                batches.skip, batches.stop = first, iters
                loader_gen.manual_seed(_loader_seed(self.seed, epoch))
                t_wait = time.perf_counter()
                for batch, y, cams, idx in loader:
                    wait += time.perf_counter() - t_wait
                    x = augment(batch.to(self.device, non_blocking=True))
                    if cfg.channels_last and x.ndim == 4:
                        x = x.contiguous(memory_format=torch.channels_last)
                    y, cams = y.to(self.device), cams.to(self.device)
                    if on_batch is not None:
                        on_batch(epoch, state.step, idx)
                    with torch.autocast(self.device.type, dtype=amp_dtype, enabled=amp_on):
                        attrs = attr_table[idx].to(self.device) if attr_table is not None else None
                        total, parts = forward(x, cams, y, attrs)
                    loss = total.float()
                    if not all_true(bool(torch.isfinite(loss)), ctx):
                        raise TrainingDivergedError(
                            _diverged_message(epoch, state, loss, parts, ckpt_path, saved_at)
                        )
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                    if cfg.grad_centralization:
                        centralize_gradients(params)
                    if cfg.grad_clip is not None:
                        nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                    scheduler.step()
                    state.step += 1
                    state.position += 1
                    state.images += len(batch)
                    state.last_loss = float(loss.detach())
                    record = {
                        "epoch": epoch,
                        "step": state.step,
                        "lr": optimizer.param_groups[0]["lr"],
                        "loss": state.last_loss,
                        **{k: float(v.detach()) for k, v in parts.items()},
                    }
                    state.history.append(record)
                    if log is not None:
                        log.write(record)
                    if cfg.checkpoint_every > 0 and state.step % cfg.checkpoint_every == 0:
                        save()
                    if on_step is not None:
                        on_step(epoch, state.step, state.last_loss)
                    if any_true(stop.requested, ctx):
                        save()
                        raise TrainingInterrupted(
                            f"stopped by a signal at epoch {epoch}, step {state.step}; "
                            f"state saved to {ckpt_path}"
                        )
                    t_wait = time.perf_counter()
                self._epoch_end_hooks(epoch)
                every = cfg.eval_every
                if validation is not None and every > 0 and (epoch + 1) % every == 0:
                    if writes:
                        self._validate(validation, epoch, state, log, best_path)
                    barrier(ctx)
                state.epoch, state.position = epoch + 1, 0
                save()
        finally:
            stop.uninstall()
            if log is not None:
                log.close()
        seconds = time.perf_counter() - start
        use_best = (
            cfg.report_checkpoint == "val-best" and best_path is not None and best_path.is_file()
        )
        return TrainResult(
            epochs=cfg.schedule.epochs,
            steps=state.step,
            seconds=seconds,
            images_per_second=(state.images - images_start) / seconds if seconds > 0 else 0.0,
            data_wait_fraction=wait / seconds if seconds > 0 else 0.0,
            final_loss=state.last_loss,
            history=state.history,
            val_history=state.val_history,
            checkpoint="val-best" if use_best else "last",
            checkpoint_path=ckpt_path if ckpt_path is not None and ckpt_path.is_file() else None,
            best_path=best_path if best_path is not None and best_path.is_file() else None,
            best_val_mAP=state.best_val_map,
            best_epoch=state.best_epoch,
            resumed_from_step=resumed_from,
        )

    def _validate(
        self,
        split: ValidationSplit,
        epoch: int,
        state: TrainingState,
        log: MetricLog | None,
        best_path: Path | None,
    ) -> None:
        metrics = evaluate_validation(
            self.model, split, self.cfg.input, self.cfg.eval, device=self.device
        )
        record: dict[str, Any] = {"epoch": epoch, "step": state.step, **metrics}
        state.val_history.append(record)
        if log is not None:
            log.write(record)
        if state.best_val_map is None or metrics["val_mAP"] > state.best_val_map:
            state.best_val_map, state.best_epoch = metrics["val_mAP"], epoch
            if best_path is not None:
                save_weights(self.model, best_path, {"epoch": epoch, **metrics})


def _diverged_message(
    epoch: int,
    state: TrainingState,
    loss: Tensor,
    parts: dict[str, Tensor],
    ckpt_path: Path | None,
    saved_at: tuple[int, int] | None,
) -> str:
    values = {k: float(v.detach()) for k, v in parts.items()}
    where = (
        f"the last good checkpoint is {ckpt_path} (saved at epoch {saved_at[0]}, step "
        f"{saved_at[1]}; it was not overwritten)"
        if ckpt_path is not None and saved_at is not None
        else "no checkpoint was saved (pass checkpoint_dir to keep one)"
    )
    return (
        f"non-finite loss at epoch {epoch}, step {state.step} (batch {state.position} of the "
        f"epoch): loss {float(loss.detach())}, parts {values}; weights were not updated; "
        f"{where} (lower the learning rate or enable grad clipping)"
    )


def _truncate_log(log_path: Path, state: TrainingState) -> None:
    """Drop log lines written after the checkpoint being resumed from."""
    if not log_path.is_file():
        return
    kept = []
    for line in log_path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by the kill
        is_val = any(k.startswith("val_") for k in rec)
        if (is_val and rec["epoch"] < state.epoch) or (not is_val and rec["step"] <= state.step):
            kept.append(line)
    log_path.write_text("".join(f"{line}\n" for line in kept))
