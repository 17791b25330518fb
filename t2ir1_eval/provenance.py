"""What ran, where, with which versions: attached to every run and every table row."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .redact import redact_text

LIBRARIES = ["torch", "transformers", "tokenizers", "accelerate", "diffusers", "numpy", "pillow", "scipy",
             "spacy", "openai", "mmdet", "mmcv", "safetensors"]


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def device_info() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "python": sys.version.split()[0]}
    try:
        import torch

        info["cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_count"] = torch.cuda.device_count()
            info["cuda"] = torch.version.cuda
    except ImportError:
        pass
    return info


def environment() -> dict[str, Any]:
    return {
        "tool": "t2ir1-eval",
        "tool_version": __version__,
        "git_commit": git_commit(),
        "libraries": library_versions(),
        "device": device_info(),
        "argv": [redact_text(a) for a in sys.argv],  # a token in base_url must not land on disk
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
