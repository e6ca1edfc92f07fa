"""Ranking metrics: hand-computed cases, brute-force properties, feature path, errors."""

from __future__ import annotations

import math
from typing import Any
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from agreid_core.evaluation import (
    RankingMetrics,
    evaluate_features,
    evaluate_ranking,
    l2_normalize,
    pairwise_distance,
)
from agreid_core.evaluation import metrics as metrics_module

Array = np.ndarray[Any, Any]


def brute_force(
    dist: Array, q_pids: Array, g_pids: Array, q_cams: Array, g_cams: Array, max_rank: int
) -> tuple[Array, float, float, int, int] | None:
    """Per query: stable argsort, drop junk, read the match positions. None if all skipped."""
    cmcs, aps, inps, skipped = [], [], [], 0
    for i in range(dist.shape[0]):
        order = np.argsort(dist[i], kind="stable")
        junk = (g_pids[order] == q_pids[i]) & (g_cams[order] == q_cams[i])
        match = g_pids[order][~junk] == q_pids[i]
        if not match.any():
            skipped += 1
            continue
        hits = np.flatnonzero(match)
        cmc = np.zeros(max_rank)
        cmc[hits[0] :] = 1.0  # ranks past the filtered list stay "found"
        cmcs.append(cmc)
        aps.append(np.mean(np.arange(1, len(hits) + 1) / (hits + 1)))
        inps.append(len(hits) / (hits[-1] + 1))
    if not aps:
        return None
    return np.mean(cmcs, axis=0), float(np.mean(aps)), float(np.mean(inps)), len(aps), skipped


def assert_matches(result: RankingMetrics, expected: tuple[Array, float, float, int, int]) -> None:
    cmc, m_ap, m_inp, valid, skipped = expected
    np.testing.assert_allclose(result.cmc, cmc, rtol=0, atol=1e-12)
    assert result.mAP == pytest.approx(m_ap, rel=1e-12, abs=1e-12)
    assert result.mINP == pytest.approx(m_inp, rel=1e-12, abs=1e-12)
    assert (result.num_valid, result.num_skipped) == (valid, skipped)


# --------------------------------------------------------------------------- (a) by hand

#  gallery index     0    1    2    3    4
G_PIDS = np.array([1, 2, 1, 1, 3])
G_CAMS = np.array([0, 1, 1, 0, 1])
Q_PIDS = np.array([1, 1, 3, 9])
Q_CAMS = np.array([0, 2, 1, 0])
DIST = np.array(
    [
        # q0 (pid 1, cam 0): g0 and g3 are junk (pid 1, cam 0); g2 is the only match.
        # stable order g0 .1, g3 .2, g4 .3, g1 .5, g2 .5 (tie -> g1 first) ; minus junk:
        # g4, g1, g2 -> match at 0-based position 2: CMC = 0,0,1,1,... AP = 1/3, INP = 1/3.
        [0.1, 0.5, 0.5, 0.2, 0.3],
        # q1 (pid 1, cam 2): matches g0, g2, g3, no junk.
        # order g0 .05, g1 .1, g4 .2, g2 .4, g3 .4 (tie -> g2 first) ; matches at 0, 3, 4:
        # CMC = 1,1,...  AP = (1/1 + 2/4 + 3/5) / 3 = 0.7 ; INP = 3 / 5 = 0.6.
        [0.05, 0.1, 0.4, 0.4, 0.2],
        # q2 (pid 3, cam 1): its only same-pid item g4 has cam 1 -> junk -> skipped.
        [0.3, 0.2, 0.1, 0.0, 0.4],
        # q3 (pid 9): not in the gallery -> skipped.
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ]
)
# Over the 2 valid queries: CMC = (0.5, 0.5, 1, 1, 1, ...); mAP = (1/3 + 0.7) / 2;
# mINP = (1/3 + 0.6) / 2. Breaking the q0 tie the other way would give AP 1/2; keeping
# its junk would give AP 1/5.


@pytest.mark.parametrize("to_torch", [False, True])
@pytest.mark.parametrize("block_size", [1, 3, None])
def test_hand_computed(to_torch: bool, block_size: int | None) -> None:
    args: list[Any] = [DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS]
    if to_torch:
        args = [torch.from_numpy(a) for a in args]
    r = evaluate_ranking(*args, max_rank=7, block_size=block_size)
    np.testing.assert_allclose(r.cmc, [0.5, 0.5, 1, 1, 1, 1, 1])
    assert r.mAP == pytest.approx((1 / 3 + 0.7) / 2)
    assert r.mINP == pytest.approx((1 / 3 + 0.6) / 2)
    assert (r.num_valid, r.num_skipped) == (2, 2)
    assert r.rank(1) == 0.5 and r.rank(3) == 1.0


