"""Regression check: did any category fall below a stored baseline by more than a tolerance?"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import atomic_write_json, read_json


def make_baseline(summary: dict[str, Any]) -> dict[str, Any]:
    return {"suite": summary["suite"], "model": summary["model_preset"], "scores": summary["scores"],
            "n_images": summary["n_images"], "comparable": summary.get("comparable"),
            "protocol_version": summary["provenance"].get("protocol_version"),
            "options": summary["provenance"].get("options")}


def save_baseline(summary: dict[str, Any], path: Path) -> None:
    atomic_write_json(path, make_baseline(summary))


def check(summary: dict[str, Any], baseline: dict[str, Any], tolerance: float, two_sided: bool = False) -> list[str]:
    """Names of the categories that fell by more than ``tolerance`` (or vanished); with
    ``two_sided`` also those that rose by more (a smoke run's scores must not move at all)."""
    if summary["suite"] != baseline["suite"]:
        raise ConfigError(f"baseline is for suite {baseline['suite']!r}, the run is {summary['suite']!r}")
    if baseline.get("options") and summary["provenance"].get("options") != baseline["options"]:
        raise ConfigError(f"baseline options {baseline['options']} differ from the run's {summary['provenance'].get('options')}: "
                          f"not the same metric")
    fallen = []
    for cat, base in baseline["scores"].items():
        now = summary["scores"].get(cat)
        if now is None or (isinstance(now, float) and math.isnan(now)):
            if not (isinstance(base, float) and math.isnan(base)):
                fallen.append(f"{cat}: missing (baseline {base:.4f})")
            continue
        if isinstance(base, float) and math.isnan(base):
            continue
        if now < base - tolerance:
            fallen.append(f"{cat}: {now:.4f} < baseline {base:.4f} - tolerance {tolerance}")
        elif two_sided and now > base + tolerance:
            fallen.append(f"{cat}: {now:.4f} > baseline {base:.4f} + tolerance {tolerance} (rose: a rule or scorer changed?)")
    return fallen


def load_baseline(path: Path) -> dict[str, Any]:
    if not Path(path).exists():
        raise ConfigError(f"baseline {path} not found; write one with `t2ir1-eval check RUN --write-baseline {path}`")
    return read_json(path)
