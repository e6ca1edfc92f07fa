"""Loss hooks, gradient centralisation, AMP and channels_last in the trainer."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
from _trainer_helpers import TinyNet, build, make_rows, state_of, tiny_cfg

from agreid_core.config import AugmentConfig, OptimConfig, ScheduleConfig
from agreid_core.data.augment import build_test_transform
from agreid_core.data.decode import read_image
from agreid_core.engine.trainer import Trainer, centralize_gradients, label_map
from agreid_core.method import Criterion, LossTerm

CPU = torch.device("cpu")


class RecordingLoss(nn.Module):
    """Cross-entropy that records the trainer's optional hook calls."""

    def __init__(self, model: nn.Module, feature_key: str = "features") -> None:
        super().__init__()
        self.feature_key = feature_key
        self.ce = nn.CrossEntropyLoss()
        self.model_ref = [model]
        self.refreshed: list[tuple[Tensor, Tensor, Tensor, bool]] = []
        self.ended: list[int] = []

    def forward(self, logits: Tensor, y: Tensor) -> Tensor:
        value: Tensor = self.ce(logits, y)
        return value

    def refresh_from_features(self, features: Tensor, labels: Tensor, camids: Tensor) -> None:
        self.refreshed.append((features.clone(), labels, camids, self.model_ref[0].training))

    def on_epoch_end(self, epoch: int) -> None:
        self.ended.append(epoch)


def test_loss_hooks_get_eval_features_of_every_sample(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img", n_ids=4, per_platform=2)
    model, _ = build(rows)
    rec = RecordingLoss(model)
    other = RecordingLoss(model, feature_key="logits")
    crit = Criterion([LossTerm("rec", rec, "logits"), LossTerm("other", other, "logits")])
    cfg = tiny_cfg()
    # expected epoch-0 features: the test transform, eval mode, before any step
    transform = build_test_transform(cfg.input)
    images = torch.stack([read_image(p, 32, 16) for p in rows["path"].to_list()])
    model.eval()
    with torch.no_grad():
        expected = model(transform(images), torch.zeros(len(images)))
    model.train()
    Trainer(model, crit, cfg, device=CPU).fit(rows)
    assert rec.ended == [0, 1] and other.ended == [0, 1]
    assert len(rec.refreshed) == 2 and len(other.refreshed) == 2
    feats, labels, camids, training = rec.refreshed[0]
    assert training  # extraction ran in eval mode (checked below), training mode is back
    assert torch.allclose(feats, expected["features"], atol=1e-6)
    assert torch.allclose(other.refreshed[0][0], expected["logits"], atol=1e-6)
    mapping = label_map(rows["pid"].to_list())
    assert labels.tolist() == [mapping[p] for p in rows["pid"].to_list()]
    assert camids.tolist() == rows["camid"].to_list()
    # epoch 1 sees the trained model
    assert not torch.allclose(rec.refreshed[1][0], feats)


def test_centralize_gradients_by_hand() -> None:
    lin = nn.Linear(3, 2)
    conv = nn.Conv2d(1, 2, (1, 2))
    lin.weight.grad = torch.tensor([[1.0, 2.0, 6.0], [0.0, -3.0, 3.0]])
    lin.bias.grad = torch.tensor([5.0, 7.0])
    conv.weight.grad = torch.tensor([[[[1.0, 3.0]]], [[[4.0, 4.0]]]])
    centralize_gradients([*lin.parameters(), *conv.parameters()])
    assert torch.equal(lin.weight.grad, torch.tensor([[-2.0, -1.0, 3.0], [0.0, -3.0, 3.0]]))
    assert torch.equal(lin.bias.grad, torch.tensor([5.0, 7.0]))  # 1-D: untouched
    assert torch.equal(conv.weight.grad, torch.tensor([[[[-1.0, 1.0]]], [[[0.0, 0.0]]]]))


def test_trainer_applies_gradient_centralisation(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img", n_ids=4, per_platform=2)
    cfg = tiny_cfg(
        optim=OptimConfig(name="sgd", lr=0.1, weight_decay=0.0),
        schedule=ScheduleConfig(epochs=1, iters_per_epoch=1, warmup_iters=0),
        augment=AugmentConfig(flip=0.0, pad=0, random_erasing=0.0),
    )
    deltas = {}
    for gc in (False, True):
        model, crit = build(rows, dropout=0.0)
        before = state_of(model)
        Trainer(model, crit, replace(cfg, grad_centralization=gc), device=CPU).fit(rows)
        deltas[gc] = {k: state_of(model)[k] - v for k, v in before.items()}
    # one SGD step: Δ = -lr·(1+momentum)·g (Nesterov, first step), so Δ is centred iff g is
    for key in ("classifier.weight", "conv.weight"):
        flat = deltas[True][key].flatten(1)
        assert torch.allclose(flat.mean(dim=1), torch.zeros(flat.shape[0]), atol=1e-7)
        plain = deltas[False][key].flatten(1)
        assert torch.allclose(flat, plain - plain.mean(dim=1, keepdim=True), atol=1e-7)
        assert not torch.allclose(plain.mean(dim=1), torch.zeros(plain.shape[0]), atol=1e-7)
    assert torch.allclose(deltas[True]["classifier.bias"], deltas[False]["classifier.bias"])


def test_bf16_autocast_on_cpu_and_channels_last(tmp_path: Path) -> None:
    rows = make_rows(tmp_path / "img", n_ids=4, per_platform=2)
    model, crit = build(rows)
    cfg = tiny_cfg(amp=True, channels_last=True, schedule=ScheduleConfig(epochs=1, warmup_iters=0))
    trainer = Trainer(model, crit, cfg, device=CPU)
    assert trainer._amp() == (True, torch.bfloat16, False)
    seen: list[torch.dtype] = []
    model.classifier.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    result = trainer.fit(rows)
    assert result.steps > 0 and all(torch.isfinite(torch.tensor(r["loss"])) for r in result.history)
    assert seen and all(d == torch.bfloat16 for d in seen[-result.steps :])
    assert model.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert isinstance(model, TinyNet)
