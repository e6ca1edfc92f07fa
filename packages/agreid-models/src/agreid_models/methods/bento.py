"""BENTO — ensemble of proxy-trained backbones (AG-ReID2023 challenge, appendix A.3; card 4.3).

Paper facts: four ImageNet backbones trained separately, ResNet50-IBN, ResNet101-IBN, OSNet
and a TransReID ViT with its first 8 blocks frozen; the ResNets use last stride 1 and a
"spatial-channel attention" in the CNNs. Before every "epoch" all training features are
extracted and give class proxies (mean per identity) and camera proxies (mean per identity
and camera); the loss is ``L = L_cen + 0.5·L_cp + 0.5·L_ch`` with τ = 0.05. Batches hold
P = 16 identities × 3 cameras × K = 8 images (384) of 256×128; Adam, LR 3.5e-4 (×0.1 at
epochs 30 and 40), 50 epochs, wd 5e-4; one "epoch" is 5 passes over all batches. At test
time gallery features are averaged per identity, re-ranked, and the models are averaged.
The best entry adds a self-supervised fine-tuning on query + gallery (clusters as
identities, 1–3 epochs).

Mapping onto the engine:

- every member (``members``: ``ibn50``, ``ibn101``, ``osnet``, ``vit``) is one stage:
  backbone → GAP → BNNeck without classifier; L_cen and L_cp on the pooled ``features``
  (:class:`PeriodicProxyLoss`, a :class:`~agreid_losses.proxy.BentoProxyLoss` whose proxies
  are refreshed from the trainer's per-epoch features only every ``passes_per_refresh``
  trainer epochs = one BENTO "epoch"), L_ch = camera softmax-triplet, weight λ_ch;
  the proxy modules carry their λ, so their term weights stay 1;
- L_cp's positives come from the other *platform* (aerial ↔ ground), read from the
  dataset's ``platform`` column per camera (every camera is its own platform when absent);
- the trainer's epoch is one pass, so the paper's 50 epochs × 5 passes are 250 trainer
  epochs with decays at 150 and 200;
- sampler ``platform-pk`` (P identities × K images from each platform); the trainer honours
  it, but it skips identities seen on one platform only and an identity seen on two of the
  three platforms contributes 2K images (the card proposes topping up from other cameras);
- attention = :class:`~agreid_models.heads.spatial_attention.SpatialChannelAttention`
  (CBAM-style, zero-initialised residual; card proposal) after ``layer2`` and ``layer3`` of
  the IBN ResNets and after ``conv2`` and ``conv3`` of OSNet (``attention=False``: none);
- ``self_supervised``: one more stage per member, ``<member>-ssl``, warm-started from it and
  trained ``ssl_epochs`` trainer epochs on the query + gallery images clustered with DBSCAN
  on the Jaccard distance (:mod:`agreid_models.clustering`; noise dropped); the run is
  marked transductive;
- evaluation: the members' final models are fused by
  :class:`~agreid_models.ensemble.FusedEnsemble` (mean of the cosine similarities).
  Re-ranking is on in the ``paper`` profile and runs on the fused features (BENTO re-ranks
  each model and then averages the distance matrices). The gallery centroids read gallery
  identity labels, so they are oracle and off by default:
  ``agreid run --method bento --oracle --set training.eval.centroid_gallery=true``
  reproduces the paper's setting.

The ``cpu`` profile keeps the code path with two tiny members (IBN-a ResNet-50 with layers
(1, 1, 1, 1) and OSNet x0.25), 64×32 inputs, P2 × K2 per platform, 2 epochs of 30 steps
each with one proxy refresh in between, random initialisation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
import torch
from torch import Tensor, nn

from agreid_core.config import (
    AugmentConfig,
    EvalConfig,
    InputConfig,
    OptimConfig,
    SamplerConfig,
    ScheduleConfig,
    TrainingConfig,
)
from agreid_core.engine.stages import TRANSDUCTIVE, Stage, StageContext
from agreid_core.method import DataInfo, LossTerm, MethodSpec, Recipe
from agreid_losses.proxy import BentoProxyLoss
from agreid_models.global_net import GlobalFeatureNet
from agreid_models.heads.bnneck import BNNeck
from agreid_models.heads.pooling import GlobalAveragePooling

Member = Literal["ibn50", "ibn101", "osnet", "vit"]
MEMBERS: tuple[Member, ...] = ("ibn50", "ibn101", "osnet", "vit")

#: Platform code of aerial cameras in L_cp's camera → platform table; ground cameras get 1.
AERIAL, GROUND = 0, 1


@dataclass(frozen=True)
class BentoConfig:
    """BENTO's members, proxy losses and self-supervised stage plus the shared training section.

    ``training.schedule`` counts trainer epochs (one pass each); a BENTO "epoch" is
    ``passes_per_refresh`` of them.
    """

    training: TrainingConfig = field(default_factory=TrainingConfig)
    members: tuple[str, ...] = MEMBERS
    #: per-member fusion weights (empty: equal, i.e. the mean of the cosine similarities)
    member_weights: tuple[float, ...] = ()
    pretrained: bool = True
    last_stride: int = 1
    #: blocks per IBN ResNet stage (empty: the depth's own)
    ibn_layers: tuple[int, ...] = ()
    osnet_width: float = 1.0
    vit_embed_dim: int = 0
    vit_depth: int = 0
    vit_heads: int = 0
    vit_frozen_blocks: int = 8
    vit_sie: bool = True
    attention: bool = True
    embedding_from: Literal["neck", "pooled"] = "neck"
    temperature: float = 0.05
    lambda_cen: float = 1.0
    lambda_cp: float = 0.5
    lambda_ch: float = 0.5
    passes_per_refresh: int = 5
    self_supervised: bool = False
    ssl_epochs: int = 10
    ssl_sampler: Literal["pk", "platform-pk"] = "pk"
    ssl_distance: Literal["jaccard", "cosine"] = "jaccard"
    ssl_eps: float = 0.6
    ssl_min_samples: int = 4
    ssl_k1: int = 30
    ssl_k2: int = 6


class PeriodicProxyLoss(BentoProxyLoss):
    """A :class:`BentoProxyLoss` that recomputes its proxies at every ``every``-th refresh call.

    The trainer calls ``refresh_from_features`` at the start of each (one-pass) epoch; the
    count of calls is a buffer, so a resumed run keeps the rhythm. Calls 0, every, 2·every, …
    refresh; the others leave the proxies untouched.
    """

    refresh_calls: Tensor

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        num_cameras: int = 1,
        temperature: float = 0.05,
        lambda_cen: float = 1.0,
        lambda_cp: float = 0.5,
        camera_platforms: Sequence[int] | None = None,
        every: int = 1,
    ) -> None:
        super().__init__(
            num_classes,
            feat_dim,
            num_cameras,
            temperature,
            lambda_cen,
            lambda_cp,
            camera_platforms,
        )
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.register_buffer("refresh_calls", torch.tensor(0, dtype=torch.long))

    @torch.no_grad()
    def refresh_from_features(self, features: Tensor, labels: Tensor, camids: Tensor) -> None:
        """Recompute the proxies when the call count is a multiple of ``every``."""
        if int(self.refresh_calls) % self.every == 0:
            super().refresh_from_features(features, labels, camids)
        self.refresh_calls += 1


def _check_members(members: Sequence[str]) -> tuple[Member, ...]:
    unknown = [m for m in members if m not in MEMBERS]
    if not members or unknown or len(set(members)) != len(members):
        raise ValueError(
            f"members must be distinct names from {', '.join(MEMBERS)}, got {tuple(members)}"
        )
    return tuple(m for m in MEMBERS if m in members)


def build_backbone(cfg: BentoConfig, member: str, info: DataInfo) -> nn.Module:
    """The member's backbone with the spatial-channel attention attached to the CNNs."""
    from agreid_models.heads.spatial_attention import attach_spatial_channel_attention

    _check_members([member])
    if member in ("ibn50", "ibn101"):
        from agreid_models.backbones.ibn import ResNetIBNBackbone

        layers = tuple(cfg.ibn_layers)
        ibn = ResNetIBNBackbone(
            50 if member == "ibn50" else 101,
            cfg.last_stride,
            cfg.pretrained,
            layers=(layers[0], layers[1], layers[2], layers[3]) if layers else None,
        )
        if cfg.attention:
            attach_spatial_channel_attention(ibn.body, ("layer2", "layer3"))
        return ibn
    if member == "osnet":
        from agreid_models.backbones.osnet import OSNetBackbone

        osnet = OSNetBackbone(width=cfg.osnet_width, pretrained=cfg.pretrained)
        if cfg.attention:
            attach_spatial_channel_attention(osnet, ("conv2", "conv3"))
        return osnet
    from agreid_models.backbones.vit import ViTBackbone

    inp = cfg.training.input
    return ViTBackbone(
        img_size=(inp.height, inp.width),
        stride=12,
        num_cameras=info.num_cameras if cfg.vit_sie else 0,
        frozen_blocks=cfg.vit_frozen_blocks,
        embed_dim=cfg.vit_embed_dim or None,
        depth=cfg.vit_depth or None,
        num_heads=cfg.vit_heads or None,
        pretrained=cfg.pretrained,
    )


