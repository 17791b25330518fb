"""Helpers for end-to-end tests: a deterministic judge reply and the CLI as a real subprocess."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def image_dependent_reply(body: dict[str, Any]) -> str:
    """Scores that depend on the image bytes, so a table reflects exactly which images were judged."""
    for msg in body.get("messages", []):
        content = msg.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    b64 = part["image_url"]["url"].split(",", 1)[1]
                    h = hashlib.sha256(base64.b64decode(b64)).digest()
                    return f"Consistency: {h[0] % 3}\nRealism: {h[1] % 3}\nAesthetic Quality: {h[2] % 3}"
    return "no image"


def cli(args: list[str], env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen:
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("OPENAI_API_KEY", "sk-test-not-a-secret")
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "t2ir1_eval.cli", *args], cwd=REPO, env=full_env,
                            stderr=subprocess.STDOUT, text=True, **kw)


def wise_args(run_dir: Path, data_dir: Path, base_url: str, limit: int = 1) -> list[str]:
    return ["run", "--bench", "wise", "--model", "tiny", "--run-dir", str(run_dir), "--data-dir", str(data_dir),
            "--limit", str(limit), "--gen-option", "cot_max_new_tokens=8", "--batch-size", "2", "--device", "cpu",
            "--scorer-option", f"wise-judge.base_url={base_url}", "--scorer-option", "wise-judge.concurrency=4",
            "--scorer-option", "wise-judge.batch_size=2"]


def images_of(run_dir: Path) -> dict[str, bytes]:
    root = Path(run_dir) / "images"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.png"))}
