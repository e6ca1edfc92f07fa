"""Multi-process data parallel training under ``torchrun``.

``torchrun --nproc_per_node N …`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and the
rendezvous address); :func:`init_distributed` reads them, joins the process group (gloo on
CPU, nccl on CUDA) and returns a :class:`DistContext`. The trainer then wraps the model in
:class:`~torch.nn.parallel.DistributedDataParallel`, gives each rank its own share of every
epoch's P×K batches (``rank, rank + N, …`` of the same plan), and lets only rank 0 write
checkpoints and logs. Without those variables (or with ``WORLD_SIZE=1``) everything is a
single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in a data-parallel job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files."""
        return self.rank == 0


def env_context() -> DistContext:
    """The context the launcher's environment variables describe (no process group yet)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return DistContext(rank=rank, world_size=world, local_rank=local)


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group the environment describes, if any; idempotent.

    The backend is nccl for a CUDA ``device`` and gloo otherwise; on CUDA the process uses
    GPU ``LOCAL_RANK``.
    """
    if dist.is_available() and dist.is_initialized():
        return DistContext(
            rank=dist.get_rank(),
            world_size=dist.get_world_size(),
            local_rank=int(os.environ.get("LOCAL_RANK", str(dist.get_rank()))),
        )
    ctx = env_context()
    if not ctx.enabled:
        return ctx
    if device.type == "cuda":
        torch.cuda.set_device(ctx.local_rank)
    dist.init_process_group(
        backend="nccl" if device.type == "cuda" else "gloo",
        rank=ctx.rank,
        world_size=ctx.world_size,
    )
    return ctx


def device_for(device: torch.device, ctx: DistContext) -> torch.device:
    """On CUDA, each rank's own GPU (``cuda:LOCAL_RANK``); otherwise ``device`` unchanged."""
    if device.type == "cuda" and ctx.enabled:
        return torch.device("cuda", ctx.local_rank)
    return device


def all_true(flag: bool, ctx: DistContext) -> bool:
    """Whether ``flag`` holds on every rank (one small all-reduce when distributed)."""
    if not ctx.enabled:
        return flag
    value = torch.tensor([int(flag)], dtype=torch.int32, device=_comm_device())
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())


def any_true(flag: bool, ctx: DistContext) -> bool:
    """Whether ``flag`` holds on at least one rank."""
    return not all_true(not flag, ctx)


def gather_tensor(value: torch.Tensor, ctx: DistContext) -> list[torch.Tensor]:
    """Every rank's copy of a same-shaped ``value`` (a list of one without distribution)."""
    if not ctx.enabled:
        return [value]
    local = value.to(_comm_device())
    out = [torch.empty_like(local) for _ in range(ctx.world_size)]
    dist.all_gather(out, local)
    return [t.cpu() for t in out]


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op in a single process)."""
    if ctx.enabled:
        dist.barrier()


def _comm_device() -> torch.device:
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
