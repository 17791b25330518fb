"""Per-suite leaderboards: our runs beside published rows, with deltas and provenance."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import atomic_write_text, read_json
from ..run_checks import partial_label
from .cells import csv_cell, md_cell
from ..suites.spec import Suite
from .references import REFERENCES, reference_table


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)


def load_summary(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "summary.json"
    if not path.exists():
        raise ConfigError(f"{run_dir}: expected a run folder holding summary.json, found none. Finish the run with "
                          f"`t2ir1-eval score {run_dir}` (or `rescore`), or name another folder.")
    try:
        summary = read_json(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: expected a JSON summary written by t2ir1-eval, could not read it ({exc}). "
                          f"Rebuild it with `t2ir1-eval rescore {run_dir}`.") from exc
    missing = [k for k in ("suite", "scores", "n_images", "provenance") if not isinstance(summary, dict) or k not in summary]
    if missing:
        raise ConfigError(f"{path}: expected a t2ir1-eval summary with keys suite, scores, n_images, provenance; "
                          f"found {type(summary).__name__} lacking {missing}. Rebuild it with `t2ir1-eval rescore {run_dir}`.")
    return summary


def run_provenance(summary: dict[str, Any]) -> str:
    prov = summary.get("provenance", {})
    gen = prov.get("generator", {})
    env = prov.get("environment", {})
    scorers = prov.get("scorers", {})
    parts = [f"run {summary.get('run_dir', '')}"]
    if gen:
        parts.append(f"model={gen.get('model_id', gen.get('model', summary.get('model_preset')))}")
        if gen.get("recipe"):
            recipe = gen["recipe"]
            parts.append(f"recipe={recipe.get('name', recipe) if isinstance(recipe, dict) else recipe}")
        if gen.get("dtype"):
            parts.append(f"dtype={gen['dtype']}")
    parts.append(f"seed={prov.get('seed', '?')}")
    for name, d in scorers.items():
        ident = d.get("judge") or d.get("model_id") or d.get("models") or ""
        if isinstance(ident, dict):  # e.g. a judge description: name the model, not the whole record
            ident = ident.get("model") or ident.get("model_id") or ident.get("requested") or ""
        parts.append(f"{name}={ident}" if ident else name)
    if env:
        parts.append(f"t2ir1-eval {env.get('tool_version')}@{(env.get('git_commit') or 'nogit')[:12]}")
        dev = env.get("device", {})
        parts.append(dev.get("gpu") or "cpu")
    opts = prov.get("options")
    if opts:
        parts.append("options=" + ",".join(f"{k}={v}" for k, v in opts.items()))
    return "; ".join(str(p) for p in parts)


def build_table(suite: Suite, summaries: list[dict[str, Any]], references: bool = True, baseline: str | None = None,
                references_path: Path = REFERENCES) -> Table:
    table = Table(title=f"{suite.title} ({suite.protocol_version})", columns=list(suite.table_columns), baseline=baseline)
    if references:
        for model, row in reference_table(suite.reference_benchmark, references_path).items():
            values = {c: row.get(c) for c in table.columns}
            table.rows.append({"model": model, "kind": "published", "values": values, "metric": "",
                               "provenance": " | ".join(row["_sources"])})
    for s in summaries:
        if s["suite"] != suite.name:
            raise ValueError(f"{s.get('run_dir')}: a {s['suite']} run cannot go into the {suite.name} table")
        label = s["model"]
        metric = s.get("metric")
        # A judge other than the protocol's pinned one is a different metric: say so on the row.
        if isinstance(metric, str) and "judge=" in metric:
            label += f" [{metric}]"
        if not s.get("comparable", True):
            label += " (smoke run: not comparable)"
        label += partial_label(s)  # a --limit/--category run never sits unmarked beside published rows
        values = {c: s["scores"].get(c) for c in table.columns}
        table.rows.append({"model": label, "kind": "ours", "values": values, "metric": metric or "",
                           "failed": s.get("n_failed", 0), "images": s.get("n_images", 0), "provenance": run_provenance(s)})
    if any(r["kind"] == "ours" and r.get("failed") for r in table.rows):
        table.notes.append("failed = images the scorer could not judge (counted, scored as the protocol says, listed in summary.json)")
    if baseline:
        base = next((r for r in table.rows if r["model"] == baseline or r["model"].startswith(baseline)), None)
        if base is None:
            raise ValueError(f"baseline row {baseline!r} not in the table; rows: {[r['model'] for r in table.rows]}")
        for r in table.rows:
            r["delta"] = {c: _sub(r["values"].get(c), base["values"].get(c)) for c in table.columns}
    return table


def _sub(a: Any, b: Any) -> float | None:
    if a is None or b is None or _nan(a) or _nan(b):
        return None
    return float(a) - float(b)


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _fmt(x: Any, scale: str = "0-1") -> str:
    if x is None or _nan(x):
        return "–"
    return f"{x:.2f}" if scale == "0-100" else f"{x:.4f}"


def to_markdown(table: Table, scale: str = "0-1") -> str:
    head = ["Model", *table.columns, "Source / provenance"]
    lines = [f"### {md_cell(table.title)}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table.rows:
        cells = []
        for c in table.columns:
            cell = _fmt(r["values"].get(c), scale)
            d = (r.get("delta") or {}).get(c)
            if d is not None and table.baseline and not r["model"].startswith(table.baseline):
                cell += f" ({d:+.2f})" if scale == "0-100" else f" ({d:+.4f})"
            cells.append(cell)
        name = r["model"] + (f" ({r['failed']} failed)" if r.get("failed") else "")
        lines.append("| " + " | ".join([md_cell(name), *cells, md_cell(r["provenance"])]) + " |")
    if table.baseline:
        lines += ["", f"Deltas in parentheses are against {table.baseline!r}."]
    lines += [f"- {n}" for n in table.notes]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    delta_cols = [f"delta_{c}" for c in table.columns] if table.baseline else []
    w.writerow(["model", "kind", *table.columns, *delta_cols, "failed", "metric", "provenance"])
    for r in table.rows:
        vals = ["" if r["values"].get(c) is None or _nan(r["values"].get(c)) else r["values"][c] for c in table.columns]
        deltas = ["" if (r.get("delta") or {}).get(c) is None else r["delta"][c] for c in table.columns] if table.baseline else []
        w.writerow([csv_cell(c) for c in (r["model"], r["kind"], *vals, *deltas, r.get("failed", ""), r.get("metric", ""),
                                          r["provenance"])])
    return buf.getvalue()


def write_table(table: Table, out_dir: Path, stem: str, scale: str = "0-1") -> tuple[Path, Path, str]:
    md = to_markdown(table, scale)
    csv_path, md_path = Path(out_dir) / f"{stem}.csv", Path(out_dir) / f"{stem}.md"
    atomic_write_text(csv_path, to_csv(table))
    atomic_write_text(md_path, md)
    return csv_path, md_path, md


def compare(a: dict[str, Any], b: dict[str, Any], columns: list[str]) -> str:
    lines = [f"| category | {md_cell(a['model'])} (A) | {md_cell(b['model'])} (B) | B - A |", "|---|---|---|---|"]
    for c in columns:
        va, vb = a["scores"].get(c), b["scores"].get(c)
        d = _sub(vb, va)
        lines.append(f"| {c} | {_fmt(va)} | {_fmt(vb)} | {'–' if d is None else f'{d:+.4f}'} |")
    return "\n".join(lines) + "\n"
