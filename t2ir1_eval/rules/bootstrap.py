"""95% bootstrap intervals over prompts for every table score (and paired A-vs-B differences).

The unit resampled is the prompt: all images of a prompt travel together (a cluster
bootstrap), because images of one prompt share its difficulty. Resampling is stratified by
category (each category keeps its number of prompts), because the benchmarks fix how many
prompts each category has; an unstratified draw could leave a small category empty.

Each resample recomputes the suite's own aggregation (GenEval: per-tag image accuracy and
their unweighted mean; WISE: per-category mean and the count-weighted Overall; DPG: 100 x
mean; T2I-CompBench: per-category mean and Average6). For speed the known suites' aggregates
are written as ratios of per-prompt sums, so 1000 resamples are one matrix product; the fast
form is checked against the suite's real ``aggregate`` on the original data, and any column
it does not reproduce falls back to calling ``aggregate`` on every resample (slow, exact).
Interval: the percentile method (2.5th and 97.5th percentiles of the resampled scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
METHOD = "percentile bootstrap over prompts (all images of a prompt together), stratified by category"


@dataclass
class Parts:
    """Per-prompt sums: column value = scale * sum_i k_i num[i] / sum_i k_i den[i]; derived
    columns are unweighted means of other columns (GenEval Overall, Average6)."""

    num: dict[str, np.ndarray] = field(default_factory=dict)
    den: dict[str, np.ndarray] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    means: dict[str, list[str]] = field(default_factory=dict)

    def add(self, col: str, i: int, num: float, den: float, n_prompts: int, scale: float = 1.0) -> None:
        if col not in self.num:
            self.num[col], self.den[col] = np.zeros(n_prompts), np.zeros(n_prompts)
            self.scale[col] = scale
        self.num[col][i] += num
        self.den[col][i] += den


def _geneval(rows: list[dict], index: dict[str, int], options: dict[str, Any]) -> Parts:
    p, n = Parts(), len(index)
    for r in rows:
        p.add(r["category"], index[r["prompt_id"]], float(bool(r["decision"].get("correct", False))), 1.0, n)
    p.means["Overall"] = list(p.num)
    return p


def _wise(rows: list[dict], index: dict[str, int], options: dict[str, Any]) -> Parts:
    p, n = Parts(), len(index)
    skip = str(options.get("failure_policy", "zero")) == "skip"
    for r in rows:
        d = r["decision"]
        if d.get("failed") and skip:
            continue
        i = index[r["prompt_id"]]
        p.add(r["category"], i, float(d["score"]), 1.0, n)
        p.add("overall", i, float(d["score"]), 1.0, n)
    return p


def _dpg(rows: list[dict], index: dict[str, int], options: dict[str, Any]) -> Parts:
    from .dpg_bench import l1_category

    p, n = Parts(), len(index)
    for r in rows:
        d = r["decision"]
        if d.get("failed"):
            continue
        i = index[r["prompt_id"]]
        p.add("overall", i, float(d["score"]), 1.0, n, 100.0)
        for l2, value in d["category_values"]:
            p.add(l1_category(l2), i, float(value), 1.0, n, 100.0)
            p.add(f"L2 {l2}", i, float(value), 1.0, n, 100.0)
    return p


def _compbench(rows: list[dict], index: dict[str, int], options: dict[str, Any]) -> Parts:
    from .t2i_compbench import AVERAGE6

    p, n = Parts(), len(index)
    for r in rows:
        p.add(r["category"], index[r["prompt_id"]], float(r["decision"]["score"]), 1.0, n)
    if all(c in p.num for c in AVERAGE6):
        p.means["Average6"] = list(AVERAGE6)
    return p


#: suite name -> its aggregation written as per-prompt sums (checked against the real one on every run)
FAST_FORMS: dict[str, Callable[[list[dict], dict[str, int], dict[str, Any]], Parts]] = {
    "geneval": _geneval, "wise": _wise, "dpg-bench": _dpg, "t2i-compbench": _compbench,
}


def resample_counts(strata: list[int], n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n_prompts) multiplicities: prompt i appears K[b, i] times in resample b.
    ``strata[i]`` is prompt i's category index; each stratum is resampled within itself."""
    rng = np.random.default_rng(seed)
    strata_arr = np.asarray(strata)
    n = len(strata_arr)
    counts = np.zeros((n_resamples, n), dtype=np.int64)
    for s in sorted(set(strata)):  # sorted: the draw order, hence the result, is fixed by the seed
        members = np.flatnonzero(strata_arr == s)
        draws = members[rng.integers(0, len(members), size=(n_resamples, len(members)))]
        offsets = draws + (np.arange(n_resamples)[:, None] * n)
        counts += np.bincount(offsets.ravel(), minlength=n_resamples * n).reshape(n_resamples, n)
    return counts


