"""X-TFCLIP recipe: profile vs appendix A.1, its parts, predicted attributes, trainer."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from agreid_losses.online_label_smoothing import OnlineLabelSmoothing
from agreid_models.heads.bnneck import InstanceNorm1dVector
from agreid_video.methods import x_tfclip
from agreid_video.methods.clip_video_net import CLIPVideoNet
from agreid_video.modules.memory_fusion import MemoryAlphaFusion
from agreid_video.modules.temporal_pool import TemporalAttentionPooling

sys.path.insert(0, str(Path(__file__).parent))
from test_method_shared import CAMS, clips, fit, info, tiny_training, tracklet_rows, train_step


def test_paper_profile_matches_appendix_a1() -> None:
    cfg = x_tfclip.paper()
    t = cfg.training
    assert (t.input.height, t.input.width) == (288, 144)
    assert (t.sampler.ids_per_batch, t.sampler.instances_per_id, t.sampler.clip_length) == (4, 6, 8)
    assert t.schedule.epochs == 90 and t.grad_centralization
    assert (t.optim.lr, t.schedule.milestones) == (5e-6, (30, 50, 70))
    e = t.eval
    assert e.flip and e.attribute_mask == "predicted"
    assert e.attribute_penalty == ("gender:0.2", "age:0.2", "ethnicity:0.2", "body_volume:0.1")
    n = cfg.net
    assert (n.pos_embed_mode, n.temporal_pooling, n.neck_norm) == ("bicubic", "attention", "in")
    assert n.frame_position and (n.memory_fusion, n.memory_alpha_init) == ("alpha", 0.5)
    assert cfg.loss.identity == "online-label-smoothing" and cfg.loss.ols_alpha == 0.5


def test_cpu_profile_keeps_every_x_tfclip_part() -> None:
    cfg = x_tfclip.cpu()
    assert cfg.training.schedule.epochs == 60 and cfg.training.grad_centralization
    assert cfg.training.eval.attribute_mask == "predicted" and cfg.training.eval.flip
    model = x_tfclip.build(cfg, info()).model
    assert isinstance(model, CLIPVideoNet)
    assert isinstance(model.pool_cls_frames, TemporalAttentionPooling)
    assert isinstance(model.pool_video_tokens, TemporalAttentionPooling)
    assert isinstance(model.neck_cls.norm, InstanceNorm1dVector)
    assert isinstance(model.fusion, MemoryAlphaFusion)
    assert model.frame_embed is not None and model.tower.cam_embed is not None
    assert abs(float(model.fusion.alpha.detach()) - 0.6225) < 1e-3


def test_losses_share_one_ols_for_heads_and_i2t() -> None:
    recipe = x_tfclip.build(x_tfclip.cpu(), info())
    by_name = {t.name: t.loss for t in recipe.losses}
    shared = by_name["id_cls"]
    assert isinstance(shared, OnlineLabelSmoothing)
    assert by_name["id_proj"] is shared and by_name["memory"].inner is shared
    assert isinstance(by_name["frame"].inner, OnlineLabelSmoothing)
    assert by_name["frame"].inner is not shared
    assert "attributes" not in by_name  # no attributes in the data → no head


def test_predicted_attributes_in_eval_and_attribute_loss_in_training() -> None:
    recipe = x_tfclip.build(x_tfclip.cpu(), info(attributes=("gender", "hair_x", "age")))
    model = recipe.model
    assert model.attribute_names == ("gender", "age")  # codebook attributes only
    term = next(t for t in recipe.losses if t.name == "attributes")
    assert term.target_key == "attributes" and term.loss.columns == (0, 2)
    x = clips()
    model.eval()
    with torch.no_grad():
        out = model(x, CAMS)
    labels = out["attribute_labels"]
    assert labels.shape == (8, 2) and labels.dtype == torch.long
    assert int(labels[:, 0].max()) < 3 and int(labels[:, 1].max()) < 9
    attrs = torch.tensor([[0, 5, 2], [1, 5, 8]] * 4)
    parts = train_step(recipe, x, {"attributes": attrs})
    assert float(parts["attributes"]) > 0
    head = model.attribute_head
    assert head is not None and head.classifiers["gender"].weight.grad is not None


def test_trains_with_attributes_and_grad_centralisation(tmp_path: Path) -> None:
    rows = tracklet_rows(tmp_path, n_ids=2)
    cfg = x_tfclip.cpu()
    recipe = x_tfclip.build(cfg, info(num_classes=2, attributes=("gender", "age")))
    loss = fit(recipe, tiny_training(cfg.training), rows)
    assert torch.isfinite(torch.tensor(loss))
