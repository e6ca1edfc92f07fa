"""Platform-balanced P×K sampler; distributed and DataLoader determinism of both samplers."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from torch.utils.data import DataLoader, Dataset

from agreid_core.data.samplers import PKSampler, PlatformBalancedPKSampler


def _world() -> tuple[list[int], list[str]]:
    """12 identities: 0–3 on three platforms, 4–9 on two, 10–11 aerial only (ineligible)."""
    labels: list[int] = []
    platforms: list[str] = []
    for pid in range(12):
        seen = (
            ["aerial", "cctv", "wearable"]
            if pid < 4
            else ["aerial", "cctv"]
            if pid < 10
            else ["aerial"]
        )
        for j, platform in enumerate(seen):
            n = 1 + (pid + j) % 5  # 1..5 samples per platform; some below K
            labels += [pid] * n
            platforms += [platform] * n
    return labels, platforms


LABELS, PLATFORMS = _world()
PK_LABELS = [i for i in range(10) for _ in range(i + 1)]


def _platform_sampler(**kwargs: int) -> PlatformBalancedPKSampler:
    return PlatformBalancedPKSampler(
        LABELS, PLATFORMS, **{"ids_per_batch": 3, "instances_per_platform": 2, **kwargs}
    )


def test_each_identity_brings_k_samples_from_each_of_its_platforms() -> None:
    sampler = _platform_sampler(seed=3)
    batches = list(sampler)
    assert batches and len(batches) == len(sampler)
    own_platforms: dict[int, set[str]] = defaultdict(set)
    for label, platform in zip(LABELS, PLATFORMS, strict=True):
        own_platforms[label].add(platform)
    for batch in batches:
        ids = Counter(LABELS[i] for i in batch)
        assert len(ids) == 3
        for pid in ids:
            assert pid < 10, "single-platform identities are not eligible"
            per_platform = Counter(PLATFORMS[i] for i in batch if LABELS[i] == pid)
            assert set(per_platform) == own_platforms[pid]
            assert set(per_platform.values()) == {2}
        assert len(batch) == sum(2 * len(own_platforms[pid]) for pid in ids)


def test_bento_shape_16_ids_3_platforms_8_per_platform() -> None:
    labels = [pid for pid in range(20) for _ in range(3 * 8)]
    platforms = [q for _ in range(20) for q in ("A", "C", "W") for _ in range(8)]
    [batch] = list(PlatformBalancedPKSampler(labels, platforms, 16, 8, seed=0))
    assert len(batch) == 16 * 3 * 8 and len(set(batch)) == len(batch)


def test_units_are_limited_by_the_rarest_platform_and_short_platforms_are_topped_up() -> None:
    # identity 0: 6 aerial, 1 ground → one unit with K=2; the ground sample is repeated
    labels = [0] * 7 + [1] * 4 + [2] * 4
    platforms = ["a"] * 6 + ["g"] + ["a", "a", "g", "g"] * 2
    sampler = PlatformBalancedPKSampler(labels, platforms, 3, 2, seed=0)
    [batch] = list(sampler)
    assert batch.count(6) == 2


def test_determinism_epochs_and_state_dict() -> None:
    a, b = _platform_sampler(seed=7), _platform_sampler(seed=7)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(a) != list(_platform_sampler(seed=8))
    c = _platform_sampler(seed=0)
    c.load_state_dict(b.state_dict())
    assert list(c) == list(b)


def test_errors() -> None:
    with pytest.raises(
        ValueError, match="at least 11 identities seen on ≥ 2 platforms, the data has 10"
    ):
        _platform_sampler(ids_per_batch=11)
    with pytest.raises(ValueError, match="must align"):
        PlatformBalancedPKSampler([0, 1], ["a"], 1, 1)
    with pytest.raises(ValueError, match="≥ 1"):
        _platform_sampler(instances_per_platform=0)
    with pytest.raises(ValueError, match="rank 2"):
        _platform_sampler(rank=2, world_size=2)


def _both(**kwargs: int) -> list[PKSampler | PlatformBalancedPKSampler]:
    return [
        PKSampler(PK_LABELS, 2, 2, **kwargs),
        _platform_sampler(ids_per_batch=2, instances_per_platform=1, **kwargs),
    ]


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("epoch", [0, 1, 2])
def test_two_ranks_are_disjoint_and_cover_the_truncated_single_process_plan(
    which: int, epoch: int
) -> None:
    single = _both(seed=5)[which]
    single.set_epoch(epoch)
    full = single.plan()
    ranks = [_both(seed=5, rank=r, world_size=2)[which] for r in range(2)]
    shards = []
    for r in ranks:
        r.set_epoch(epoch)
        shards.append(list(r))
    assert len(shards[0]) == len(shards[1]) == len(full) // 2 == len(ranks[0])
    keys = [[tuple(b) for b in shard] for shard in shards]
    # disjoint as batch positions of the plan: together they are exactly the truncated plan
    assert sorted(keys[0] + keys[1]) == sorted(tuple(b) for b in full[: len(full) - len(full) % 2])
    assert [b for pair in zip(*shards, strict=True) for b in pair] == full[: 2 * len(shards[0])]


class _Indices(Dataset[int]):
    def __len__(self) -> int:
        return max(len(LABELS), len(PK_LABELS))

    def __getitem__(self, i: int) -> int:
        return i


@pytest.mark.parametrize("which", [0, 1])
def test_dataloader_workers_do_not_change_the_plan(which: int) -> None:
    sampler = _both(seed=2)[which]
    sampler.set_epoch(3)
    loader = DataLoader(_Indices(), batch_sampler=sampler, num_workers=2)
    got = [batch.tolist() for batch in loader]
    assert got == list(sampler)
