"""Run a scorer in another Python interpreter (mmdet, detectron2 or ModelScope environments).

Protocol (one JSON object per line; the worker's stdout carries nothing else, its stderr is
passed through for logs):

    parent -> worker                                   worker -> parent
    {"op": "init", "target": "pkg.mod:Class",          {"ok": true, "result": {"pid": ..., "python": ...}}
     "context": {...}, "options": {...}}
    {"op": "describe"}                                 {"ok": true, "result": {...}}
    {"op": "score", "samples": [sample, ...]}          {"ok": true, "result": [raw, ...]}
    {"op": "close"}                                    {"ok": true, "result": null}; the worker exits

A sample is {"prompt_id", "prompt", "category", "metadata", "file_index", "path"}. Any
failure answers {"ok": false, "error": "...", "traceback": "..."}. The worker needs only the
standard library plus whatever the target imports: t2ir1_eval is put on its PYTHONPATH, and
nothing in t2ir1_eval's import path of a scorer module may import torch or transformers at
module level unless the target itself needs them.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from ..context import ScorerContext
from ..errors import BackendUnavailable, T2IR1EvalError
from ..types import Sample
from .base import Scorer

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class WorkerError(T2IR1EvalError):
    """The worker process failed or broke the protocol."""


def sample_to_wire(s: Sample) -> dict[str, Any]:
    return {
        "prompt_id": s.item.prompt_id,
        "prompt": s.item.prompt,
        "category": s.item.category,
        "metadata": s.item.metadata,
        "file_index": s.file_index,
        "path": str(s.path),
    }


def context_to_wire(ctx: ScorerContext, data_keys: list[str]) -> dict[str, Any]:
    files = {}
    for key in data_keys:
        files[key] = str(ctx.data_file(key))
    return {
        "suite": ctx.suite,
        "options": ctx.options,
        "data_files": files,
        "device": ctx.device,
        "dtype": ctx.dtype,
        "cache_dir": str(ctx.cache_dir),
        "run_dir": str(ctx.run_dir) if ctx.run_dir else None,
    }


class WorkerScorer(Scorer):
    """A Scorer whose work happens in a subprocess running ``python`` (another venv)."""

    name = "worker"

    def __init__(
        self,
        context: ScorerContext,
        python: str,
        target: str,
        data_keys: list[str] | None = None,
        batch_size: int = 8,
        env: dict[str, str] | None = None,
        **options: Any,
    ) -> None:
        if not Path(python).exists():
            raise BackendUnavailable(
                f"worker interpreter {python!r} does not exist: expected the python of the environment that has "
                f"the backend for {target} installed (see docs/ for its setup recipe)"
            )
        self.python = python
        self.target = target
        self.batch_size = batch_size
        child_env = dict(os.environ)
        child_env.update(env or {})
        child_env["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_ROOT)] + ([child_env["PYTHONPATH"]] if child_env.get("PYTHONPATH") else [])
        )
        child_env["PYTHONUNBUFFERED"] = "1"
        self._proc = subprocess.Popen(
            [python, "-m", "t2ir1_eval.scorers.worker_main"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # inherit: the worker's logs appear in ours
            env=child_env,
            text=True,
            encoding="utf-8",
        )
        self._lock = threading.Lock()
        try:
            self.info = self._call({
                "op": "init",
                "target": target,
                "context": context_to_wire(context, data_keys or []),
                "options": options,
            })
        except BaseException:
            self._proc.kill()
            self._proc.wait()
            raise
        self._describe: dict[str, Any] | None = None

    def _call(self, message: dict[str, Any]) -> Any:
        with self._lock:
            if self._proc.poll() is not None:
                raise WorkerError(f"worker for {self.target} exited with code {self._proc.returncode}")
            assert self._proc.stdin and self._proc.stdout
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait(timeout=10)
            raise WorkerError(f"worker for {self.target} ({self.python}) closed its output (exit code {code}) "
                              f"while answering {message['op']!r}; its stderr above says why")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerError(f"worker for {self.target} broke the protocol: expected one JSON line, got {line[:200]!r}") from exc
        if not reply.get("ok"):
            raise WorkerError(f"worker for {self.target} failed on {message['op']!r}: {reply.get('error')}\n{reply.get('traceback', '')}")
        return reply.get("result")

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        result = self._call({"op": "score", "samples": [sample_to_wire(s) for s in samples]})
        if not isinstance(result, list) or len(result) != len(samples):
            raise WorkerError(f"worker for {self.target} returned {type(result).__name__} of length "
                              f"{len(result) if isinstance(result, list) else '-'} for {len(samples)} samples")
        return result

    def describe(self) -> dict[str, Any]:
        if self._describe is None:
            self._describe = dict(self._call({"op": "describe"}))
            self._describe["worker"] = {"python": self.python, "target": self.target, **(self.info or {})}
        return self._describe

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._call({"op": "close"})
            except T2IR1EvalError:
                pass
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream:
                stream.close()
