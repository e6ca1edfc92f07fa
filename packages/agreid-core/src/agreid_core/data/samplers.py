"""Batch samplers. Deterministic given ``(seed, epoch)``; shardable across ranks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterator, Sequence

import torch


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator that draws the whole plan of one ``(seed, epoch)``."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def _shard(batches: list[list[int]], rank: int, world_size: int) -> list[list[int]]:
    """Rank ``rank``'s batches ``rank, rank + world_size, …`` of a plan cut to a multiple of ``world_size``."""
    usable = len(batches) - len(batches) % world_size
    return batches[rank:usable:world_size]


def _k_groups(idx: Sequence[int], k: int, g: torch.Generator) -> list[list[int]]:
    """Shuffle ``idx`` and cut it into groups of ``k`` (topped up by redrawing when shorter than ``k``)."""
    order = [idx[j] for j in torch.randperm(len(idx), generator=g).tolist()]
    if len(order) < k:
        extra = torch.randint(len(idx), (k - len(order),), generator=g).tolist()
        order += [idx[j] for j in extra]
    usable = len(order) - len(order) % k
    return [order[j : j + k] for j in range(0, usable, k)]


def _draw_batches(units: dict[int, list[list[int]]], p: int, g: torch.Generator) -> list[list[int]]:
    """Batches of ``p`` random identities, each contributing its next unit, until fewer than ``p`` remain."""
    batches: list[list[int]] = []
    available = [lab for lab in sorted(units) if units[lab]]
    while len(available) >= p:
        pick = torch.randperm(len(available), generator=g)[:p].tolist()
        batch: list[int] = []
        for lab in (available[j] for j in pick):
            batch.extend(units[lab].pop())
        batches.append(batch)
        available = [lab for lab in available if units[lab]]
    return batches


class _EpochSampler:
    """Shared epoch/state/sharding behaviour; subclasses implement :meth:`plan`."""

    p: int

    def __init__(self, seed: int, rank: int, world_size: int) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose plan the next iteration yields."""
        self.epoch = epoch

    def state_dict(self) -> dict[str, int]:
        """The sampler's resumable state."""
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore :meth:`state_dict`."""
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])

    def _generator(self) -> torch.Generator:
        return _epoch_generator(self.seed, self.epoch)

    def plan(self) -> list[list[int]]:
        """All batches of the current epoch (before sharding)."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[list[int]]:
        yield from _shard(self.plan(), self.rank, self.world_size)

    def __len__(self) -> int:
        return len(self.plan()) // self.world_size


class PKSampler(_EpochSampler):
    """P identities × K samples per batch (the "random identity sampler" of ReID).

    One epoch: each identity's samples are shuffled and cut into groups of K (an identity
    with fewer than K samples is topped up by drawing again from its own samples); batches
    then take P random identities that still have a group, until fewer than P remain.
    With ``world_size > 1`` rank ``r`` yields batches ``r, r + world_size, …`` of the same
    epoch plan, so ranks see disjoint batches.
    """

    def __init__(
        self,
        labels: Sequence[int],
        ids_per_batch: int,
        instances_per_id: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if ids_per_batch < 1 or instances_per_id < 1:
            raise ValueError("ids_per_batch and instances_per_id must be ≥ 1")
        super().__init__(seed, rank, world_size)
        self.by_label: dict[int, list[int]] = defaultdict(list)
        for i, label in enumerate(labels):
            self.by_label[int(label)].append(i)
        if len(self.by_label) < ids_per_batch:
            raise ValueError(
                f"P×K sampling needs at least {ids_per_batch} identities, the data has {len(self.by_label)}"
            )
        self.p, self.k = ids_per_batch, instances_per_id

    def plan(self) -> list[list[int]]:
        """All batches of the current epoch (before sharding)."""
        g = self._generator()
        groups = {
            label: _k_groups(self.by_label[label], self.k, g) for label in sorted(self.by_label)
        }
        return _draw_batches(groups, self.p, g)


class PlatformBalancedPKSampler(_EpochSampler):
    """P identities × (K samples from each platform the identity was seen on) per batch.

    BENTO-style cross-platform batches: with three platforms (aerial, CCTV, wearable),
    P=16 and K=8 give 16 × 3 × 8 = 384 images. Only identities with samples on at least two
    platforms are eligible (the rest are skipped). One epoch: each eligible identity's samples
    on each of its platforms are shuffled and cut into groups of K (topped up when fewer than K);
    the identity contributes ``min`` over its platforms of the group count as *units* (one group
    per platform, concatenated in platform order). Batches then take P random identities that
    still have a unit, as :class:`PKSampler` does. An identity seen on only two of three
    platforms contributes 2K samples, so batch sizes can vary. Sharding, ``set_epoch`` and
    ``state_dict`` behave as in :class:`PKSampler`.
    """

    def __init__(
        self,
        labels: Sequence[int],
        platforms: Sequence[Hashable],
        ids_per_batch: int,
        instances_per_platform: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if ids_per_batch < 1 or instances_per_platform < 1:
            raise ValueError("ids_per_batch and instances_per_platform must be ≥ 1")
        if len(labels) != len(platforms):
            raise ValueError(
                f"{len(labels)} labels but {len(platforms)} platforms: they must align"
            )
        super().__init__(seed, rank, world_size)
        by_id: dict[int, dict[Hashable, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, (label, platform) in enumerate(zip(labels, platforms, strict=True)):
            by_id[int(label)][platform].append(i)
        # platform buckets in a fixed, type-agnostic order
        self.by_label: dict[int, list[list[int]]] = {
            label: [per_platform[q] for q in sorted(per_platform, key=repr)]
            for label, per_platform in by_id.items()
            if len(per_platform) >= 2
        }
        self.skipped = len(by_id) - len(self.by_label)
        if len(self.by_label) < ids_per_batch:
            raise ValueError(
                f"platform-balanced P×K sampling needs at least {ids_per_batch} identities seen on ≥ 2 "
                f"platforms, the data has {len(self.by_label)} (of {len(by_id)} identities)"
            )
        self.p, self.k = ids_per_batch, instances_per_platform

    def plan(self) -> list[list[int]]:
        """All batches of the current epoch (before sharding)."""
        g = self._generator()
        units: dict[int, list[list[int]]] = {}
        for label in sorted(self.by_label):
            per_platform = [_k_groups(idx, self.k, g) for idx in self.by_label[label]]
            n = min(len(groups) for groups in per_platform)
            units[label] = [[i for groups in per_platform for i in groups[u]] for u in range(n)]
        return _draw_batches(units, self.p, g)
