"""Plots as SVG data URIs (matplotlib, Agg): grouped bars with bootstrap error bars, histograms.

Embedded as ``<img src="data:image/svg+xml;base64,...">``: self-contained, and an SVG shown
through <img> can run no script, so a hostile model name in a legend cannot reach the page.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "t2ir1-eval"  # stable ids: the same data, the same file


def _data_uri(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x))


def grouped_bars(columns: list[str], series: list[dict[str, Any]], title: str) -> str:
    """series: {"label", "values": {col: v}, "lo": {col: v}, "hi": {col: v}, "published": bool}."""
    n = max(1, len(series))
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(columns) + 0.25 * n * len(columns)), 3.6))
    for k, s in enumerate(series):
        xs, ys, err_lo, err_hi = [], [], [], []
        for i, c in enumerate(columns):
            v = s["values"].get(c)
            if not _ok(v):
                continue
            xs.append(i - 0.4 + width * (k + 0.5))
            ys.append(float(v))
            lo, hi = (s.get("lo") or {}).get(c), (s.get("hi") or {}).get(c)
            err_lo.append(max(0.0, float(v) - float(lo)) if _ok(lo) else 0.0)
            err_hi.append(max(0.0, float(hi) - float(v)) if _ok(hi) else 0.0)
        label = s["label"] if len(s["label"]) <= 48 else s["label"][:45] + "..."
        bars = ax.bar(xs, ys, width * 0.95, label=label, hatch="//" if s.get("published") else None,
                      edgecolor="black", linewidth=0.4, alpha=0.75 if s.get("published") else 1.0)
        if any(err_lo) or any(err_hi):
            ax.errorbar(xs, ys, yerr=[err_lo, err_hi], fmt="none", ecolor="black", capsize=2, linewidth=0.8)
        del bars
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(columns, rotation=20, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _data_uri(fig)


def histogram(values: list[float], title: str, bins: int = 10, value_range: tuple[float, float] | None = None) -> str:
    fig, ax = plt.subplots(figsize=(2.8, 1.8))
    ax.hist(values, bins=bins, range=value_range, color="#4a7ab5", edgecolor="white")
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)
    return _data_uri(fig)
