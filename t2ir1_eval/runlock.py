"""One process per run directory (per rank): an exclusive ``flock`` on ``<run>/.lock/rank-NNNNN``.

Two processes working on one run directory both did all the work (paid judge calls twice,
duplicate manifest rows). The lock file holds the holder's pid, host and command, so the second
process can say who is working there. ``flock`` locks die with their process, so a killed run
never leaves a stale lock: the next run takes it over at once. Under torchrun every rank locks
its own file, so the ranks of one job do not block each other, while a second job on the same
directory meets rank 0's (or its own rank's) lock and stops.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .redact import redact_text

log = logging.getLogger(__name__)

#: when this process started: temporary files older than this cannot belong to a live writer of this job
PROCESS_START = time.time()


class RunDirBusy(ConfigError):
    """Another process holds the run directory."""


class RunLock:
    def __init__(self, run_dir: Path, rank: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self.rank = rank
        self.path = self.run_dir / ".lock" / f"rank-{rank:05d}"
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunDirBusy(
                f"{self.run_dir} is in use by another t2ir1-eval process (pid {holder.get('pid', '?')} on host "
                f"{holder.get('host', '?')}, since {holder.get('since', '?')}, rank {self.rank}: "
                f"{holder.get('command', '?')}). Wait for it to finish (or stop it), or use another --run-dir."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "rank": self.rank,
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 "command": redact_text(" ".join(sys.argv))[:300]}).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}


def clean_orphan_temps(run_dir: Path) -> int:
    """Delete temporary files of writes that a kill interrupted (``.NAME.*.tmp``, ``*.download``).

    Only files older than this process are removed: a rank of the same job that started
    a moment later may be writing one right now.
    """
    removed = 0
    root = Path(run_dir)
    if not root.is_dir():
        return 0
    for pattern in (".*.tmp", "*.tmp"):
        for p in root.rglob(pattern):
            try:
                if p.is_file() and p.stat().st_mtime < PROCESS_START:
                    p.unlink()
                    removed += 1
            except OSError:
                continue
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted write under %s", removed, root)
    return removed
