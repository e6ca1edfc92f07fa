"""ACP-VPReID recipe: profile vs appendix A.3, views, zero-init equivalence, stages."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
import torch

from agreid_core.config import override
from agreid_core.engine.stages import StageContext
from agreid_video.methods import acp_vpreid as acp
from agreid_video.methods import tf_clip
from agreid_video.methods.acp_net import ACPVideoNet

sys.path.insert(0, str(Path(__file__).parent))
from test_method_shared import CAMS, clips, fit, info, tiny_training, tracklet_rows, train_step


def test_paper_profile_matches_appendix_a3() -> None:
    cfg = acp.paper()
    t = cfg.training
    assert (t.input.height, t.input.width, t.sampler.clip_length) == (256, 128, 8)
    assert (t.augment.flip, t.augment.random_erasing) == (0.8, 0.6) and t.augment.pad > 0
    assert (t.optim.name, t.optim.weight_decay) == ("adamw", 0.05) and t.amp
    assert cfg.acp.dropout == 0.3 and cfg.acp.cross_view_heads == 12
    s1, s2 = cfg.stage1, cfg.stage2
    assert (s1.lr, s1.ids_per_batch * s1.instances_per_id, s1.epochs) == (1e-4, 64, 150)
    assert (s2.lr, s2.ids_per_batch * s2.instances_per_id, s2.epochs) == (5e-6, 32, 100)
    assert cfg.center_weight == 5e-4 and cfg.loss.id_weight == 0.25


def test_stage_list_and_stage_training_sections() -> None:
    cfg = acp.paper()
    stages = acp.SPEC.stages(cfg) if acp.SPEC.stages else []
    assert [s.name for s in stages] == ["adapt", "finetune"]
    first = stages[0].training(cfg.training) if stages[0].training else cfg.training
    second = stages[1].training(cfg.training) if stages[1].training else cfg.training
    assert (first.optim.lr, first.sampler.batch_size, first.schedule.epochs) == (1e-4, 64, 150)
    assert (second.optim.lr, second.sampler.batch_size, second.schedule.epochs) == (5e-6, 32, 100)
    assert cfg.training.schedule.epochs == 250
    cpu = acp.cpu()
    assert acp.stage_epochs(cpu) == (12, 48) and cpu.training.schedule.epochs == 60
    shorter = override(cpu, "training.schedule.epochs", "2")  # an --epochs override
    assert acp.stage_epochs(shorter) == (1, 1)
    assert [
        s.training(shorter.training).schedule.epochs if s.training else 0
        for s in acp.stages(shorter)
    ] == [1, 1]
    with pytest.raises(ValueError, match="2 epochs"):
        acp.stage_epochs(override(cpu, "training.schedule.epochs", "1"))


def test_view_mapping_from_camids() -> None:
    model = acp.build(acp.cpu(), info()).model
    assert isinstance(model, ACPVideoNet)
    assert model.views_of(torch.tensor([0, 1, 2, 3, 4, 5])).tolist() == [1, 1, 2, 2, 0, 0]


def test_zero_init_equals_tf_clip_and_embedding_size() -> None:
    torch.manual_seed(0)
    base = tf_clip.build(tf_clip.cpu(), info()).model
    model = acp.build(acp.cpu(), info()).model
    missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and missing  # only the new ACP parameters are missing
    x = clips()
    base.eval(), model.eval()
    with torch.no_grad():
        a, b = base(x, CAMS)["embedding"], model(x, CAMS)["embedding"]
    assert b.shape == (8, 64 + 32 + 64)
    assert torch.allclose(a, b, atol=1e-5)


def test_losses_view_heads_and_per_view_gradients() -> None:
    recipe = acp.build(acp.cpu(), info())
    weights = {t.name: t.weight for t in recipe.losses}
    assert weights["id_cls"] == weights["id_view"] == 0.125
    assert weights["center"] == 5e-4 and "memory" in weights and "tri_cls" in weights
    model = recipe.model
    assert isinstance(model, ACPVideoNet)
    x = clips()
    cams = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])  # cctv only
    recipe.model.train()
    out = model(x, cams)
    assert out["logits_view"].shape == (8, 4)
    out["logits_view"].sum().backward()
    heads = model.view_heads
    assert heads[1].weight.grad is not None and heads[1].weight.grad.abs().sum() > 0
    assert heads[0].weight.grad is None or heads[0].weight.grad.abs().sum() == 0
    parts = train_step(recipe, x)
    assert set(parts) >= {"id_view", "center", "memory", "frame"}


def test_two_stages_freeze_then_unfreeze(tmp_path: Path) -> None:
    rows = tracklet_rows(tmp_path, n_ids=2)
    cfg = acp.cpu()
    ctx = StageContext(cfg, None, torch.device("cpu"), 0, 6)  # type: ignore[arg-type]
    adapt, finetune = acp.stages(cfg)
    recipe = adapt.build(ctx, info(num_classes=2))
    ctx.recipes["adapt"], ctx.models["adapt"] = recipe, recipe.model
    model = recipe.model
    assert isinstance(model, ACPVideoNet)
    assert not any(p.requires_grad for p in model.tower.parameters())
    assert model.view_prompt.requires_grad and model.tmd.message_fc.weight.requires_grad
    before = model.tower.body.blocks[0].attn.qkv.weight.clone()
    fit(recipe, tiny_training(cfg.training), rows)
    assert torch.equal(model.tower.body.blocks[0].attn.qkv.weight, before)
    second = finetune.build(ctx, info(num_classes=2))
    assert second.model is model and second.losses is recipe.losses
    assert all(p.requires_grad for p in model.parameters())
    fit(second, tiny_training(cfg.training), rows)
    assert not torch.equal(model.tower.body.blocks[0].attn.qkv.weight, before)
    assert isinstance(rows, pl.DataFrame)