def camera_platforms(index: pl.DataFrame, num_cameras: int) -> list[int] | None:
    """Per camera id: :data:`AERIAL` or :data:`GROUND` from the index's ``platform`` column.

    ``None`` (every camera its own platform) when the column is missing or a camera id in
    ``[0, num_cameras)`` has no platform or several.
    """
    if "platform" not in index.columns:
        return None
    pairs = index.select(pl.col("camid").cast(pl.Int64), "platform").unique().drop_nulls()
    table: dict[int, str] = {}
    for camid, platform in pairs.iter_rows():
        if camid in table and table[camid] != platform:
            return None
        table[camid] = platform
    if set(table) != set(range(num_cameras)):
        return None
    return [AERIAL if table[c] == "aerial" else GROUND for c in range(num_cameras)]


def build_member(
    cfg: BentoConfig, member: str, info: DataInfo, platforms: Sequence[int] | None = None
) -> Recipe:
    """One member: backbone → GAP → BNNeck; L_cen (+ L_cp, + L_ch when their λ > 0)."""
    from agreid_losses.camera_triplet import CameraSoftmaxTripletLoss

    backbone = build_backbone(cfg, member, info)
    dim = int(getattr(backbone, "feature_dim"))  # noqa: B009
    model = GlobalFeatureNet(
        backbone,
        GlobalAveragePooling(),
        BNNeck(dim, 0),
        cfg.embedding_from,
        camera_aware=member == "vit",
    )
    every = cfg.passes_per_refresh
    losses = [
        LossTerm(
            "cen",
            PeriodicProxyLoss(
                info.num_classes,
                dim,
                temperature=cfg.temperature,
                lambda_cen=cfg.lambda_cen,
                lambda_cp=0.0,
                every=every,
            ),
            input_key="features",
        )
    ]
    if cfg.lambda_cp > 0:
        cp = PeriodicProxyLoss(
            info.num_classes,
            dim,
            num_cameras=info.num_cameras,
            temperature=cfg.temperature,
            lambda_cen=0.0,
            lambda_cp=cfg.lambda_cp,
            camera_platforms=platforms,
            every=every,
        )
        losses.append(LossTerm("cp", cp, input_key="features", extra_targets=("camids",)))
    if cfg.lambda_ch > 0:
        ch = CameraSoftmaxTripletLoss(cfg.temperature)
        losses.append(
            LossTerm(
                "ch", ch, input_key="features", weight=cfg.lambda_ch, extra_targets=("camids",)
            )
        )
    return Recipe(
        model=model,
        losses=losses,
        head_parameter_prefixes=("neck.",),
        notes={"member": member, "camera_platforms": list(platforms) if platforms else None},
    )


