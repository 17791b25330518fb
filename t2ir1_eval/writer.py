"""A one-thread writer that takes PNG encoding and file writes off the generator's path.

``BackgroundWriter`` runs submitted jobs in order on one thread (so a batch's manifest lines
are still written after its images), keeps at most ``max_pending`` batches queued (bounded
memory: a queued batch holds its PIL images) and re-raises a job's exception in the caller at
the next ``submit`` or at ``close``, so a failed write stops the run as it did inline.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class BackgroundWriter:
    def __init__(self, max_pending: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="t2ir1-writer")
        self._pending: list[Future] = []
        self.max_pending = max(1, max_pending)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._reap(block=len(self._pending) >= self.max_pending)
        self._pending.append(self._pool.submit(fn, *args))

    def _reap(self, block: bool) -> None:
        if block and self._pending:
            self._pending[0].result()  # raises the job's exception here
        keep = []
        for f in self._pending:
            if f.done():
                f.result()
            else:
                keep.append(f)
        self._pending = keep

    def close(self) -> None:
        """Wait for every job; the first failure is raised."""
        try:
            for f in self._pending:
                f.result()
        finally:
            self._pending = []
            self._pool.shutdown(wait=True)

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.close()
        else:  # already failing: finish what is queued, keep the original error
            try:
                self.close()
            except Exception:
                pass
