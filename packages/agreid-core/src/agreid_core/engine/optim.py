"""Optimiser parameter groups and the warm-up + decay learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from agreid_core.config import OptimConfig, ScheduleConfig


def _is_norm_or_bias(name: str, param: nn.Parameter) -> bool:
    return param.ndim <= 1 or name.endswith(".bias")


def build_optimizer(
    model: nn.Module, cfg: OptimConfig, head_prefixes: Sequence[str] = ()
) -> torch.optim.Optimizer:
    """Adam/AdamW/SGD over param groups: head vs backbone LR, biases and norms.

    Head parameters (names starting with one of ``head_prefixes``) get
    ``lr * head_lr_factor``; biases get ``bias_lr_factor``; 1-D parameters (norms, biases)
    get no weight decay unless ``weight_decay_norm``.
    """
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lr = cfg.lr
        if any(name.startswith(p) for p in head_prefixes):
            lr *= cfg.head_lr_factor
        if name.endswith(".bias"):
            lr *= cfg.bias_lr_factor
        wd = cfg.weight_decay
        if _is_norm_or_bias(name, param) and not cfg.weight_decay_norm:
            wd = 0.0
        groups.setdefault((lr, wd), []).append(param)
    param_groups = [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()]
    if cfg.name == "adam":
        return torch.optim.Adam(param_groups, lr=cfg.lr)
    if cfg.name == "adamw":
        return torch.optim.AdamW(param_groups, lr=cfg.lr)
    return torch.optim.SGD(param_groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)


def lr_factor(iteration: int, cfg: ScheduleConfig, iters_per_epoch: int, base_lr: float) -> float:
    """Multiplier of the base LR at ``iteration`` (0-based, counted over the whole run).

    Linear warm-up from ``warmup_factor`` to 1 over ``warmup_iters`` iterations, multiplied
    by the decay: ``gamma ** (#milestones passed)`` (milestones in epochs), a cosine from 1
    to ``min_lr / base_lr`` over the run, or 1 (constant).
    """
    warm = 1.0
    if iteration < cfg.warmup_iters:
        alpha = iteration / cfg.warmup_iters
        warm = cfg.warmup_factor * (1 - alpha) + alpha
    epoch = iteration / max(iters_per_epoch, 1)
    if cfg.kind == "multistep":
        decay = cfg.gamma ** sum(1 for m in cfg.milestones if epoch >= m)
    elif cfg.kind == "cosine":
        total = max(cfg.epochs * iters_per_epoch, 1)
        floor = cfg.min_lr / base_lr if base_lr > 0 else 0.0
        decay = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(iteration / total, 1.0)))
    else:
        decay = 1.0
    return warm * decay


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, iters_per_epoch: int, base_lr: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-iteration scheduler applying :func:`lr_factor` to every param group."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: lr_factor(it, cfg, iters_per_epoch, base_lr)
    )
