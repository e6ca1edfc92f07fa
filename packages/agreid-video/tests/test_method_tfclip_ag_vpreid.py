"""TFCLIP-AG-VPReID recipe: profile vs appendix A.2, EVA tower, V2M + triplet + CE."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch

from agreid_core.engine.optim import lr_factor
from agreid_video.methods import tfclip_ag_vpreid as ag
from agreid_video.methods.clip_video_net import CLIPVideoNet
from agreid_video.methods.losses import MemoryToVideoContrast

sys.path.insert(0, str(Path(__file__).parent))
from test_method_shared import CAMS, clips, fit, info, tiny_training, tracklet_rows, train_step


def test_paper_profile_matches_appendix_a2() -> None:
    cfg = ag.paper()
    t = cfg.training
    assert (t.input.height, t.input.width) == (224, 224)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id, t.sampler.clip_length) == (2, 4, 8)
    s = t.schedule
    assert (s.epochs, s.milestones, s.gamma) == (80, (30, 50), 0.1)
    iters = s.warmup_iters // 10
    lr = t.optim.lr
    assert lr == 5e-6
    assert abs(lr * lr_factor(0, s, iters, lr) - 5e-7) < 1e-15  # warm-up start
    assert abs(lr * lr_factor(10 * iters, s, iters, lr) - 5e-6) < 1e-15
    assert abs(lr * lr_factor(30 * iters, s, iters, lr) - 5e-7) < 1e-15
    assert abs(lr * lr_factor(50 * iters, s, iters, lr) - 5e-8) < 1e-16
    loss = cfg.loss
    assert (loss.id_weight, loss.triplet_weight, loss.memory_weight) == (1.0, 1.0, 1.0)
    assert (loss.label_smoothing, loss.triplet_margin, loss.memory_loss) == (0.1, 0.3, "v2m")
    assert loss.frame_weight == 0.0
    assert cfg.net.tower == "eva-clip-l14" and cfg.net.memory_similarity == "cosine"
    assert cfg.train_sources == ("agvpreid", "g2a-vreid")


def test_eva_paper_widths_give_2816_dims() -> None:
    net = replace(ag.paper().net, pretrained=False, depth=1)
    model = CLIPVideoNet(net, (224, 224), 3, 6)
    assert model.embedding_dim == 1024 + 768 + 1024
    assert model.tower.num_tokens == 257  # native 16×16 grid + CLS


def test_cpu_model_losses_and_outputs() -> None:
    cfg = ag.cpu()
    assert cfg.training.schedule.epochs == 60 and cfg.net.patch_size is None
    recipe = ag.build(cfg, info())
    names = [t.name for t in recipe.losses]
    assert names == ["id_cls", "tri_cls", "id_proj", "tri_proj", "id_tmp", "tri_tmp", "memory"]
    memory = next(t.loss for t in recipe.losses if t.name == "memory")
    assert isinstance(memory.inner, MemoryToVideoContrast)
    model = recipe.model
    assert type(model.tower).__name__ == "EVACLIPL14"
    x = clips(h=56, w=56)
    model.eval()
    with torch.no_grad():
        emb = model(x, CAMS)["embedding"]
    assert emb.shape == (8, 64 + 32 + 64)
    parts = train_step(recipe, x)
    assert set(parts) == set(names)
    model.train()
    sims = model(x, CAMS)["i2t_logits"]
    assert float(sims.detach().abs().max()) <= 1.0 + 1e-5  # cosines


def test_trains_with_the_real_trainer(tmp_path: Path) -> None:
    rows = tracklet_rows(tmp_path, n_ids=2)
    cfg = ag.cpu()
    recipe = ag.build(cfg, info(num_classes=2))
    assert torch.isfinite(torch.tensor(fit(recipe, tiny_training(cfg.training), rows)))