def test_as_dict_and_rank() -> None:
    r = evaluate_ranking(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=7)
    d = r.as_dict()
    assert set(d) == {
        "rank1",
        "rank5",
        "rank10",
        "mAP",
        "mINP",
        "cmc",
        "num_valid_queries",
        "num_skipped_queries",
    }
    assert (d["rank1"], d["rank5"]) == (0.5, 1.0)
    assert isinstance(d["rank10"], float) and math.isnan(d["rank10"])  # beyond max_rank
    assert d["cmc"] == [0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert (d["num_valid_queries"], d["num_skipped_queries"]) == (2, 2)
    with pytest.raises(ValueError, match="rank k must be in"):
        r.rank(0)
    with pytest.raises(ValueError, match="rank k must be in"):
        r.rank(8)
    assert r == evaluate_ranking(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=7, block_size=1)


# --------------------------------------------------------------------------- (b) properties

VALUES = [0.0, -0.0, 1.0, 2.0, 3.0, np.inf]  # few values: many ties; +-0 compare equal


@st.composite
def problems(draw: st.DrawFn) -> tuple[Array, Array, Array, Array, Array]:
    n_q, n_g = draw(st.integers(1, 7)), draw(st.integers(1, 24))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    dist = draw(hnp.arrays(dtype, (n_q, n_g), elements=st.sampled_from(VALUES)))
    ids = st.integers(0, 4)  # few pids: single-image identities and absent pids both occur
    q_pids = draw(hnp.arrays(np.int64, n_q, elements=ids))
    g_pids = draw(hnp.arrays(np.int64, n_g, elements=ids))
    q_cams = draw(hnp.arrays(np.int64, n_q, elements=st.integers(0, 1)))
    g_cams = draw(hnp.arrays(np.int64, n_g, elements=st.integers(0, 1)))
    return dist, q_pids, g_pids, q_cams, g_cams


@settings(max_examples=300, deadline=None)
@given(
    problem=problems(),
    max_rank=st.integers(1, 30),
    block_size=st.sampled_from([1, 2, 3, None]),
    tile=st.sampled_from([1, 3, 7, 65536]),
    to_torch=st.booleans(),
)
def test_matches_brute_force(
    problem: tuple[Array, Array, Array, Array, Array],
    max_rank: int,
    block_size: int | None,
    tile: int,
    to_torch: bool,
) -> None:
    """Small tiles exercise the multi-tile path used for galleries over 65536 items."""
    expected = brute_force(*problem, max_rank)
    args: list[Any] = [torch.from_numpy(a) for a in problem] if to_torch else list(problem)
    with mock.patch.object(metrics_module, "_TILE", tile):
        if expected is None:
            with pytest.raises(ValueError, match="no query has a valid gallery match"):
                evaluate_ranking(*args, max_rank=max_rank, block_size=block_size)
            return
        result = evaluate_ranking(*args, max_rank=max_rank, block_size=block_size)
    assert_matches(result, expected)
    assert result.cmc.dtype == np.float64 and result.cmc.shape == (max_rank,)


@pytest.mark.parametrize("seed", range(4))
def test_larger_random_with_ties(seed: int) -> None:
    """Rounded distances (many ties with matches), junk and skipped queries, odd blocks."""
    rng = np.random.default_rng(seed)
    n_q, n_g = 60, 700
    dist = np.round(rng.random((n_q, n_g)), 2).astype(np.float32)
    q_pids, g_pids = rng.integers(0, 30, n_q), rng.integers(0, 25, n_g)
    q_cams, g_cams = rng.integers(0, 3, n_q), rng.integers(0, 3, n_g)
    expected = brute_force(dist, q_pids, g_pids, q_cams, g_cams, 50)
    assert expected is not None and expected[4] > 0  # some queries skipped
    for block_size, tile in ((7, 65536), (None, 128)):
        with mock.patch.object(metrics_module, "_TILE", tile):
            result = evaluate_ranking(
                torch.from_numpy(dist), q_pids, g_pids, q_cams, g_cams, block_size=block_size
            )
        assert_matches(result, expected)


# --------------------------------------------------------------------------- (c) features


def _feature_problem(seed: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    qf, gf = torch.randn(23, 16, generator=g, dtype=dtype), torch.randn(150, 16, generator=g)
    return (
        qf,
        gf.to(dtype),
        torch.randint(0, 12, (23,), generator=g),
        torch.randint(0, 12, (150,), generator=g),
        torch.randint(0, 2, (23,), generator=g),
        torch.randint(0, 3, (150,), generator=g),
    )


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("block_size", [1, 5, None])
def test_features_equal_ranking_of_distances(metric: Any, block_size: int | None) -> None:
    qf, gf, *ids = _feature_problem(0, torch.float64)
    expected = evaluate_ranking(pairwise_distance(qf, gf, metric), *ids)
    result = evaluate_features(qf, gf, *ids, metric=metric, block_size=block_size)
    np.testing.assert_array_equal(result.cmc, expected.cmc)
    assert result.mAP == pytest.approx(expected.mAP, rel=1e-12)
    assert result.mINP == pytest.approx(expected.mINP, rel=1e-12)
    assert (result.num_valid, result.num_skipped) == (expected.num_valid, expected.num_skipped)


def test_features_exact_with_integer_features() -> None:
    """Small-integer features: every squared distance is exact, with many ties."""
    rng = np.random.default_rng(3)
    qf = rng.integers(-2, 3, (40, 4)).astype(np.float32)
    gf = rng.integers(-2, 3, (300, 4)).astype(np.float32)
    ids = (rng.integers(0, 9, 40), rng.integers(0, 9, 300))
    cams = (rng.integers(0, 2, 40), rng.integers(0, 2, 300))
    dist = ((qf[:, None, :] - gf[None, :, :]) ** 2).sum(-1) ** 0.5
    expected = brute_force(dist, ids[0], ids[1], cams[0], cams[1], 50)
    assert expected is not None
    result = evaluate_features(qf, gf, ids[0], ids[1], *cams, metric="euclidean", block_size=3)
    assert_matches(result, expected)


def test_pairwise_distance_definitions() -> None:
    qf, gf, *_ = _feature_problem(1, torch.float64)
    gf[3] = 0.0  # zero row: cosine distance 1
    cos = 1 - torch.nn.functional.cosine_similarity(qf[:, None], gf[None], dim=-1, eps=1e-30)
    cos[:, 3] = 1.0
    torch.testing.assert_close(pairwise_distance(qf, gf, "cosine"), cos)
    torch.testing.assert_close(pairwise_distance(qf, gf, "euclidean"), torch.cdist(qf, gf))
    torch.testing.assert_close(pairwise_distance(qf, gf, "sqeuclidean"), torch.cdist(qf, gf) ** 2)
    assert pairwise_distance(qf.float(), gf.float(), "cosine").dtype == torch.float32
    norms = l2_normalize(qf).norm(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms))


# --------------------------------------------------------------------------- (d) errors


def test_shape_errors_name_the_argument() -> None:
    ok = [DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS]
    with pytest.raises(ValueError, match=r"distmat must be 2-D .* got shape \(5,\)"):
        evaluate_ranking(DIST[0], *ok[1:])
    with pytest.raises(ValueError, match=r"q_pids must be 1-D .* \(4\), got shape \(3,\)"):
        evaluate_ranking(DIST, Q_PIDS[:3], *ok[2:])
    with pytest.raises(ValueError, match=r"g_camids .* gallery item \(5\), got shape \(5, 1\)"):
        evaluate_ranking(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS[:, None])
    with pytest.raises(ValueError, match=r"g_pids .* \(5\), got shape \(4,\)"):
        evaluate_ranking(DIST, Q_PIDS, G_PIDS[:4], Q_CAMS, G_CAMS)
    with pytest.raises(ValueError, match=r"q_camids"):
        evaluate_ranking(DIST, Q_PIDS, G_PIDS, torch.zeros(2, dtype=torch.long), G_CAMS)
    with pytest.raises(ValueError, match=r"non-empty"):
        evaluate_ranking(np.zeros((0, 5)), Q_PIDS[:0], G_PIDS, Q_CAMS[:0], G_CAMS)
    with pytest.raises(TypeError, match=r"q_pids must hold integers"):
        evaluate_ranking(DIST, Q_PIDS.astype(float), *ok[2:])


def test_feature_and_option_errors() -> None:
    qf, gf = torch.zeros(4, 8), torch.zeros(5, 7)
    with pytest.raises(ValueError, match=r"same feature dim.*\(4, 8\) and \(5, 7\)"):
        evaluate_features(qf, gf, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS)
    with pytest.raises(ValueError, match=r"query_features must be 2-D"):
        evaluate_features(torch.zeros(8), gf, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS)
    with pytest.raises(ValueError, match=r"feature dims differ"):
        pairwise_distance(qf, gf, "cosine")
    with pytest.raises(ValueError, match=r"unknown metric 'manhattan'"):
        pairwise_distance(qf, qf, "manhattan")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"max_rank must be >= 1"):
        evaluate_ranking(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=0)
    with pytest.raises(ValueError, match=r"block_size must be >= 1"):
        evaluate_ranking(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, block_size=0)


def test_all_skipped_and_nan() -> None:
    with pytest.raises(ValueError, match=r"all 2 queries skipped"):
        evaluate_ranking(DIST[2:], Q_PIDS[2:], G_PIDS, Q_CAMS[2:], G_CAMS)
    bad = DIST.copy()
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        evaluate_ranking(bad, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_blocks_give_the_single_thread_result(threads: int) -> None:
    rng = np.random.default_rng(11)
    n_q, n_g = 37, 300
    q_pids, g_pids = rng.integers(0, 12, n_q), rng.integers(0, 12, n_g)
    q_cams, g_cams = rng.integers(0, 3, n_q), rng.integers(0, 3, n_g)
    dist = rng.integers(0, 20, (n_q, n_g)).astype(np.float32)  # many ties
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        expect = evaluate_ranking(dist, q_pids, g_pids, q_cams, g_cams, block_size=4)
        torch.set_num_threads(threads)
        with mock.patch.object(metrics_module, "_TILE", 64):
            got = evaluate_ranking(dist, q_pids, g_pids, q_cams, g_cams, block_size=4)
    finally:
        torch.set_num_threads(old)
    assert got == expect  # per-query terms are summed exactly: bit-identical
    assert got.num_valid + got.num_skipped == n_q
