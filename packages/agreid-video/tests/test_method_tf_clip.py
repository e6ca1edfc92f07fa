"""TF-CLIP recipe: profiles vs the card / peers.md §6, outputs, memory, losses, trainer."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch

from agreid_core.engine.optim import lr_factor
from agreid_core.testing import check_plugin
from agreid_video import plugin
from agreid_video.methods import tf_clip
from agreid_video.methods.clip_video_net import CLIPVideoNet

sys.path.insert(0, str(Path(__file__).parent))
from test_method_shared import CAMS, PIDS, clips, fit, info, refresh, tiny_training, tracklet_rows


def test_plugin_registers_the_four_video_methods() -> None:
    host = check_plugin(plugin, name="agreid-video")
    for name in ("tf-clip", "x-tfclip", "tfclip-ag-vpreid", "acp-vpreid"):
        spec = host.methods.get(name)
        assert spec.kind == "video" and {"paper", "cpu"} <= set(spec.profiles)


def test_paper_profile_matches_peers_notes() -> None:
    cfg = tf_clip.paper()
    t = cfg.training
    assert (t.input.height, t.input.width) == (256, 128)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id, t.sampler.clip_length) == (4, 4, 8)
    assert t.sampler.clip_sampling == "restricted-random"
    assert (t.optim.name, t.optim.lr, t.optim.weight_decay) == ("adam", 5e-6, 1e-4)
    assert (t.optim.bias_lr_factor, t.optim.head_lr_factor) == (2.0, 10.0)
    s = t.schedule
    assert (s.epochs, s.milestones, s.gamma, s.warmup_factor) == (80, (30, 50, 70), 0.1, 0.1)
    iters = s.warmup_iters // 10  # warm-up = 10 epochs
    assert abs(lr_factor(5 * iters, s, iters, t.optim.lr) - (0.1 + 0.9 * 5 / 10)) < 1e-9
    assert abs(lr_factor(35 * iters, s, iters, t.optim.lr) - 0.1) < 1e-9
    assert t.amp and t.eval.metric == "cosine" and not t.eval.rerank and not t.eval.flip
    n = cfg.net
    assert (n.tower, n.pos_embed_mode, n.ssp_heads, n.ssp_layers, n.tmd_heads) == (
        "clip-vit-b16",
        "bilinear",
        8,
        2,
        12,
    )
    assert (n.temporal_pooling, n.neck_norm, n.memory_fusion, n.memory_refresh) == (
        "average",
        "bn",
        "residual",
        "once",
    )
    loss = cfg.loss
    assert (loss.id_weight, loss.label_smoothing, loss.triplet_margin, loss.memory_loss) == (
        0.25,
        0.1,
        0.3,
        "i2t",
    )


def test_paper_model_embeds_2048_dims() -> None:
    cfg = tf_clip.paper()
    # the paper's widths (768 / 512, 12 heads) with one block, to keep the test fast
    model = CLIPVideoNet(replace(cfg.net, pretrained=False, depth=1), (256, 128), 5, 6)
    assert model.embedding_dim == 768 + 512 + 768
    assert model.tower.grid_size == (16, 8)


def test_cpu_profile_is_tiny_and_short() -> None:
    cfg = tf_clip.cpu()
    t = cfg.training
    assert (t.input.height, t.input.width, t.sampler.clip_length) == (64, 32, 4)
    assert (t.schedule.epochs, t.optim.lr) == (60, 1e-3)
    assert (cfg.net.depth, cfg.net.embed_dim) == (2, 64)


def test_eval_embedding_and_training_outputs() -> None:
    recipe = tf_clip.build(tf_clip.cpu(), info())
    model = recipe.model
    assert getattr(model, "input_kind", None) == "video"
    x = clips()
    model.eval()
    with torch.no_grad():
        out = model(x, CAMS)
    assert out["embedding"].shape == (8, 64 + 32 + 64)
    assert "i2t_logits" not in out  # eval skips the memory branch
    refresh(recipe, x, PIDS, CAMS)
    model.train()
    out = model(x, CAMS)
    assert out["i2t_logits"].shape == (8, 4) and out["frame_logits"].shape == (8, 4, 4)
    names = [t.name for t in recipe.losses]
    assert names == [
        "id_cls",
        "tri_cls",
        "id_proj",
        "tri_proj",
        "id_tmp",
        "tri_tmp",
        "memory",
        "frame",
    ]
    weights = {t.name: t.weight for t in recipe.losses}
    assert weights["id_cls"] == 0.25 and weights["tri_cls"] == 1.0 and weights["frame"] == 1 / 4


def test_memory_built_once_and_tmd_detached_from_backbone() -> None:
    recipe = tf_clip.build(tf_clip.cpu(), info())
    model = recipe.model
    assert isinstance(model, CLIPVideoNet)
    x = clips()
    refresh(recipe, x, PIDS, CAMS)
    first = model.memory.memory.clone()
    assert bool(model.memory.built) and first.abs().sum() > 0
    with torch.no_grad():
        model.tower.proj.weight.mul_(2.0)  # features change …
    refresh(recipe, x, PIDS, CAMS)
    assert torch.equal(model.memory.memory, first)  # … the memory does not (built once)
    model.train()
    out = model(x, CAMS)
    out["features_tmp"].sum().backward()
    assert all(p.grad is None for p in model.tower.parameters())
    assert any(p.grad is not None for p in model.tmd.parameters())


def test_trains_with_the_real_trainer(tmp_path: Path) -> None:
    rows = tracklet_rows(tmp_path, n_ids=2)
    cfg = tf_clip.cpu()
    recipe = tf_clip.build(cfg, info(num_classes=2))
    loss = fit(recipe, tiny_training(cfg.training), rows)
    assert torch.isfinite(torch.tensor(loss))
    assert bool(recipe.model.memory.built)  # type: ignore[union-attr]