def build(cfg: BentoConfig, info: DataInfo) -> Recipe:
    """The first configured member's recipe (what conformance checks build)."""
    return build_member(cfg, _check_members(cfg.members)[0], info)


def _member_stage(member: str) -> Stage:
    def _build(ctx: StageContext, info: DataInfo) -> Recipe:
        platforms = camera_platforms(ctx.data.index, info.num_cameras)
        return build_member(ctx.config, member, info, platforms)

    return Stage(member, _build, summary=f"{member}: L_cen + λcp·L_cp + λch·L_ch")


def ssl_train_rows(ctx: StageContext, member: str) -> pl.DataFrame:
    """Query + gallery images clustered by ``member``'s features into new identities.

    Only paths and cameras of the test images are read; their pids are replaced by cluster
    ids after the largest training pid. Marks the run transductive.
    """
    from agreid_core.evaluation.extract import extract_features
    from agreid_models.clustering import cluster_features, clustered_rows
    from agreid_models.pseudo_labels import unlabelled_test_rows

    cfg: BentoConfig = ctx.config
    test = unlabelled_test_rows(ctx.data)
    features = extract_features(
        ctx.models[member],
        test["path"].to_list(),
        test["camid"].to_list(),
        cfg.training.input,
        device=ctx.device,
        batch_size=cfg.training.eval.batch_size,
    )
    clusters = cluster_features(
        features,
        eps=cfg.ssl_eps,
        min_samples=cfg.ssl_min_samples,
        distance=cfg.ssl_distance,
        k1=cfg.ssl_k1,
        k2=cfg.ssl_k2,
    )
    if clusters.num_clusters < 2:
        raise ValueError(
            f"self-supervised stage of {member}: DBSCAN found {clusters.num_clusters} cluster(s) "
            f"in {test.height} test images (eps {cfg.ssl_eps}, min_samples "
            f"{cfg.ssl_min_samples}); raise ssl_eps or lower ssl_min_samples"
        )
    first_pid = int(ctx.data.train()["pid"].max()) + 1  # type: ignore[arg-type]
    ctx.notes[TRANSDUCTIVE] = "self-supervised fine-tuning on clustered query+gallery images"
    ctx.notes[f"{member}-ssl"] = {
        "images": test.height,
        "clustered": int(clusters.kept.numel()),
        "clusters": clusters.num_clusters,
        "first_pid": first_pid,
    }
    return clustered_rows(test, clusters, first_pid)


