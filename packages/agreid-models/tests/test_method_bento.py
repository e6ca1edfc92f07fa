"""BENTO: profiles vs the card, member stages and their proxy losses, periodic proxy refresh,
the self-supervised stage's pseudo-labels, the fused ensemble and a tiny end-to-end run."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import polars as pl
import pytest
import torch
from torch import Tensor, nn

from agreid_core.data.dataset import ReIDData
from agreid_core.data.index import empty_index
from agreid_core.engine.stages import TRANSDUCTIVE, StageContext
from agreid_core.method import EMBEDDING, Criterion, DataInfo, MethodSpec, Recipe
from agreid_core.testing import check_method
from agreid_losses.camera_triplet import CameraSoftmaxTripletLoss
from agreid_models.ensemble import FusedEnsemble
from agreid_models.methods import bento

CORE_TESTS = Path(__file__).parents[2] / "agreid-core" / "tests"
INFO = DataInfo(num_classes=4, num_cameras=3, num_train_samples=24)


def small(**changes: object) -> bento.BentoConfig:
    """The cpu profile at 64×32 (keeps the tests fast on shared cores)."""
    cfg = bento.cpu()
    inp = dataclasses.replace(cfg.training.input, height=64, width=32)
    cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, input=inp))
    return dataclasses.replace(cfg, **changes)  # type: ignore[arg-type]


def test_paper_profile_is_the_card() -> None:
    cfg = bento.paper()
    t = cfg.training
    assert cfg.members == ("ibn50", "ibn101", "osnet", "vit")
    assert (t.input.height, t.input.width) == (256, 128)
    s = t.sampler
    assert (s.name, s.ids_per_batch, s.instances_per_id) == ("platform-pk", 16, 8)  # 16×3×8
    assert (t.optim.name, t.optim.lr, t.optim.weight_decay) == ("adam", 3.5e-4, 5e-4)
    # 50 BENTO epochs of 5 passes, ×0.1 at BENTO epochs 30 and 40, proxies every 5 passes
    assert (t.schedule.epochs, t.schedule.milestones, t.schedule.gamma) == (250, (150, 200), 0.1)
    assert cfg.passes_per_refresh == 5
    assert (cfg.temperature, cfg.lambda_cen, cfg.lambda_cp, cfg.lambda_ch) == (0.05, 1, 0.5, 0.5)
    assert (cfg.last_stride, cfg.attention, cfg.vit_frozen_blocks) == (1, True, 8)
    assert t.eval.rerank and not t.eval.centroid_gallery and not t.eval.oracle
    assert not cfg.self_supervised  # the "second best" entry; flag adds the fine-tuning
    assert (cfg.ssl_distance, cfg.ssl_eps, cfg.ssl_min_samples, cfg.ssl_k1, cfg.ssl_k2) == (
        "jaccard",
        0.6,
        4,
        30,
        6,
    )
    assert [s.name for s in bento.stages(cfg)] == ["ibn50", "ibn101", "osnet", "vit"]


def test_cpu_profile_is_small() -> None:
    cfg = bento.cpu()
    t = cfg.training
    assert cfg.members == ("ibn50", "osnet") and not cfg.pretrained
    assert (cfg.ibn_layers, cfg.osnet_width) == ((1, 1, 1, 1), 0.25)
    assert (cfg.vit_embed_dim, cfg.vit_depth, cfg.vit_frozen_blocks) == (64, 2, 1)
    assert t.input.height <= 128 and t.sampler.name == "platform-pk"
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id) == (2, 2)
    # eight capped passes per member, proxies refreshed every second pass, one LR step
    assert (t.schedule.epochs, t.schedule.iters_per_epoch, t.schedule.milestones) == (8, 60, (6,))
    assert cfg.passes_per_refresh == 2


def test_stage_lists_follow_members_and_the_self_supervised_flag() -> None:
    cfg = bento.cpu()
    assert [s.name for s in bento.stages(cfg)] == ["ibn50", "osnet"]
    ssl = dataclasses.replace(cfg, self_supervised=True, members=("vit", "ibn50"))
    stages = bento.stages(ssl)
    assert [s.name for s in stages] == ["ibn50", "ibn50-ssl", "vit", "vit-ssl"]
    assert stages[1].train_rows is not None and stages[0].train_rows is None
    assert bento.final_stage_names(ssl) == ["ibn50-ssl", "vit-ssl"]
    t = stages[1].training(cfg.training) if stages[1].training else None
    assert t is not None and (t.schedule.epochs, t.schedule.milestones) == (1, ())
    assert t.sampler.name == "pk"
    with pytest.raises(ValueError, match="distinct names from ibn50, ibn101, osnet, vit"):
        bento.stages(dataclasses.replace(cfg, members=("resnet",)))


@pytest.mark.parametrize("member", bento.MEMBERS)
def test_each_member_builds_the_proxy_and_camera_triplet_terms(member: str) -> None:
    recipe = bento.build_member(small(), member, INFO, platforms=[0, 1, 1])
    terms = {t.name: (t.input_key, t.weight, t.extra_targets) for t in recipe.losses}
    assert terms == {
        "cen": ("features", 1.0, ()),
        "cp": ("features", 1.0, ("camids",)),  # λ_cp lives in the module
        "ch": ("features", 0.5, ("camids",)),
    }
    cen, cp, ch = (t.loss for t in recipe.losses)
    assert isinstance(cen, bento.PeriodicProxyLoss) and isinstance(cp, bento.PeriodicProxyLoss)
    assert (cen.lambda_cen, cen.lambda_cp, cen.temperature, cen.every) == (1.0, 0.0, 0.05, 2)
    assert (cp.lambda_cen, cp.lambda_cp, cp.num_cameras) == (0.0, 0.5, 3)
    assert cp.platforms.tolist() == [0, 1, 1]
    assert isinstance(ch, CameraSoftmaxTripletLoss) and ch.temperature == 0.05
    model = recipe.model.eval()
    x = torch.randn(2, 3, 64, 32)
    out = model(x, torch.tensor([0, 2]))
    assert out[EMBEDDING].shape == out["features"].shape and "logits" not in out


def test_ablation_flags_drop_terms_and_attention() -> None:
    cfg = small(lambda_cp=0.0, lambda_ch=0.0, attention=False)
    recipe = bento.build_member(cfg, "ibn50", INFO)
    assert [t.name for t in recipe.losses] == ["cen"]
    from agreid_models.heads.spatial_attention import SpatialChannelAttention

    assert not any(isinstance(m, SpatialChannelAttention) for m in recipe.model.modules())
    with_attn = bento.build_member(small(), "osnet", INFO).model
    assert sum(isinstance(m, SpatialChannelAttention) for m in with_attn.modules()) == 2


def test_vit_member_freezes_blocks_and_uses_cameras() -> None:
    recipe = bento.build_member(small(), "vit", INFO)
    blocks = recipe.model.backbone.body.blocks
    assert not any(p.requires_grad for p in blocks[0].parameters())
    assert all(p.requires_grad for p in blocks[1].parameters())
    model = recipe.model.eval()
    x = torch.randn(1, 3, 64, 32).repeat(2, 1, 1, 1)
    emb = model(x, torch.tensor([0, 2]))[EMBEDDING]
    assert not torch.allclose(emb[0], emb[1])  # SIE: the camera changes the feature


def test_proxy_refresh_is_wired_and_periodic() -> None:
    recipe = bento.build_member(small(), "osnet", INFO, platforms=[0, 1, 1])
    criterion = Criterion(recipe.losses)
    hooks = [m for m in criterion.modules() if callable(getattr(m, "refresh_from_features", None))]
    assert len(hooks) == 2 and {getattr(m, "feature_key", None) for m in hooks} == {"features"}
    cen = recipe.losses[0].loss
    assert isinstance(cen, bento.PeriodicProxyLoss)
    dim = cen.feat_dim
    labels, cams = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 0])
    a, b = torch.randn(4, dim), torch.randn(4, dim)
    cen.refresh_from_features(a, labels, cams)  # call 0: refresh
    torch.testing.assert_close(cen.class_proxies, nn.functional.normalize(a, dim=1))
    cen.refresh_from_features(b, labels, cams)  # call 1: kept (every = 2)
    torch.testing.assert_close(cen.class_proxies, nn.functional.normalize(a, dim=1))
    cen.refresh_from_features(b, labels, cams)  # call 2: refresh
    torch.testing.assert_close(cen.class_proxies, nn.functional.normalize(b, dim=1))
    assert int(cen.refresh_calls) == 3 and "refresh_calls" in cen.state_dict()


def test_class_proxy_term_matches_the_card_fixture() -> None:
    # card §6: f [.6, .8], proxies [1, 0], [0, 1], [.6, .8], y 2, τ .05 → 0.018479
    loss = bento.PeriodicProxyLoss(3, 2, lambda_cen=1.0, lambda_cp=0.0, every=5)
    proxies = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    loss.refresh_from_features(proxies, torch.tensor([0, 1, 2]), torch.zeros(3, dtype=torch.long))
    value = loss(torch.tensor([[0.6, 0.8]]), torch.tensor([2]))
    torch.testing.assert_close(value, torch.tensor(0.018479), atol=1e-6, rtol=0)


def test_camera_platforms_from_the_index() -> None:
    index = pl.DataFrame(
        {"camid": [0, 1, 2, 1, 0], "platform": ["aerial", "cctv", "wearable", "cctv", "aerial"]}
    )
    assert bento.camera_platforms(index, 3) == [bento.AERIAL, bento.GROUND, bento.GROUND]
    assert bento.camera_platforms(index, 4) is None  # camera 3 unseen
    mixed = pl.concat([index, pl.DataFrame({"camid": [0], "platform": ["cctv"]})])
    assert bento.camera_platforms(mixed, 3) is None
    assert bento.camera_platforms(index.drop("platform"), 3) is None


def _refreshed_spec(member: str) -> MethodSpec[bento.BentoConfig]:
    """The member's cpu recipe with its proxies filled from random features (the trainer's
    epoch-start refresh), so check_method can run a training step."""
    cfg = small(members=(member,))

    def build(c: bento.BentoConfig, info: DataInfo) -> Recipe:
        recipe = bento.build(c, info)
        for term in recipe.losses:
            fn = getattr(term.loss, "refresh_from_features", None)
            if fn is not None:
                n = 2 * info.num_classes * info.num_cameras
                dim = term.loss.feat_dim
                labels = torch.arange(info.num_classes).repeat_interleave(2 * info.num_cameras)
                fn(torch.randn(n, dim), labels, torch.arange(n) % info.num_cameras)
        return recipe

    return MethodSpec("test", {"cpu": lambda: cfg, "paper": bento.paper}, build)


@pytest.mark.parametrize("member", ["ibn50", "osnet", "vit"])
def test_member_cpu_recipes_conform(member: str) -> None:
    recipe = check_method(_refreshed_spec(member), profile="cpu")
    assert recipe.notes["member"] == member


def test_spec_and_assembled_ensemble(tmp_path: Path) -> None:
    assert set(bento.SPECS) == {"bento"} and bento.SPECS["bento"].stages is bento.stages
    cfg = small()
    ctx = StageContext(
        cfg, ReIDData("toy", tmp_path, "image", empty_index(), ()), torch.device("cpu"), 0, 3
    )
    for name in bento.final_stage_names(cfg):
        ctx.models[name] = bento.build_member(cfg, name, INFO).model.eval()
    fused = bento.assemble(ctx)
    assert isinstance(fused, FusedEnsemble) and fused.weights == (1.0, 1.0)
    x = torch.randn(3, 3, 64, 32)
    with torch.no_grad():
        emb = fused.eval()(x, torch.zeros(3, dtype=torch.long))[EMBEDDING]
    dims = [int(m.backbone.feature_dim) for m in ctx.models.values()]
    assert emb.shape == (3, sum(dims))
    torch.testing.assert_close(emb.norm(dim=1), torch.full((3,), 2**0.5))


class ColourNet(nn.Module):
    """Embedding = mean colour of the image (test images are coloured by identity)."""

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        return {EMBEDDING: images.mean(dim=(2, 3)) + 5.0}


def _data(tmp_path: Path) -> ReIDData:
    sys.path.insert(0, str(CORE_TESTS))
    from test_trainer_run import _data as core_data

    data: ReIDData = core_data(tmp_path)
    return data


def test_self_supervised_rows_are_clusters_of_the_test_images(tmp_path: Path) -> None:
    data = _data(tmp_path)
    cfg = small(ssl_distance="cosine", ssl_eps=0.002, ssl_min_samples=2)
    ctx = StageContext(cfg, data, torch.device("cpu"), 0, 3, models={"osnet": ColourNet()})
    rows = bento.ssl_train_rows(ctx, "osnet")
    assert TRANSDUCTIVE in ctx.notes and ctx.notes["osnet-ssl"]["clusters"] == 3
    first = int(data.train()["pid"].max()) + 1  # type: ignore[arg-type]
    assert rows["pid"].min() == first and rows["pid"].n_unique() == 3
    # the clusters are the hidden test identities (read here only to check)
    truth = data.index.select("path", pl.col("pid").alias("true"))
    joined = rows.join(truth, on="path")
    assert joined.group_by("pid").agg(pl.col("true").n_unique())["true"].to_list() == [1, 1, 1]
    ctx2 = StageContext(
        dataclasses.replace(cfg, ssl_eps=1e-9, ssl_min_samples=3),
        data,
        torch.device("cpu"),
        0,
        3,
        models={"osnet": ColourNet()},
    )
    with pytest.raises(ValueError, match="DBSCAN found 0 cluster"):
        bento.ssl_train_rows(ctx2, "osnet")


def test_ssl_stage_warm_starts_from_its_member(tmp_path: Path) -> None:
    cfg = small(self_supervised=True, members=("osnet",))
    ssl = bento.stages(cfg)[1]
    data = ReIDData("toy", tmp_path, "image", empty_index(), ())
    ctx = StageContext(cfg, data, torch.device("cpu"), 0, 3)
    member = bento.build_member(cfg, "osnet", INFO).model
    with torch.no_grad():
        for p in member.parameters():
            p.add_(1.0)
    ctx.models["osnet"] = member
    pseudo_info = DataInfo(num_classes=7, num_cameras=3, num_train_samples=30)
    recipe = ssl.build(ctx, pseudo_info)
    for (name, a), b in zip(
        member.state_dict().items(), recipe.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    cen = recipe.losses[0].loss
    assert isinstance(cen, bento.PeriodicProxyLoss) and cen.num_classes == 7  # clusters


def test_tiny_end_to_end_run_trains_each_member_and_evaluates_the_ensemble(
    tmp_path: Path,
) -> None:
    from agreid_core.engine.run import run_method
    from agreid_core.plugins import PluginHost, hookimpl
    from agreid_core.plugins.hookspecs import Register

    class Plugin:
        @hookimpl
        def agreid_register_methods(self, register: Register) -> None:
            register("bento", bento.SPEC)

    host = PluginHost()
    host.register(Plugin(), "bento-test")
    out = tmp_path / "run"
    done = run_method(
        host,
        "bento",
        _data(tmp_path),
        output_dir=out,
        overrides=[
            "members=osnet,vit",
            "training.input.height=64",
            "training.input.width=32",
            "training.num_workers=0",
            "training.eval.plots=false",
            "training.schedule.epochs=1",
            "passes_per_refresh=1",
        ],
    )
    assert set(done.stages) == {"osnet", "vit"}
    assert all((out / "stages" / m / "model.safetensors").is_file() for m in ("osnet", "vit"))
    assert all(r.steps > 0 for r in done.stages.values())
    assert (out / "results.csv").is_file()
    assert not any("transductive" in e for e in done.results["eval"].to_list())
