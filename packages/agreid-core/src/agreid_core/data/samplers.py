"""Batch samplers. Deterministic given ``(seed, epoch)``; shardable across ranks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import torch


class PKSampler:
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
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.by_label: dict[int, list[int]] = defaultdict(list)
        for i, label in enumerate(labels):
            self.by_label[int(label)].append(i)
        if len(self.by_label) < ids_per_batch:
            raise ValueError(
                f"P×K sampling needs at least {ids_per_batch} identities, the data has {len(self.by_label)}"
            )
        self.p, self.k = ids_per_batch, instances_per_id
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

    def plan(self) -> list[list[int]]:
        """All batches of the current epoch (before sharding)."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        groups: dict[int, list[list[int]]] = {}
        for label in sorted(self.by_label):
            idx = self.by_label[label]
            order = [idx[j] for j in torch.randperm(len(idx), generator=g).tolist()]
            if len(order) < self.k:
                extra = torch.randint(len(idx), (self.k - len(order),), generator=g).tolist()
                order += [idx[j] for j in extra]
            usable = len(order) - len(order) % self.k
            groups[label] = [order[j : j + self.k] for j in range(0, usable, self.k)]
        batches: list[list[int]] = []
        available = [lab for lab in sorted(groups) if groups[lab]]
        while len(available) >= self.p:
            pick = torch.randperm(len(available), generator=g)[: self.p].tolist()
            chosen = [available[j] for j in pick]
            batch: list[int] = []
            for lab in chosen:
                batch.extend(groups[lab].pop())
            batches.append(batch)
            available = [lab for lab in available if groups[lab]]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.plan()
        usable = len(batches) - len(batches) % self.world_size
        yield from batches[self.rank : usable : self.world_size]

    def __len__(self) -> int:
        return len(self.plan()) // self.world_size
