"""Feature fusion: the fused cosine distance is 1 − (weighted) mean of member cosines."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from agreid_core.evaluation.distance import pairwise_distance
from agreid_core.method import EMBEDDING
from agreid_models.ensemble import FusedEnsemble, Renormalize, fused_similarity


class Fixed(nn.Module):
    """Embedding = a fixed linear map of the flattened image (a stand-in trained member)."""

    def __init__(self, dim: int, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.proj = nn.Parameter(torch.randn(3 * 4 * 2, dim, generator=g))
        self.seen: Tensor | None = None

    def forward(self, images: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        self.seen = images
        return {EMBEDDING: images.flatten(1) @ self.proj}


def _member_cos(member: nn.Module, q: Tensor, g: Tensor) -> Tensor:
    a = nn.functional.normalize(member(q)[EMBEDDING], dim=1)
    b = nn.functional.normalize(member(g)[EMBEDDING], dim=1)
    return a @ b.T


def test_fused_cosine_distance_is_one_minus_the_mean_member_cosine() -> None:
    members = [Fixed(5, 0), Fixed(7, 1), Fixed(3, 2)]
    q, g = torch.randn(4, 3, 4, 2), torch.randn(9, 3, 4, 2)
    fused = FusedEnsemble(members).eval()
    with torch.no_grad():
        d = pairwise_distance(fused(q)[EMBEDDING], fused(g)[EMBEDDING], "cosine")
        cos = [_member_cos(m, q, g) for m in members]
        total = fused_similarity([(m(q)[EMBEDDING], m(g)[EMBEDDING]) for m in members])
    torch.testing.assert_close(total, sum(cos))
    torch.testing.assert_close(d, 1 - total / 3, atol=1e-5, rtol=0)
    # identical ranking to the sum of the cosine similarities
    assert torch.equal(d.argsort(dim=1), (-total).argsort(dim=1))
    assert fused(q)[EMBEDDING].shape == (4, 5 + 7 + 3)


def test_weights_scale_each_member_cosine() -> None:
    members = [Fixed(5, 0), Fixed(7, 1)]
    q, g = torch.randn(3, 3, 4, 2), torch.randn(6, 3, 4, 2)
    fused = FusedEnsemble(members, weights=[3.0, 1.0])
    with torch.no_grad():
        d = pairwise_distance(fused(q)[EMBEDDING], fused(g)[EMBEDDING], "cosine")
        expected = 1 - (3 * _member_cos(members[0], q, g) + _member_cos(members[1], q, g)) / 4
    torch.testing.assert_close(d, expected, atol=1e-5, rtol=0)


def test_an_ensemble_of_identical_models_equals_one_model() -> None:
    one = Fixed(6, 3)
    q, g = torch.randn(3, 3, 4, 2), torch.randn(5, 3, 4, 2)
    with torch.no_grad():
        fused = FusedEnsemble([one, one, one])
        d = pairwise_distance(fused(q)[EMBEDDING], fused(g)[EMBEDDING], "cosine")
        single = pairwise_distance(one(q)[EMBEDDING], one(g)[EMBEDDING], "cosine")
    torch.testing.assert_close(d, single, atol=1e-5, rtol=0)


def test_renormalisation_per_member() -> None:
    imagenet = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    half = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    raw = torch.rand(2, 3, 4, 2)  # pixels in [0, 1]
    x = (raw - torch.tensor(imagenet[0]).view(1, 3, 1, 1)) / torch.tensor(imagenet[1]).view(
        1, 3, 1, 1
    )
    torch.testing.assert_close(Renormalize(imagenet, half)(x), (raw - 0.5) / 0.5)
    a, b = Fixed(4, 0), Fixed(4, 1)
    FusedEnsemble([a, b], input_stats=(imagenet, [imagenet, half]))(x)
    assert a.seen is x  # same normalisation: untouched
    assert b.seen is not None
    torch.testing.assert_close(b.seen, (raw - 0.5) / 0.5)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        FusedEnsemble([])
    with pytest.raises(ValueError, match="2 weights for 1 members"):
        FusedEnsemble([Fixed(2, 0)], weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="at least one > 0"):
        FusedEnsemble([Fixed(2, 0)], weights=[0.0])
