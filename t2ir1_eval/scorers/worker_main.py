"""Entry point of a scorer worker process (see worker.py for the protocol).

Imports only the standard library and t2ir1_eval's light modules before ``init`` names the
target, so it runs in an environment that has the backend (mmdet, detectron2, modelscope) but
not our default dependencies.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def _build_context(wire: dict[str, Any]):
    from t2ir1_eval.context import ScorerContext

    files = {k: Path(v) for k, v in wire.get("data_files", {}).items()}

    def data_file(key: str) -> Path:
        if key not in files:
            raise KeyError(f"data file {key!r} was not sent to the worker; sent: {sorted(files)}")
        return files[key]

    return ScorerContext(
        suite=wire["suite"],
        options=wire.get("options", {}),
        data_file=data_file,
        device=wire.get("device", "cpu"),
        dtype=wire.get("dtype", "float32"),
        cache_dir=Path(wire.get("cache_dir") or Path.home() / ".cache" / "t2ir1-eval"),
        run_dir=Path(wire["run_dir"]) if wire.get("run_dir") else None,
    )


def _samples(wire: list[dict[str, Any]]):
    from t2ir1_eval.types import PromptItem, Sample

    return [
        Sample(
            item=PromptItem(s["prompt_id"], s["prompt"], s["category"], s.get("metadata") or {}),
            file_index=int(s["file_index"]),
            path=Path(s["path"]),
        )
        for s in wire
    ]


def main() -> int:
    # The protocol owns the real stdout; anything the backend prints goes to stderr.
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    scorer = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            op = msg.get("op")
            if op == "init":
                module_name, _, attr = msg["target"].partition(":")
                cls = getattr(importlib.import_module(module_name), attr)
                scorer = cls(_build_context(msg["context"]), **msg.get("options", {}))
                result: Any = {"pid": os.getpid(), "python": sys.executable, "version": sys.version.split()[0]}
            elif scorer is None:
                raise RuntimeError(f"expected 'init' before {op!r}")
            elif op == "describe":
                result = scorer.describe()
            elif op == "score":
                result = scorer.score(_samples(msg["samples"]))
            elif op == "close":
                scorer.close()
                proto.write(json.dumps({"ok": True, "result": None}) + "\n")
                return 0
            else:
                raise ValueError(f"unknown op {op!r}: expected init, describe, score or close")
            proto.write(json.dumps({"ok": True, "result": result}, default=_default) + "\n")
        except Exception as exc:  # reported to the parent, which raises
            proto.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}) + "\n")
    return 0


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
