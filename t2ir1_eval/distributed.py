"""Scale-out under torchrun / accelerate launch: shard prompts by rank, merge on rank 0.

Nothing here needs a GPU: on CPU the process group uses gloo. Ranks share only the file
system; each writes its own manifest and records (``rank-NNNNN.jsonl``), and rank 0 reads
them all after a barrier.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    return DistInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


def init(info: DistInfo) -> None:
    """Join the process group (a no-op for a single process)."""
    if info.world_size <= 1:
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        import torch

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        # Long timeout: ranks reach the barrier after generating their whole shard.
        dist.init_process_group(backend=backend, timeout=timedelta(hours=12))
        if backend == "nccl":
            torch.cuda.set_device(info.local_rank)
        log.info("rank %d/%d joined the %s process group", info.rank, info.world_size, backend)


def barrier(info: DistInfo) -> None:
    if info.world_size <= 1:
        return
    import torch.distributed as dist

    dist.barrier()


def finish(info: DistInfo) -> None:
    if info.world_size <= 1:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def shard(items: Sequence[T], info: DistInfo) -> list[T]:
    """Round-robin, so every rank gets a similar mix of prompt lengths and categories."""
    return list(items[info.rank :: info.world_size])
