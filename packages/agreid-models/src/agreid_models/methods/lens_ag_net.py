"""LENS-AG-Net — HRNet-18, circle loss and pseudo-labels on the test set (AG-ReID2023 §A.1).

Paper facts: HRNet-18; a "cross-entropy based" circle loss (γ 32); lr 0.01, batch 16,
60 epochs, dropout 0.5, 512-d output layer, warm epoch 5, weight decay 5e-4, "stride 2";
brightness, contrast and sharpness augmentation with random grayscale and random erasing
(0.5); re-ranking at test time; pseudo-labels: "first trained our model for a few epochs on
our training set, then predicted the labels for our testing set and used them as pseudo
labels, resulting in an increased training set".

The flag names are layumi's ``train.py``, so the model and optimisation are the HRNet-18 +
circle baseline (:mod:`agreid_models.methods.hrnet18`, card 3.4): timm ``hrnet_w18`` → GAP
(2048) → ClassBlock(512, dropout 0.5); CE + circle (γ 32, m 0.25) / B; SGD 0.01 head,
0.001 backbone, LR × 0.1 at epoch 40. ``--stride 2`` has no effect on HRNet in that code: it is
not modelled. Input 224×224 (Table 3's HRNet row; the appendix gives no size).

Card proposals: ColorJitter(brightness .2, contrast .2), sharpness p .5, grayscale p .1,
erasing .5; re-ranking (20, 6, 0.3). Pseudo-labels (test identities are disjoint from the
training ones, so the classifier cannot name them): (a) train 20 epochs (stage
``pretrain``); (b) embed query + gallery of every protocol (flip TTA), k-reciprocal Jaccard
distance, DBSCAN (eps 0.6, min_samples 4), outliers and points whose nearest centroid is
not their own dropped (:mod:`agreid_models.pseudo_labels`); (c) each cluster becomes a new
identity numbered after the largest training pid, and the remaining 40 epochs train on
train ∪ pseudo-labelled test (stage ``pseudo``, warm-started from ``pretrain``, classifier
rows of the training identities copied, LR steps shifted by 20 epochs, no second warm-up).
No test label is read: only paths and cameras of the test rows; their annotated attributes
are blanked. The run is marked transductive.

``pseudo_labels=False`` trains one 60-epoch stage ``train`` (the ablation).

Engine approximations (see also :mod:`agreid_models.methods.hrnet18`): LR warm-up instead of
layumi's loss warm-up, P×4 batches instead of shuffled ones; the engine's colour jitter
also jitters saturation with the same strength.

The ``cpu`` profile: ``hrnet_w18_small`` at 64×64, P2×K4, 4 + 4 epochs, cosine distances for
the clustering on at most 40 test images, eps 0.8 (card: "pseudo-label step on 40 images
with eps raised to 0.8").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
import torch
from torch import nn

from agreid_core.config import AugmentConfig, EvalConfig, TrainingConfig
from agreid_core.engine.stages import TRANSDUCTIVE, Stage, StageContext
from agreid_core.method import DataInfo, MethodSpec, Recipe
from agreid_models.methods.hrnet18 import (
    hrnet_circle_recipe,
    layumi_cpu_training,
    layumi_training,
)
from agreid_models.pseudo_labels import (
    assign_pseudo_labels,
    pseudo_labelled_rows,
    unlabelled_test_rows,
)

#: Stage names.
PRETRAIN, PSEUDO, SINGLE = "pretrain", "pseudo", "train"


@dataclass(frozen=True)
class LENSConfig:
    """LENS-AG-Net: the HRNet-18 + circle settings plus the pseudo-labelling step."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    variant: str = "hrnet_w18"
    pretrained: bool = True
    weights: str | None = None
    bottleneck: int = 512
    dropout: float = 0.5
    classifier_std: float = 0.001
    circle_gamma: float = 32.0
    circle_margin: float = 0.25
    #: off: one stage of ``training.schedule.epochs``
    pseudo_labels: bool = True
    #: epochs of the first stage; the pseudo stage trains the rest of the schedule
    pretrain_epochs: int = 20
    pseudo_distance: Literal["cosine", "jaccard"] = "jaccard"
    pseudo_eps: float = 0.6
    pseudo_min_samples: int = 4
    pseudo_min_confidence: float = 0.0
    #: cluster at most this many test images (a seeded sample; 0 = all)
    pseudo_max_images: int = 0


def _augment(pad: int) -> AugmentConfig:
    return AugmentConfig(
        flip=0.5,
        pad=pad,
        random_erasing=0.5,
        color_jitter=1.0,
        jitter_strength=0.2,
        sharpness=0.5,
        grayscale=0.1,
    )


def _eval(batch_size: int) -> EvalConfig:
    return EvalConfig(
        metric="cosine",
        flip=True,
        rerank=True,
        rerank_k1=20,
        rerank_k2=6,
        rerank_lambda=0.3,
        batch_size=batch_size,
    )


def paper() -> LENSConfig:
    """HRNet-18 at 224×224, batch 16, SGD 0.01, 20 + 40 epochs, pseudo-labels, re-ranking."""
    t = layumi_training((224, 224), lr=0.01, ids_per_batch=4)
    t = dataclasses.replace(t, augment=_augment(10), eval=_eval(128))
    return LENSConfig(training=t)


def cpu() -> LENSConfig:
    """``hrnet_w18_small`` at 64×64, P2×K4, 4 + 4 epochs, clustering 40 test images."""
    t = layumi_cpu_training((64, 64))
    t = dataclasses.replace(t, augment=_augment(4), eval=_eval(128))
    return LENSConfig(
        training=t,
        variant="hrnet_w18_small",
        pretrained=False,
        pretrain_epochs=4,
        pseudo_distance="cosine",
        pseudo_eps=0.8,
        pseudo_max_images=40,
    )