def _fast_values(parts: Parts, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every column of the fast form on every resample (rows of ``counts``)."""
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for col in parts.num:
            out[col] = parts.scale[col] * (counts @ parts.num[col]) / (counts @ parts.den[col])
        for col, members in parts.means.items():
            out[col] = np.mean(np.stack([out[m] for m in members]), axis=0)
    return out


def _groups(rows: list[dict]) -> tuple[list[str], dict[str, int], list[int], list[str]]:
    ids: list[str] = []
    index: dict[str, int] = {}
    strata: list[int] = []
    cats: list[str] = []
    for r in rows:
        pid = r["prompt_id"]
        if pid not in index:
            index[pid] = len(ids)
            ids.append(pid)
            if r["category"] not in cats:
                cats.append(r["category"])
            strata.append(cats.index(r["category"]))
    return ids, index, strata, cats


def resampled_scores(suite: Any, rows: list[dict[str, Any]], options: dict[str, Any], counts: np.ndarray,
                     scores: dict[str, float]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """column -> its value on every resample, and column -> how it was computed ("fast" / "exact")."""
    ids, index, _, _ = _groups(rows)
    values: dict[str, np.ndarray] = {}
    how: dict[str, str] = {}
    form = FAST_FORMS.get(suite.name)
    if form is not None:
        parts = form(rows, index, options)
        fast = _fast_values(parts, counts)
        point = _fast_values(parts, np.ones((1, len(ids))))
        shown = suite.display_scores({k: k for k in fast})  # display name -> internal name
        for disp, key in shown.items():
            # only columns the fast form reproduces on the real data are trusted
            if disp in scores and math.isclose(float(point[key][0]), scores[disp], rel_tol=1e-9, abs_tol=1e-9):
                values[disp], how[disp] = fast[key], "fast"
    rest = [c for c in scores if c not in values]
    if rest:
        by_prompt: list[list[dict]] = [[] for _ in ids]
        for r in rows:
            by_prompt[index[r["prompt_id"]]].append(r)
        slow = {c: np.full(len(counts), np.nan) for c in rest}
        for b in tqdm(range(len(counts)), desc=f"bootstrap {suite.name} (exact)", unit="resample", disable=None):
            sample = [r for i in np.flatnonzero(counts[b]) for _ in range(int(counts[b, i])) for r in by_prompt[i]]
            got, _ = suite.aggregate(sample, options)
            for c in rest:
                if c in got:
                    slow[c][b] = got[c]
        for c in rest:
            values[c], how[c] = slow[c], "exact"
    return values, how


def interval(values: np.ndarray, level: float = DEFAULT_LEVEL) -> dict[str, float | None]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return {"lo": None, "hi": None, "se": None}
    a = (1.0 - level) / 2.0
    lo, hi = np.percentile(finite, [100 * a, 100 * (1 - a)])
    se = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return {"lo": float(lo), "hi": float(hi), "se": se}


def bootstrap_summary(suite: Any, rows: list[dict[str, Any]], options: dict[str, Any], scores: dict[str, float],
                      seed: int = DEFAULT_SEED, n_resamples: int = DEFAULT_RESAMPLES,
                      level: float = DEFAULT_LEVEL) -> dict[str, Any]:
    """What summary.json records under "uncertainty": the settings and one interval per score."""
    ids, _, strata, cats = _groups(rows)
    info: dict[str, Any] = {"method": METHOD, "seed": seed, "n_resamples": n_resamples, "level": level,
                            "n_prompts": len(ids), "strata": {c: strata.count(k) for k, c in enumerate(cats)},
                            "intervals": {}}
    if not ids or n_resamples < 2:
        return info
    counts = resample_counts(strata, n_resamples, seed)
    values, how = resampled_scores(suite, rows, options, counts, scores)
    for col in scores:
        info["intervals"][col] = {**interval(values[col], level), "computed": how[col]}
    return info


def paired_difference(suite: Any, rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]], options: dict[str, Any],
                      scores_a: dict[str, float], scores_b: dict[str, float], seed: int = DEFAULT_SEED,
                      n_resamples: int = DEFAULT_RESAMPLES, level: float = DEFAULT_LEVEL) -> dict[str, Any]:
    """B - A per column with a paired bootstrap: the same resampled prompts for both runs, so a
    prompt's difficulty cancels. Only prompts present in both runs are used."""
    common = {r["prompt_id"] for r in rows_a} & {r["prompt_id"] for r in rows_b}
    ra = [r for r in rows_a if r["prompt_id"] in common]
    rb = [r for r in rows_b if r["prompt_id"] in common]
    ids, _, strata, _ = _groups(ra)
    # B's rows in A's prompt order, so column i of the counts is the same prompt for both
    order = {pid: i for i, pid in enumerate(ids)}
    rb = sorted(rb, key=lambda r: order[r["prompt_id"]])
    out: dict[str, Any] = {"method": "paired " + METHOD, "seed": seed, "n_resamples": n_resamples, "level": level,
                           "n_prompts": len(ids), "columns": {}}
    if not ids:
        return out
    counts = resample_counts(strata, n_resamples, seed)
    pa, _ = suite.aggregate(ra, options) if len(ra) != len(rows_a) else (scores_a, None)
    pb, _ = suite.aggregate(rb, options) if len(rb) != len(rows_b) else (scores_b, None)
    va, _ = resampled_scores(suite, ra, options, counts, pa)
    vb, _ = resampled_scores(suite, rb, options, counts, pb)
    for col in pa:
        if col in pb:
            out["columns"][col] = {"a": pa[col], "b": pb[col], "diff": pb[col] - pa[col],
                                   **interval(vb[col] - va[col], level)}
    return out