def ssl_training(cfg: BentoConfig, t: TrainingConfig) -> TrainingConfig:
    """The fine-tuning schedule: ``ssl_epochs`` at the base LR, no warm-up, no decay."""
    schedule = dataclasses.replace(t.schedule, epochs=cfg.ssl_epochs, milestones=(), warmup_iters=0)
    sampler = dataclasses.replace(t.sampler, name=cfg.ssl_sampler)
    return dataclasses.replace(t, schedule=schedule, sampler=sampler)


def _ssl_stage(cfg: BentoConfig, member: str) -> Stage:
    def _build(ctx: StageContext, info: DataInfo) -> Recipe:
        recipe = build_member(ctx.config, member, info, None)
        recipe.model.load_state_dict(ctx.models[member].state_dict())  # no classifier to grow
        return recipe

    return Stage(
        f"{member}-ssl",
        _build,
        training=lambda t: ssl_training(cfg, t),
        train_rows=lambda ctx: ssl_train_rows(ctx, member),
        summary=f"{member} fine-tuned on clustered query+gallery (transductive)",
    )


def stages(cfg: BentoConfig) -> list[Stage]:
    """One stage per member, each followed by its ``-ssl`` stage when ``self_supervised``."""
    out: list[Stage] = []
    for member in _check_members(cfg.members):
        out.append(_member_stage(member))
        if cfg.self_supervised:
            out.append(_ssl_stage(cfg, member))
    return out