def build(cfg: LENSConfig, info: DataInfo) -> Recipe:
    """HRNet → GAP → ClassBlock(512); CE + circle / B (one stage's recipe)."""
    return hrnet_circle_recipe(cfg, info)


def split_schedule(t: TrainingConfig, pretrain_epochs: int, first: bool) -> TrainingConfig:
    """The first ``pretrain_epochs`` of ``t``'s schedule, or the rest (milestones shifted,
    no warm-up: it continues a trained model)."""
    s = t.schedule
    if not 0 < pretrain_epochs < s.epochs:
        raise ValueError(
            f"pretrain_epochs must lie in (0, {s.epochs}) (the schedule's epochs), "
            f"got {pretrain_epochs}"
        )
    if first:
        schedule = dataclasses.replace(
            s,
            epochs=pretrain_epochs,
            milestones=tuple(m for m in s.milestones if m < pretrain_epochs),
        )
    else:
        schedule = dataclasses.replace(
            s,
            epochs=s.epochs - pretrain_epochs,
            milestones=tuple(m - pretrain_epochs for m in s.milestones if m > pretrain_epochs),
            warmup_iters=0,
        )
    return dataclasses.replace(t, schedule=schedule)


def pseudo_train_rows(ctx: StageContext) -> pl.DataFrame:
    """Train rows ∪ pseudo-labelled test rows (see the module docstring); marks the run
    transductive and records counts in ``ctx.notes["pseudo_labels"]``."""
    from agreid_core.evaluation.extract import extract_features

    cfg: LENSConfig = ctx.config
    train = ctx.data.train()
    test = unlabelled_test_rows(ctx.data).select(
        "path", "camid", *[c for c in ctx.data.index.columns if c not in ("path", "camid", "pid")]
    )
    if 0 < cfg.pseudo_max_images < test.height:
        keep = torch.randperm(test.height, generator=torch.Generator().manual_seed(ctx.seed))
        test = test[sorted(keep[: cfg.pseudo_max_images].tolist())]
    features = extract_features(
        ctx.models[PRETRAIN],
        test["path"].to_list(),
        test["camid"].to_list(),
        cfg.training.input,
        device=ctx.device,
        batch_size=cfg.training.eval.batch_size,
        flip=cfg.training.eval.flip,
    )
    result = assign_pseudo_labels(
        features,
        eps=cfg.pseudo_eps,
        min_samples=cfg.pseudo_min_samples,
        min_confidence=cfg.pseudo_min_confidence,
        distance=cfg.pseudo_distance,
    )
    first_pid = int(train["pid"].max()) + 1  # type: ignore[arg-type]
    pseudo = pseudo_labelled_rows(test, result.labels, first_pid)
    ctx.notes[TRANSDUCTIVE] = "pseudo-labels on the unlabelled test images"
    ctx.notes["pseudo_labels"] = {
        "images": test.height,
        "labelled": int(result.kept.sum()),
        "clusters": result.num_clusters,
        "first_pid": first_pid,
    }
    return pl.concat([train, pseudo.select(train.columns)], how="vertical_relaxed")


def warm_start(model: nn.Module, previous: nn.Module) -> None:
    """Copy ``previous``'s weights into ``model``; a grown classifier gets the old rows first
    (the training identities keep their class indices: pseudo pids sort after them)."""
    state = model.state_dict()
    with torch.no_grad():
        for name, value in previous.state_dict().items():
            if name not in state:
                raise RuntimeError(f"warm start: {name!r} is not in the new model")
            target = state[name]
            if target.shape == value.shape:
                target.copy_(value)
            elif target.shape[1:] == value.shape[1:] and target.shape[0] > value.shape[0]:
                target[: value.shape[0]].copy_(value)
            else:
                raise RuntimeError(
                    f"warm start: {name!r} has shape {tuple(value.shape)}, "
                    f"the new model {tuple(target.shape)}"
                )


def _pseudo_stage(ctx: StageContext, info: DataInfo) -> Recipe:
    recipe = build(ctx.config, info)
    warm_start(recipe.model, ctx.models[PRETRAIN])
    return recipe


def stages(cfg: LENSConfig) -> list[Stage]:
    """``pretrain`` → ``pseudo`` with pseudo-labels, else the single stage ``train``."""
    if not cfg.pseudo_labels:
        return [Stage(SINGLE, lambda ctx, info: build(ctx.config, info), summary="no pseudo")]
    pre = cfg.pretrain_epochs
    return [
        Stage(
            PRETRAIN,
            lambda ctx, info: build(ctx.config, info),
            training=lambda t: split_schedule(t, pre, first=True),
            summary=f"first {pre} epochs on the training split",
        ),
        Stage(
            PSEUDO,
            _pseudo_stage,
            training=lambda t: split_schedule(t, pre, first=False),
            train_rows=pseudo_train_rows,
            summary="warm start; train ∪ pseudo-labelled test images",
        ),
    ]


SPEC: MethodSpec[LENSConfig] = MethodSpec(
    summary="LENS-AG-Net: HRNet-18, CE + circle (γ 32), colour aug, pseudo-labels, re-ranking",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="LENS-AG-Net (AG-ReID2023 challenge A.1); layumi Person_reID_baseline_pytorch; "
    "Sun et al., Circle Loss, CVPR 2020; Zhong et al., Re-ranking, CVPR 2017",
    stages=stages,
)

#: Registered name → spec.
SPECS: dict[str, MethodSpec[LENSConfig]] = {"lens-ag-net": SPEC}
