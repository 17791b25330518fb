"""Runs of one configuration that differ only in their seed, and their mean ± sd over seeds.

The bootstrap interval of each run is about prompt sampling; the spread over seeds is about
generation noise. Both leaderboards (tables and HTML) show the second as one extra row per
group, built here.
"""

from __future__ import annotations

import math
import statistics
from typing import Any


def _config_key(summary: dict[str, Any]) -> str | None:
    """Everything that made the run's numbers except its seed; None when the summary does not record it."""
    prov = summary.get("provenance", {}) or {}
    ident = prov.get("identity")
    if not isinstance(ident, dict) or not ident:
        return None  # a hand-written or old summary: unknown config, never pooled with another run
    ident = dict(ident)
    ident.pop("seed", None)
    # identity fixes the generation; rule options (a rescore variant), the scorer's metric (its judge) and the
    # prompts covered (--limit) may still differ between two runs of one identity
    extra = (prov.get("options"), summary.get("metric"), summary.get("n_prompts"), summary.get("suite"))
    return repr(sorted((k, repr(v)) for k, v in ident.items())) + repr(extra)


def seed_groups(summaries: list[dict[str, Any]]) -> list[list[int]]:
    """Indices into ``summaries`` of each group of two or more runs that differ only in their seed.

    Every seed of a group is distinct: two runs of one seed would count one draw twice, so a
    group holding a repeated seed gets no row.
    """
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(summaries):
        key = _config_key(s)
        if key is not None:
            groups.setdefault(key, []).append(i)
    out = []
    for members in groups.values():
        seeds = [(summaries[i].get("provenance", {}) or {}).get("seed") for i in members]
        if len(members) > 1 and None not in seeds and len(set(map(repr, seeds))) == len(seeds):
            out.append(members)
    return out


def mean_sd(values: list[Any]) -> tuple[float, float] | None:
    """(mean, sample sd with n-1) of the values, or None unless every value is a finite number."""
    xs = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))]
    if len(xs) != len(values) or len(xs) < 2:
        return None
    return statistics.fmean(xs), statistics.stdev(xs)
