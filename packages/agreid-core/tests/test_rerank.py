"""k-reciprocal re-ranking: the sparse implementation against a dense loop reference."""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agreid_core.evaluation.rerank import k_reciprocal_rerank

# --------------------------------------------------------------------------- dense reference


def dense_reference(
    q_g: np.ndarray,
    q_q: np.ndarray,
    g_g: np.ndarray,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> np.ndarray:
    """Dense k-reciprocal re-ranking, straight from its description (float32 like the original).

    The only deliberate difference from the authors' code is the stable argsort (ties broken
    by the smaller index), which is the documented tie rule of the implementation under test.
    """
    q = q_g.shape[0]
    full = np.concatenate(
        [np.concatenate([q_q, q_g], axis=1), np.concatenate([q_g.T, g_g], axis=1)], axis=0
    )
    squared = np.power(full, 2).astype(np.float32)
    dist = np.transpose(squared / np.max(squared, axis=0))  # column-max normalisation
    n = dist.shape[0]
    rank = np.argsort(dist, axis=1, kind="stable").astype(np.int32)
    V = np.zeros((n, n), dtype=np.float32)
    kh = int(np.around(k1 / 2.0))

    def reciprocal(i: int, k: int) -> np.ndarray:
        forward = rank[i, : k + 1]
        backward = rank[forward, : k + 1]
        return forward[np.where(backward == i)[0]]

    for i in range(n):
        r = reciprocal(i, k1)
        expanded = r
        for c in r:
            rc = reciprocal(int(c), kh)
            if len(np.intersect1d(rc, r)) > 2.0 / 3.0 * len(rc):
                expanded = np.append(expanded, rc)
        expanded = np.unique(expanded)
        weight = np.exp(-dist[i, expanded])
        V[i, expanded] = weight / np.sum(weight)
    if k2 != 1:
        V_qe = np.zeros_like(V)
        for i in range(n):
            V_qe[i] = np.mean(V[rank[i, :k2]], axis=0)
        V = V_qe
    inverted = [np.where(V[:, j] != 0)[0] for j in range(n)]
    jaccard = np.zeros((q, n), dtype=np.float32)
    for i in range(q):
        temp_min = np.zeros(n, dtype=np.float32)
        for j in np.where(V[i] != 0)[0]:
            rows = inverted[j]
            temp_min[rows] = temp_min[rows] + np.minimum(V[i, j], V[rows, j])
        jaccard[i] = 1 - temp_min / (2.0 - temp_min)
    final = jaccard * (1 - lambda_value) + dist[:q] * lambda_value
    return final[:, q:]


def squared_blocks(
    query: torch.Tensor, gallery: torch.Tensor
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q×g, q×q, g×g) squared Euclidean distances of the normalised features, in float64."""
    x = F.normalize(torch.cat([query, gallery]).float(), dim=1).double().numpy()
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    q = query.shape[0]
    return d[:q, q:], d[:q, :q], d[q:, q:]


def reference(
    query: torch.Tensor, gallery: torch.Tensor, k1: int, k2: int, lam: float
) -> np.ndarray:
    return dense_reference(*squared_blocks(query, gallery), k1, k2, lam)


def assert_same_ranking(ours: np.ndarray, ref: np.ndarray, exact: bool) -> None:
    """Our per-row order sorts the reference values too (ties within 1e-5 may swap)."""
    order = np.argsort(ours, axis=1, kind="stable")
    np.testing.assert_allclose(
        np.take_along_axis(ref, order, axis=1), np.sort(ref, axis=1), rtol=0, atol=1e-5
    )
    if exact:
        np.testing.assert_array_equal(order, np.argsort(ref, axis=1, kind="stable"))


def dyadic_features(n: int, dim: int, gen: torch.Generator) -> torch.Tensor:
    """Rows with 16 entries ±c: normalisation and all distances are exact in float32."""
    x = torch.zeros(n, dim)
    for r in range(n):
        cols = torch.randperm(dim, generator=gen)[:16]
        x[r, cols] = torch.where(torch.rand(16, generator=gen) < 0.5, -1.0, 1.0)
    return x * torch.randint(1, 5, (n, 1), generator=gen)


# --------------------------------------------------------------------------- agreement

CASES = [
    # seed, q, g, d, k1, k2, lambda, block_size
    (0, 7, 20, 8, 20, 6, 0.3, 1024),
    (1, 12, 45, 16, 20, 6, 0.3, 5),
    (2, 25, 80, 32, 20, 6, 0.0, 16),
    (3, 40, 120, 24, 20, 6, 0.3, 32),
    (4, 40, 120, 32, 10, 3, 0.3, 7),
    (5, 30, 100, 12, 5, 1, 0.3, 1024),
    (6, 18, 60, 8, 3, 2, 0.0, 4),
    (7, 33, 70, 20, 1, 6, 0.3, 9),
    (8, 9, 111, 16, 8, 1, 0.0, 64),
    (9, 21, 57, 10, 2, 4, 0.3, 3),
    (10, 15, 30, 32, 20, 1, 0.3, 1024),
    (11, 40, 120, 8, 20, 6, 1.0, 33),
]


@pytest.mark.parametrize(("seed", "q", "g", "d", "k1", "k2", "lam", "block"), CASES)
def test_matches_dense_reference(
    seed: int, q: int, g: int, d: int, k1: int, k2: int, lam: float, block: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    query, gallery = torch.randn(q, d, generator=gen), torch.randn(g, d, generator=gen)
    ours = k_reciprocal_rerank(query, gallery, k1, k2, lam, block_size=block).numpy()
    ref = reference(query, gallery, k1, k2, lam)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    # with λ = 0 many Jaccard values are float32 near-ties, summed in a different order
    assert_same_ranking(ours, ref, exact=lam > 0)


@pytest.mark.parametrize(
    ("seed", "k1", "k2", "lam"), [(0, 20, 6, 0.3), (1, 5, 3, 0.0), (2, 2, 1, 0.3)]
)
def test_exact_ties_and_duplicates_follow_the_stable_order(
    seed: int, k1: int, k2: int, lam: float
) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = dyadic_features(110, 18, gen)
    q = 20
    x[q + 1] = x[0]  # a query duplicated in the gallery
    x[q + 5] = x[q + 7] = x[q + 3]  # gallery duplicates
    query, gallery = x[:q], x[q:]
    ours = k_reciprocal_rerank(query, gallery, k1, k2, lam, block_size=8).numpy()
    ref = reference(query, gallery, k1, k2, lam)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    assert_same_ranking(ours, ref, exact=False)


def test_more_neighbours_than_items() -> None:
    gen = torch.Generator().manual_seed(3)
    query, gallery = torch.randn(3, 5, generator=gen), torch.randn(4, 5, generator=gen)
    ours = k_reciprocal_rerank(query, gallery, k1=20, k2=9, lambda_value=0.3).numpy()
    np.testing.assert_allclose(ours, reference(query, gallery, 20, 9, 0.3), rtol=0, atol=1e-5)


def test_block_size_does_not_change_the_result() -> None:
    gen = torch.Generator().manual_seed(4)
    query, gallery = torch.randn(30, 16, generator=gen), torch.randn(90, 16, generator=gen)
    results = [k_reciprocal_rerank(query, gallery, block_size=b) for b in (3, 7, 40, 1024)]
    for r in results[1:]:
        torch.testing.assert_close(r, results[0], rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- properties


def test_lambda_one_gives_the_normalised_original_distance() -> None:
    gen = torch.Generator().manual_seed(5)
    query, gallery = torch.randn(10, 12, generator=gen), torch.randn(35, 12, generator=gen)
    q_g, q_q, _ = squared_blocks(query, gallery)
    squared = q_g.astype(np.float32) ** 2
    # column max of the full matrix = max over queries and gallery of each query's distances
    scale = np.maximum(squared.max(1), (q_q.astype(np.float32) ** 2).max(1))
    expected = squared / scale[:, None]
    ours = k_reciprocal_rerank(query, gallery, lambda_value=1.0).numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    assert ours.max() <= 1.0 + 1e-6


def test_output_shape_dtype_and_finiteness() -> None:
    gen = torch.Generator().manual_seed(6)
    query = torch.randn(16, 9, generator=gen, dtype=torch.float64)
    gallery = torch.randn(9, 50, generator=gen, dtype=torch.float64).T  # non-contiguous
    out = k_reciprocal_rerank(query, gallery, k1=4, k2=2)
    assert out.shape == (16, 50)
    assert out.dtype == torch.float32
    assert out.device == query.device
    assert bool(torch.isfinite(out).all())
    assert float(out.min()) >= 0.0


def test_identical_features_stay_finite() -> None:
    # every distance is 0, so the reference's column max is 0 (it divides 0 by 0)
    out = k_reciprocal_rerank(torch.ones(3, 4), torch.ones(5, 4), k1=2, k2=2)
    assert out.shape == (3, 5)
    assert bool(torch.isfinite(out).all())


def test_single_query_single_gallery() -> None:
    query, gallery = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    ours = k_reciprocal_rerank(query, gallery, k1=1, k2=1).numpy()
    np.testing.assert_allclose(ours, reference(query, gallery, 1, 1, 0.3), atol=1e-6)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("query", "gallery", "kwargs", "error", "message"),
    [
        (torch.zeros(4), torch.zeros(3, 4), {}, ValueError, "query_features must be 2-D"),
        (torch.zeros(2, 4), torch.zeros(1, 3, 4), {}, ValueError, "gallery_features must be 2-D"),
        (torch.zeros(0, 4), torch.zeros(3, 4), {}, ValueError, "must be non-empty"),
        (torch.zeros(2, 4), torch.zeros(3, 5), {}, ValueError, "feature dimensions differ"),
        (torch.zeros(2, 4, dtype=torch.int64), torch.zeros(3, 4), {}, TypeError, "floating"),
        ([[0.0]], torch.zeros(3, 4), {}, TypeError, "must be a torch.Tensor"),
        (torch.full((2, 4), float("nan")), torch.zeros(3, 4), {}, ValueError, "NaN"),
        (torch.ones(2, 4), torch.ones(3, 4), {"k1": 0}, ValueError, "k1 must be >= 1"),
        (torch.ones(2, 4), torch.ones(3, 4), {"k1": -3}, ValueError, "k1 must be >= 1"),
        (torch.ones(2, 4), torch.ones(3, 4), {"k2": 0}, ValueError, "k2 must be >= 1"),
        (torch.ones(2, 4), torch.ones(3, 4), {"k1": 2.5}, TypeError, "k1 must be an int"),
        (torch.ones(2, 4), torch.ones(3, 4), {"k1": True}, TypeError, "k1 must be an int"),
        (torch.ones(2, 4), torch.ones(3, 4), {"lambda_value": 1.5}, ValueError, "lambda_value"),
        (torch.ones(2, 4), torch.ones(3, 4), {"lambda_value": -0.1}, ValueError, "lambda_value"),
        (torch.ones(2, 4), torch.ones(3, 4), {"block_size": 0}, ValueError, "block_size"),
        (torch.ones(2, 4), torch.ones(3, 4), {"knn_backend": "annoy"}, ValueError, "knn_backend"),
    ],
)
def test_bad_arguments_raise_clear_errors(
    query: Any, gallery: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        k_reciprocal_rerank(query, gallery, **kwargs)


# --------------------------------------------------------------------------- optional faiss


class _FlatIndex:
    """Brute-force stand-in for faiss.IndexFlatL2 / IndexFlatIP (numpy)."""

    def __init__(self, dim: int, metric: str) -> None:
        self.dim, self.metric = dim, metric
        self.data = np.zeros((0, dim), dtype=np.float32)

    def add(self, x: np.ndarray) -> None:
        assert x.dtype == np.float32 and x.shape[1] == self.dim
        self.data = np.concatenate([self.data, x])

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        diff = x[:, None, :] - self.data[None]
        score = (diff**2).sum(-1) if self.metric == "l2" else -(x @ self.data.T)
        idx = np.argsort(score, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(score, idx, 1), idx.astype(np.int64)


def _fake_faiss(calls: list[str]) -> types.ModuleType:
    module = types.ModuleType("faiss")

    def l2(dim: int) -> _FlatIndex:
        calls.append("l2")
        return _FlatIndex(dim, "l2")

    def ip(dim: int) -> _FlatIndex:
        calls.append("ip")
        return _FlatIndex(dim, "ip")

    module.IndexFlatL2 = l2  # type: ignore[attr-defined]
    module.IndexFlatIP = ip  # type: ignore[attr-defined]
    module.get_num_gpus = lambda: 0  # type: ignore[attr-defined]
    return module


def test_faiss_backend_matches_torch_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "faiss", _fake_faiss(calls))
    gen = torch.Generator().manual_seed(7)
    query, gallery = torch.randn(25, 16, generator=gen), torch.randn(80, 16, generator=gen)
    with_faiss = k_reciprocal_rerank(query, gallery, knn_backend="faiss", block_size=10)
    assert calls == ["l2", "ip"]
    with_torch = k_reciprocal_rerank(query, gallery, knn_backend="torch")
    torch.testing.assert_close(with_faiss, with_torch, rtol=0, atol=1e-5)
    # "auto" keeps the cheaper symmetric torch pass when faiss sees no GPU
    k_reciprocal_rerank(query, gallery, knn_backend="auto")
    assert calls == ["l2", "ip"]


def test_faiss_backend_without_faiss_is_an_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` fail
    with pytest.raises(ImportError, match="faiss"):
        k_reciprocal_rerank(torch.ones(2, 4), torch.ones(3, 4), knn_backend="faiss")
    out = k_reciprocal_rerank(torch.eye(4)[:2], torch.eye(4), k1=2, k2=1)  # auto → torch
    assert out.shape == (2, 4)
