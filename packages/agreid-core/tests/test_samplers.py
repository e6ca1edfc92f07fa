"""P×K identity sampler: composition, determinism, shards."""

from __future__ import annotations

from collections import Counter

import pytest

from agreid_core.data.samplers import PKSampler

# 10 identities with 1..10 samples each (identity i has i+1 samples)
LABELS = [i for i in range(10) for _ in range(i + 1)]


def test_batches_hold_p_identities_times_k() -> None:
    sampler = PKSampler(LABELS, ids_per_batch=3, instances_per_id=2, seed=1)
    batches = list(sampler)
    assert batches and len(batches) == len(sampler)
    for batch in batches:
        counts = Counter(LABELS[i] for i in batch)
        assert len(batch) == 6
        assert len(counts) == 3
        assert set(counts.values()) == {2}


def test_identity_with_fewer_than_k_samples_is_topped_up() -> None:
    sampler = PKSampler([0, 1, 1, 1, 2, 2, 2], ids_per_batch=3, instances_per_id=3, seed=0)
    [batch] = list(sampler)
    assert batch.count(0) == 3


def test_same_seed_same_epoch_same_plan_and_epochs_differ() -> None:
    a = PKSampler(LABELS, 3, 2, seed=7)
    b = PKSampler(LABELS, 3, 2, seed=7)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    c = PKSampler(LABELS, 3, 2, seed=8)
    assert list(a) != list(c)


def test_state_dict_restores_the_epoch() -> None:
    a = PKSampler(LABELS, 3, 2, seed=3)
    a.set_epoch(4)
    b = PKSampler(LABELS, 3, 2, seed=0)
    b.load_state_dict(a.state_dict())
    assert list(a) == list(b)


def test_ranks_get_disjoint_shards_of_the_same_plan() -> None:
    full = PKSampler(LABELS, 2, 2, seed=5).plan()
    shards = [list(PKSampler(LABELS, 2, 2, seed=5, rank=r, world_size=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == len(full) // 2
    seen = [tuple(b) for s in shards for b in s]
    assert len(seen) == len(set(seen))
    assert set(seen) <= {tuple(b) for b in full}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 4 identities"):
        PKSampler([0, 1, 2], 4, 1)
    with pytest.raises(ValueError, match="rank 2"):
        PKSampler(LABELS, 2, 2, rank=2, world_size=2)
