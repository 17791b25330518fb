"""Progress on long loops: a tqdm bar on a terminal, a periodic log line (rate, ETA) in a plain log.

tqdm hides itself when stderr is not a terminal (``disable=None``), which left Slurm and nohup logs
silent for hours; there a line every ``$T2IR1_EVAL_PROGRESS_SECONDS`` (default 60) is printed instead.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger("t2ir1_eval.progress")
ENV_INTERVAL = "T2IR1_EVAL_PROGRESS_SECONDS"


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get(ENV_INTERVAL, "60")))
    except ValueError:
        return 60.0


def _hms(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class LogProgress:
    """The subset of tqdm the pipeline uses (update, close, iteration), reporting through logging."""

    def __init__(self, iterable: Any = None, total: int | None = None, desc: str = "", unit: str = "it",
                 interval: float | None = None) -> None:
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc, self.unit = desc, unit
        self.n = 0
        self.interval = _interval() if interval is None else interval
        self.start = self.last = time.monotonic()
        self.closed = False

    def __iter__(self):
        for x in self.iterable:
            yield x
            self.update(1)
        self.close()

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        eta = f", ETA {_hms((self.total - self.n) / rate)}" if self.total and rate > 0 else ""
        return f"{self.desc}: {done} {self.unit}{pct}, {rate:.2f} {self.unit}/s, elapsed {_hms(elapsed)}{eta}"

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            log.info("%s", self.line())

    def close(self) -> None:
        if not self.closed and self.n:
            log.info("%s (done)", self.line())
        self.closed = True


def progress(iterable: Any = None, total: int | None = None, desc: str = "", unit: str = "it", **kw: Any) -> Any:
    """tqdm on a terminal; ``LogProgress`` otherwise (extra tqdm keywords such as position are passed to tqdm)."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        kw.pop("disable", None)
        return tqdm(iterable, total=total, desc=desc, unit=unit, **kw)
    return LogProgress(iterable, total=total, desc=desc, unit=unit)
