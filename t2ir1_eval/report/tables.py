"""Per-suite leaderboards: our runs beside published rows, with badges, deltas and footnoted provenance.

Built in three steps so each can be extended on its own: ``build_table`` collects rows (published
and ours, derived aggregates computed, baseline resolved); ``Table.frame()`` turns them into one
pandas DataFrame; the renderers (markdown, CSV, JSON, Parquet) all read that frame.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import atomic_write_bytes, atomic_write_text, read_json
from ..rules.official_math import left_mean as mean
from ..suites.spec import Suite
from .references import REFERENCES, reference_table


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: the label of the row deltas are computed against (resolved from --baseline)
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)
    scale: str = "0-1"
    derived: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def precision(self) -> int:
        return 2 if self.scale == "0-100" else 4

    def footnotes(self) -> dict[str, str]:
        """footnote key -> provenance text; rows with the same text share a key."""
        out: dict[str, str] = {}
        for r in self.rows:
            out.setdefault(r["provenance"], str(len(out) + 1))
        return {k: text for text, k in out.items()}

    def frame(self) -> Any:
        """One row per leaderboard row: label, kind, badges, scores, rounded deltas, failed, metric,
        footnote key and provenance."""
        import pandas as pd

        keys = {text: k for k, text in self.footnotes().items()}
        records = []
        for r in self.rows:
            rec: dict[str, Any] = {"model": r["model"], "kind": r["kind"], "badges": ", ".join(r.get("badges", []))}
            for c in self.columns:
                v = r["values"].get(c)
                rec[c] = None if v is None or _nan(v) else float(v)
            if self.baseline:
                for c in self.columns:
                    d = (r.get("delta") or {}).get(c)
                    rec[f"delta_{c}"] = None if d is None else _round(d, self.precision)
            rec.update({"failed": r.get("failed", 0) if r["kind"] == "ours" else None, "metric": r.get("metric", ""),
                        "note": keys[r["provenance"]], "provenance": r["provenance"]})
            records.append(rec)
        cols = ["model", "kind", "badges", *self.columns, *([f"delta_{c}" for c in self.columns] if self.baseline else []),
                "failed", "metric", "note", "provenance"]
        df = pd.DataFrame.from_records(records, columns=cols)
        for c in self.columns + ([f"delta_{c}" for c in self.columns] if self.baseline else []):
            df[c] = df[c].astype("Float64")
        df["failed"] = df["failed"].astype("Int64")
        df.attrs.update({"title": self.title, "baseline": self.baseline, "scale": self.scale,
                         "derived": self.derived, "notes": list(self.notes)})
        return df


def load_summary(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "summary.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no summary; run `t2ir1-eval score {run_dir}` (or rescore) first")
    return read_json(path)


def find_runs(runs_dir: Path) -> list[Path]:
    """Every run directory under ``runs_dir``, at any depth (e.g. the demo's results/runs/demo/<suite>)."""
    return sorted(p.parent for p in Path(runs_dir).rglob("summary.json"))


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
        if gen.get("images"):
            parts.append(f"images={gen['images']}")
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


def run_badges(suite: Suite, summary: dict[str, Any]) -> list[str]:
    """Short flags a reader needs before comparing the row: smoke, partial, judge, corrected mode, failures."""
    badges = []
    if not summary.get("comparable", True):
        badges.append("smoke")
    n, expected = summary.get("n_prompts"), suite.expected_prompts
    if n is not None and expected and n < expected:
        badges.append(f"partial {n}/{expected}")
    metric = summary.get("metric")
    if isinstance(metric, str) and "judge=" in metric:
        # A judge other than the protocol's pinned one is a different metric: say so on the row.
        badges.append("judge=" + metric.split("judge=", 1)[1].rstrip("]"))
    opts = summary.get("provenance", {}).get("options") or {}
    changed = [f"{k}={v}" for k, v in opts.items() if k in suite.options_spec and v != suite.options_spec[k].default]
    if changed:
        badges.append("corrected: " + ",".join(changed))
    if summary.get("n_failed"):
        badges.append(f"failed {summary['n_failed']}/{summary.get('n_images', '?')}")
    return badges


def _label(summary: dict[str, Any]) -> str:
    """Model name, plus the recipe when it is not the model preset's own (e.g. Janus-Pro run with CoT)."""
    from ..generators import MODELS

    label = summary["model"]
    gen = summary.get("provenance", {}).get("generator", {}) or {}
    recipe = gen.get("recipe")
    recipe = recipe.get("name") if isinstance(recipe, dict) else recipe
    preset = MODELS.get(summary.get("model_preset", ""))
    if recipe and preset is not None and recipe != preset.kwargs.get("recipe"):
        label += f" · {recipe}"
    return label


def build_table(suite: Suite, summaries: list[dict[str, Any]], references: bool = True, baseline: str | None = None,
                references_path: Path = REFERENCES) -> Table:
    table = Table(title=f"{suite.title} ({suite.protocol_version})", columns=list(suite.table_columns),
                  scale=suite.scale, derived=dict(suite.derived))
    if references:
        for model, row in reference_table(suite.reference_benchmark, references_path).items():
            values = {c: row.get(c) for c in table.columns}
            sources = row["_sources"]
            shaky = [c for c, src in row.get("_source_of", {}).items() if "UNVERIFIED" in src and c in table.columns]
            badges = [f"unverified: {', '.join(shaky)}"] if shaky else []
            table.rows.append({"model": model, "kind": "published", "values": values, "metric": "", "badges": badges,
                               "provenance": "published: " + "; ".join(sources)})
    for s in summaries:
        if s["suite"] != suite.name:
            raise ValueError(f"{s.get('run_dir')}: a {s['suite']} run cannot go into the {suite.name} table")
        values = {c: s["scores"].get(c) for c in table.columns}
        table.rows.append({"model": _label(s), "kind": "ours", "values": values, "metric": s.get("metric") or "",
                           "badges": run_badges(suite, s), "failed": s.get("n_failed", 0), "images": s.get("n_images", 0),
                           "provenance": run_provenance(s)})
    _unique_labels(table.rows, summaries)
    _derive(table)
    if any(r["kind"] == "ours" and r.get("failed") for r in table.rows):
        table.notes.append("failed n/N = images the scorer could not judge (scored as the protocol says, listed in summary.json)")
    if baseline:
        base = match_row([r["model"] for r in table.rows], baseline)
        table.baseline = base
        row = next(r for r in table.rows if r["model"] == base)
        for r in table.rows:
            r["delta"] = {c: _sub(r["values"].get(c), row["values"].get(c)) for c in table.columns}
    return table


def _unique_labels(rows: list[dict[str, Any]], summaries: list[dict[str, Any]]) -> None:
    """A run named like a published row (or like another run) gets a suffix, so every label names one row."""
    seen: dict[str, int] = {}
    for r in rows:
        seen[r["model"]] = seen.get(r["model"], 0) + 1
    ours = [r for r in rows if r["kind"] == "ours"]
    for r, s in zip(ours, summaries):
        if seen[r["model"]] > 1:
            r["model"] += " (ours)"
    counts: dict[str, int] = {}
    for r in ours:
        counts[r["model"]] = counts.get(r["model"], 0) + 1
    for r, s in zip(ours, summaries):
        if counts[r["model"]] > 1:
            r["model"] += f" [{Path(str(s.get('run_dir', '?'))).name}]"


def _derive(table: Table) -> None:
    """Derived columns from the per-category values of every row that has all of them; others get none."""
    for col, spec in table.derived.items():
        parts = spec["mean_of"]
        for r in table.rows:
            vals = [r["values"].get(p) for p in parts]
            ok = all(v is not None and not _nan(v) for v in vals)
            r["values"][col] = mean([float(v) for v in vals]) if ok else None
        table.notes.append(f"{col} (derived) = mean of {', '.join(parts)}, computed by t2ir1-eval for every row that has "
                           f"all of them ({spec.get('help', '')})")


def match_row(labels: list[str], wanted: str) -> str:
    """The row ``wanted`` names: an exact label, else the one label it is a unique prefix of."""
    if wanted in labels:
        return wanted
    exact_ci = [lb for lb in labels if lb.lower() == wanted.lower()]
    if len(exact_ci) == 1:
        return exact_ci[0]
    starts = [lb for lb in labels if lb.lower().startswith(wanted.lower())]
    if len(starts) == 1:
        return starts[0]
    if starts:
        raise ConfigError(f"--baseline {wanted!r} is ambiguous: it starts {len(starts)} rows ({', '.join(map(repr, starts))}); "
                          f"give one of them in full")
    raise ConfigError(f"--baseline {wanted!r} matches no row; rows: {', '.join(map(repr, labels))}")


def _sub(a: Any, b: Any) -> float | None:
    if a is None or b is None or _nan(a) or _nan(b):
        return None
    return float(a) - float(b)


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _round(x: float, digits: int) -> float:
    r = round(x, digits)
    return 0.0 if r == 0 else r  # never -0.0


def _fmt(x: Any, scale: str = "0-1") -> str:
    if x is None or _nan(x):
        return "–"
    return f"{x:.2f}" if scale == "0-100" else f"{x:.4f}"


def fmt_delta(d: float | None, digits: int = 4) -> str:
    """Signed difference at the table's precision; a difference that rounds to zero prints unsigned."""
    if d is None or _nan(d):
        return "–"
    r = _round(d, digits)
    return f"{r:.{digits}f}" if r == 0 else f"{r:+.{digits}f}"


# ----------------------------------------------------------------------------- renderers (all from the frame)
def to_markdown(table: Table, scale: str | None = None) -> str:
    import pandas as pd

    df = table.frame()
    digits = table.precision
    view = {"Model": df["model"], "Badges": df["badges"]}
    for c in table.columns:
        cells = []
        for v, d, label in zip(df[c], df[f"delta_{c}"] if table.baseline else [None] * len(df), df["model"]):
            cell = _fmt(None if pd.isna(v) else float(v), table.scale)
            if table.baseline and label != table.baseline and not pd.isna(d):
                cell += f" ({fmt_delta(float(d), digits)})"
            cells.append(cell)
        view[f"{c} (derived)" if c in table.derived else c] = cells
    view["Ref"] = [f"[{k}]" for k in df["note"]]
    body = pd.DataFrame(view).to_markdown(index=False, disable_numparse=True)
    lines = [f"### {table.title}", "", body, ""]
    if table.baseline:
        lines.append(f"Deltas in parentheses are against the row {table.baseline!r}.")
    lines += [f"- {n}" for n in table.notes]
    lines += [f"[{k}] {text}" for k, text in table.footnotes().items()]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    df = table.frame()
    scores = [c for c in df.columns if c in table.columns or c.startswith("delta_")]
    return df[["model", "kind", *scores, "failed", "metric", "badges", "provenance"]].to_csv(index=False, lineterminator="\n")


def to_json(table: Table) -> str:
    df = table.frame()
    rows = json.loads(df.to_json(orient="records"))
    return json.dumps({"title": table.title, "columns": table.columns, "scale": table.scale, "baseline": table.baseline,
                       "derived": table.derived, "notes": table.notes, "footnotes": table.footnotes(), "rows": rows},
                      indent=2, ensure_ascii=False) + "\n"


def to_parquet(table: Table) -> bytes:
    import io

    buf = io.BytesIO()
    table.frame().to_parquet(buf, index=False)
    return buf.getvalue()


def write_table(table: Table, out_dir: Path, stem: str, scale: str | None = None) -> tuple[Path, Path, str]:
    """``<stem>.md``, ``.csv``, ``.json`` and ``.parquet`` under ``out_dir``; returns (csv, md, markdown text)."""
    md = to_markdown(table)
    out = Path(out_dir)
    atomic_write_text(out / f"{stem}.csv", to_csv(table))
    atomic_write_text(out / f"{stem}.md", md)
    atomic_write_text(out / f"{stem}.json", to_json(table))
    atomic_write_bytes(out / f"{stem}.parquet", to_parquet(table))
    return out / f"{stem}.csv", out / f"{stem}.md", md


def compare(a: dict[str, Any], b: dict[str, Any], columns: list[str]) -> str:
    lines = [f"| category | {a['model']} (A) | {b['model']} (B) | B - A |", "|---|---|---|---|"]
    for c in columns:
        va, vb = a["scores"].get(c), b["scores"].get(c)
        lines.append(f"| {c} | {_fmt(va)} | {_fmt(vb)} | {fmt_delta(_sub(vb, va))} |")
    return "\n".join(lines) + "\n"
