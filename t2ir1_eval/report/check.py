"""Regression check: did any category fall below a stored baseline by more than a tolerance?

Before comparing numbers it makes sure they measure the same thing (suite, protocol version,
options, number of images, whole suite or partial); a mismatch is a configuration error (exit
2), a fall is a regression (exit 1). Every category of either side is checked: one the run
has and the baseline lacks is reported, not skipped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import atomic_write_json, read_json

_REQUIRED = {"suite": str, "scores": dict, "n_images": int}


def make_baseline(summary: dict[str, Any]) -> dict[str, Any]:
    return {"suite": summary["suite"], "model": summary["model_preset"], "scores": summary["scores"],
            "n_images": summary["n_images"], "comparable": summary.get("comparable"),
            "protocol_version": summary["provenance"].get("protocol_version"),
            "options": summary["provenance"].get("options"), "partial": summary.get("partial")}


def save_baseline(summary: dict[str, Any], path: Path) -> None:
    atomic_write_json(path, make_baseline(summary))


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def check(summary: dict[str, Any], baseline: dict[str, Any], tolerance: float, two_sided: bool = False) -> list[str]:
    """The categories that fell by more than ``tolerance``, vanished, or have no baseline value;
    with ``two_sided`` also those that rose by more (a smoke run's scores must not move at all).

    ConfigError when run and baseline are not the same evaluation (nothing to compare).
    """
    if not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance) or tolerance < 0:
        raise ConfigError(f"tolerance: expected a finite number >= 0, found {tolerance!r}")
    if summary["suite"] != baseline["suite"]:
        raise ConfigError(f"baseline is for suite {baseline['suite']!r}, the run is {summary['suite']!r}")
    prov = summary.get("provenance", {})
    if baseline.get("protocol_version") is not None and prov.get("protocol_version") != baseline["protocol_version"]:
        raise ConfigError(f"baseline protocol {baseline['protocol_version']!r} differs from the run's "
                          f"{prov.get('protocol_version')!r}: not the same metric. Write a new baseline for this protocol.")
    if baseline.get("options") and prov.get("options") != baseline["options"]:
        raise ConfigError(f"baseline options {baseline['options']} differ from the run's {prov.get('options')}: "
                          f"not the same metric")
    if summary["n_images"] != baseline["n_images"]:
        raise ConfigError(f"the run scored {summary['n_images']} images, the baseline {baseline['n_images']}: not the same "
                          f"evaluation (a --limit run cannot pass for a full one). Run the same selection, or write a "
                          f"baseline from a run like this one.")
    fallen = []
    for cat in sorted(set(baseline["scores"]) | set(summary["scores"])):
        base, now = baseline["scores"].get(cat), summary["scores"].get(cat)
        if cat not in baseline["scores"]:
            fallen.append(f"{cat}: {now if now is None else f'{now:.4f}'} has no baseline value (the baseline lacks this "
                          f"category; write a new baseline to check it)")
            continue
        if now is None or _is_nan(now):
            if not _is_nan(base):
                fallen.append(f"{cat}: missing (baseline {base:.4f})")
            continue
        if _is_nan(base):
            fallen.append(f"{cat}: {now:.4f} against a baseline of nan (cannot be checked; write a new baseline)")
            continue
        if now < base - tolerance:
            fallen.append(f"{cat}: {now:.4f} < baseline {base:.4f} - tolerance {tolerance}")
        elif two_sided and now > base + tolerance:
            fallen.append(f"{cat}: {now:.4f} > baseline {base:.4f} + tolerance {tolerance} (rose: a rule or scorer changed?)")
    return fallen


def load_baseline(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"baseline {path} not found; write one with `t2ir1-eval check RUN --write-baseline {path}`")
    try:
        data = read_json(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"baseline {path}: expected JSON written by `t2ir1-eval check --write-baseline`, "
                          f"could not parse it: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"baseline {path}: expected a JSON object with suite, scores and n_images, "
                          f"found {type(data).__name__}")
    for key, kind in _REQUIRED.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise ConfigError(f"baseline {path}: expected {key!r} to be a {kind.__name__}, found {data.get(key)!r}. "
                              f"Write it again with `t2ir1-eval check RUN --write-baseline {path}`.")
    bad = {k: v for k, v in data["scores"].items()
           if not isinstance(v, (int, float)) or isinstance(v, bool)}
    if bad:
        raise ConfigError(f"baseline {path}: expected a number for every score, found {bad}")
    return data
