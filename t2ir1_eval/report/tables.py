"""Per-suite leaderboards: our runs beside published rows, with badges, deltas and footnoted provenance.

Built in three steps so each can be extended on its own: ``build_table`` collects rows (published
and ours, derived aggregates computed, a mean ± sd row per group of runs that differ only in their
seed, baseline resolved); ``Table.frame()`` turns them into one pandas DataFrame; the renderers
(markdown, CSV, JSON, Parquet) all read that frame. The HTML leaderboard reads the same ``Table``
(rows, badges, footnotes), so every rendering says the same thing.
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
from .badges import common_badges, published_badges, run_badges
from .cells import csv_cell, md_cell
from ..suites.spec import Suite
from .references import REFERENCES, reference_table
from .seeds import mean_sd, seed_groups


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

    @property
    def has_seed_rows(self) -> bool:
        return any(r["kind"] == "seeds" for r in self.rows)

    def number_columns(self) -> list[str]:
        """The frame's numeric columns beside the scores: deltas (with a baseline), the 95% interval's
        ends (always; blank where a row has none) and the sd over seeds (where a seeds row exists)."""
        cols = [f"delta_{c}" for c in self.columns] if self.baseline else []
        cols += [f"lo_{c}" for c in self.columns] + [f"hi_{c}" for c in self.columns]
        return cols + ([f"sd_{c}" for c in self.columns] if self.has_seed_rows else [])

    def frame(self) -> Any:
        """One row per leaderboard row: label, kind, badges, scores, rounded deltas, interval ends (lo_/hi_),
        sd over seeds (sd_), failed, metric, footnote key and provenance."""
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
            for c in self.columns:
                # no score, no interval (e.g. a derived column a partial run lacks a part of)
                ci = ((r.get("ci") or {}).get(c) or {}) if rec[c] is not None else {}
                rec[f"lo_{c}"], rec[f"hi_{c}"] = _num(ci.get("lo")), _num(ci.get("hi"))
                rec[f"sd_{c}"] = _num((r.get("sd") or {}).get(c))
            rec.update({"failed": r.get("failed", 0) if r["kind"] == "ours" else None, "metric": r.get("metric", ""),
                        "note": keys[r["provenance"]], "provenance": r["provenance"]})
            records.append(rec)
        cols = ["model", "kind", "badges", *self.columns, *self.number_columns(), "failed", "metric", "note", "provenance"]
        df = pd.DataFrame.from_records(records, columns=cols)
        for c in self.columns + self.number_columns():
            df[c] = df[c].astype("Float64")
        df["failed"] = df["failed"].astype("Int64")
        df.attrs.update({"title": self.title, "baseline": self.baseline, "scale": self.scale,
                         "derived": self.derived, "notes": list(self.notes)})
        return df


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
            table.rows.append({"model": model, "kind": "published", "values": values, "metric": "",
                               "badges": published_badges(shaky), "ci": {}, "provenance": "published: " + "; ".join(sources)})
    for s in summaries:
        if s["suite"] != suite.name:
            raise ValueError(f"{s.get('run_dir')}: a {s['suite']} run cannot go into the {suite.name} table")
        values = {c: s["scores"].get(c) for c in table.columns}
        intervals = (s.get("uncertainty") or {}).get("intervals") or {}
        table.rows.append({"model": _label(s), "kind": "ours", "values": values, "metric": s.get("metric") or "",
                           "badges": run_badges(suite, s), "failed": s.get("n_failed", 0), "images": s.get("n_images", 0),
                           "ci": {c: intervals[c] for c in table.columns if isinstance(intervals.get(c), dict)},
                           "name": s["model"], "run_dir": s.get("run_dir"), "seed": s.get("provenance", {}).get("seed"),
                           "provenance": run_provenance(s)})
    _unique_labels(table.rows, summaries)
    _derive(table)
    _seed_rows(table, summaries)
    _interval_note(table, summaries)
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
    """A run named like a published row gets " (ours)", runs named alike get their folder's name, so every
    label names one row (two seeds of one model read "tiny [run-a]", "tiny [run-b]", not "tiny (ours) [run-a]")."""
    published = {r["model"] for r in rows if r["kind"] == "published"}
    ours = [r for r in rows if r["kind"] == "ours"]
    for r in ours:
        if r["model"] in published:
            r["model"] += " (ours)"
    counts: dict[str, int] = {}
    for r in ours:
        counts[r["model"]] = counts.get(r["model"], 0) + 1
    for r, s in zip(ours, summaries):
        if counts[r["model"]] > 1:
            r["model"] += f" [{Path(str(s.get('run_dir', '?'))).name}]"


def _seed_rows(table: Table, summaries: list[dict[str, Any]]) -> None:
    """One "mean ± sd over seeds" row per group of our runs that differ only in their seed (after the
    derived columns, so a derived column's sd is over the runs' own derived values)."""
    ours = [r for r in table.rows if r["kind"] == "ours"]
    groups = seed_groups(summaries)
    for members in groups:
        rows = [ours[i] for i in members]
        values: dict[str, Any] = {}
        sds: dict[str, float] = {}
        for c in table.columns:
            got = mean_sd([r["values"].get(c) for r in rows])
            if got is not None:
                values[c], sds[c] = got
            else:
                values[c] = None  # a column some seed lacks gets no mean
        seeds = ", ".join(str(r["seed"]) for r in rows)
        first = summaries[members[0]]
        table.rows.append({
            "model": f"{_label(first)} (mean ± sd over {len(rows)} seeds)", "kind": "seeds", "values": values, "sd": sds,
            "metric": rows[0]["metric"], "badges": common_badges([r["badges"] for r in rows]), "ci": {},
            "name": first["model"], "members": [r["model"] for r in rows],
            "provenance": f"mean and sample sd (n-1) over seeds {seeds}: the rows {', '.join(r['model'] for r in rows)}"})
    if groups:
        table.notes.append("a ± b = mean ± sample sd (n-1) over runs that differ only in their seed: generation noise, "
                           "where [lo, hi] is prompt sampling; the CSV/JSON/Parquet hold b in sd_COLUMN")


def _interval_note(table: Table, summaries: list[dict[str, Any]]) -> None:
    """Say what the [lo, hi] after our scores is, with the settings the runs recorded."""
    if not any(r.get("ci") for r in table.rows):
        return
    settings = sorted({(float(u.get("level", 0.95)), u.get("n_resamples"), u.get("seed"))
                       for s in summaries if (u := s.get("uncertainty") or {}).get("intervals")}, key=repr)
    how = ("; ".join(f"{lv:.0%} level, {n} resamples, seed {sd}" for lv, n, sd in settings)
           if len(settings) <= 2 else "settings per run in its summary.json")
    digits = max(table.precision - 1, 1)
    table.notes.append(f"[lo, hi] after a score of ours = its bootstrap interval over prompts (percentile, all images of "
                       f"a prompt together, stratified by category; {how}), printed to {digits} decimal{'s' if digits > 1 else ''}; the CSV/JSON/"
                       f"Parquet hold it in full as lo_COLUMN, hi_COLUMN (blank for published rows)")


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


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(float(x)) else None


def _round(x: float, digits: int) -> float:
    r = round(x, digits)
    return 0.0 if r == 0 else r  # never -0.0


def _fmt(x: Any, scale: str = "0-1") -> str:
    if x is None or _nan(x):
        return "–"
    return f"{x:.2f}" if scale == "0-100" else f"{x:.4f}"


def fmt_interval(lo: Any, hi: Any, scale: str = "0-1") -> str:
    """``[lo, hi]`` one decimal shorter than the score it follows: an interval's ends are not known to
    the score's last digit, and the cell stays short. Empty when the interval is unknown."""
    if _num(lo) is None or _num(hi) is None:
        return ""
    digits = 1 if scale == "0-100" else 3
    return f"[{float(lo):.{digits}f}, {float(hi):.{digits}f}]"


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
    # names and badges can come from a judge server, a folder or a prompt: escaped so they cannot break a row
    view = {"Model": [md_cell(v) for v in df["model"]], "Badges": [md_cell(v) for v in df["badges"]]}
    blank = [None] * len(df)
    for c in table.columns:
        cells = []
        for v, d, lo, hi, sd, label in zip(df[c], df[f"delta_{c}"] if table.baseline else blank, df[f"lo_{c}"],
                                           df[f"hi_{c}"], df[f"sd_{c}"] if table.has_seed_rows else blank, df["model"]):
            cell = _fmt(None if pd.isna(v) else float(v), table.scale)
            if sd is not None and not pd.isna(sd):
                cell += f" ± {_fmt(float(sd), table.scale)}"
            ci = fmt_interval(None if pd.isna(lo) else lo, None if pd.isna(hi) else hi, table.scale)
            if ci:
                cell += f" {ci}"
            if table.baseline and label != table.baseline and not pd.isna(d):
                cell += f" ({fmt_delta(float(d), digits)})"
            cells.append(cell)
        view[f"{c} (derived)" if c in table.derived else c] = cells
    view["Ref"] = [f"[{k}]" for k in df["note"]]
    body = pd.DataFrame(view).to_markdown(index=False, disable_numparse=True)
    lines = [f"### {md_cell(table.title)}", "", body, ""]
    if table.baseline:
        lines.append(f"Deltas in parentheses are against the row {md_cell(repr(table.baseline))}.")
    lines += [f"- {md_cell(n)}" for n in table.notes]
    lines += [f"[{k}] {md_cell(text)}" for k, text in table.footnotes().items()]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    df = table.frame()
    scores = [*table.columns, *table.number_columns()]
    out = df[["model", "kind", *scores, "failed", "metric", "badges", "provenance"]].copy()
    for c in ("model", "kind", "metric", "badges", "provenance"):  # a text cell never runs as a spreadsheet formula
        out[c] = out[c].map(csv_cell)
    return out.to_csv(index=False, lineterminator="\n")


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
    lines = [f"| category | {md_cell(a['model'])} (A) | {md_cell(b['model'])} (B) | B - A |", "|---|---|---|---|"]
    for c in columns:
        va, vb = a["scores"].get(c), b["scores"].get(c)
        lines.append(f"| {c} | {_fmt(va)} | {_fmt(vb)} | {fmt_delta(_sub(vb, va))} |")
    return "\n".join(lines) + "\n"