def final_stage_names(cfg: BentoConfig) -> list[str]:
    """The stage whose model represents each member in the ensemble."""
    suffix = "-ssl" if cfg.self_supervised else ""
    return [m + suffix for m in _check_members(cfg.members)]


def assemble(ctx: StageContext) -> nn.Module:
    """The members' final models fused by the mean of their cosine similarities."""
    from agreid_models.ensemble import FusedEnsemble

    cfg: BentoConfig = ctx.config
    names = final_stage_names(cfg)
    return FusedEnsemble([ctx.models[n] for n in names], cfg.member_weights or None)


def _training(
    size: tuple[int, int], ids: int, per_platform: int, epochs: int, milestones: tuple[int, ...]
) -> TrainingConfig:
    return TrainingConfig(
        input=InputConfig(height=size[0], width=size[1]),
        sampler=SamplerConfig(name="platform-pk", ids_per_batch=ids, instances_per_id=per_platform),
        augment=AugmentConfig(flip=0.5, pad=10, random_erasing=0.5),
        optim=OptimConfig(name="adam", lr=3.5e-4, weight_decay=5e-4),
        schedule=ScheduleConfig(
            epochs=epochs, kind="multistep", milestones=milestones, gamma=0.1, warmup_iters=0
        ),
        eval=EvalConfig(metric="cosine", rerank=True, rerank_k1=20, rerank_k2=6),
        num_workers=8,
    )


def paper() -> BentoConfig:
    """Four members, 256×128, P16 × K8 per platform, 50 × 5 passes, decays at 30 and 40."""
    return BentoConfig(training=_training((256, 128), 16, 8, 50 * 5, (30 * 5, 40 * 5)))


def cpu() -> BentoConfig:
    """Two tiny members (IBN-a (1,1,1,1), OSNet x0.25), 64×32, P2 × K2 per platform, 8 passes
    of 60 steps each with the proxies refreshed every 2 passes, lr 1e-3 (× 0.1 after pass 6),
    random init, no re-ranking: about two minutes a member on two cores.

    Passes are capped at 60 steps (≈ 480 images, a quarter of the embedded training set)
    because every refresh also embeds the whole training set for the proxies."""
    t = _training((64, 32), 2, 2, 8, (6,))
    t = dataclasses.replace(
        t,
        schedule=dataclasses.replace(t.schedule, iters_per_epoch=60),
        augment=AugmentConfig(flip=0.5, pad=5, random_erasing=0.5),
        optim=dataclasses.replace(t.optim, lr=1e-3),
        eval=dataclasses.replace(t.eval, rerank=False, batch_size=128),
        num_workers=2,
    )
    return BentoConfig(
        training=t,
        members=("ibn50", "osnet"),
        pretrained=False,
        ibn_layers=(1, 1, 1, 1),
        osnet_width=0.25,
        vit_embed_dim=64,
        vit_depth=2,
        vit_heads=2,
        vit_frozen_blocks=1,
        passes_per_refresh=2,
        ssl_epochs=1,
        ssl_min_samples=2,
    )


SPEC: MethodSpec[BentoConfig] = MethodSpec(
    summary="BENTO: IBN50/IBN101/OSNet/ViT-s12 ensemble, class+camera proxies, camera triplet",
    profiles={"paper": paper, "cpu": cpu},
    build=build,
    reference="BENTO (AG-ReID2023 challenge A.3); Pan et al., IBN-Net, ECCV 2018; Zhou et al., "
    "OSNet, ICCV 2019; He et al., TransReID, ICCV 2021; Woo et al., CBAM, ECCV 2018",
    stages=stages,
    assemble=assemble,
)

#: Registered name → spec.
SPECS: dict[str, MethodSpec[BentoConfig]] = {"bento": SPEC}
