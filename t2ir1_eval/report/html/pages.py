"""Build the three page kinds from run directories and write them (atomically)."""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from tqdm.auto import tqdm

from ...io import atomic_write_text, read_json
from ...rules.bootstrap import paired_difference
from ...suites.spec import Suite, load_suite
from ..badges import Badge, run_badges
from ..references import REFERENCES
from ..tables import build_table, fmt_interval
from . import plots
from .run_gallery import plan_gallery
from .rundata import ImageView, RunData, decision_rows, load_run, prompt_scores
from .thumbs import thumbnail

_ENV: Environment | None = None
EAGER_IMAGES = 400
# a full T2I-CompBench run has 24,000 images: one page of that many cards stalls a browser, so a run of
# more than SPLIT_OVER images gets one gallery per category, PAGE_SIZE cards a page (run_gallery.py)
SPLIT_OVER = 2000
PAGE_SIZE = 500


def env() -> Environment:
    global _ENV
    if _ENV is None:
        # autoescape on for every template, whatever its extension: model, judge and file texts are hostile input
        _ENV = Environment(loader=PackageLoader("t2ir1_eval.report.html", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                           lstrip_blocks=True, finalize=_visible_controls)
        _ENV.filters["fmt"] = fmt
        _ENV.filters["interval"] = fmt_interval
    return _ENV


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _visible_controls(value: Any) -> Any:
    """Control characters (a random model's CoT is full of them) shown as \\xNN: HTML may not carry them."""
    if isinstance(value, str) and not isinstance(value, Markup) and _CONTROL.search(value):
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def fmt(x: Any, scale: str = "0-1", signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    spec = ("+" if signed else "") + (".2f" if scale == "0-100" else ".4f")
    return format(float(x), spec)


def slug(run_dir: Path) -> str:
    p = Path(run_dir).resolve()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", p.name).strip("-") or "run"
    return f"{name}-{hashlib.sha256(str(p).encode()).hexdigest()[:8]}"


def href(target: Path, page_dir: Path) -> str:
    """A relative URL from a page to a file: works from file:// and from a static server."""
    rel = os.path.relpath(Path(target).resolve(), Path(page_dir).resolve())
    return quote(Path(rel).as_posix())


def _render(template: str, path: Path, **ctx: Any) -> Path:
    atomic_write_text(path, env().get_template(template).render(**ctx))
    os.chmod(path, 0o644)  # a static file server running as another user must read it
    return path


# ------------------------------------------------------------------------------- badges / provenance
def badges(summary: dict[str, Any], suite: Suite) -> list[Badge]:
    """The run's badges, as every table shows them (report/badges.py): text, CSS class ``kind``, tooltip ``why``."""
    return run_badges(suite, summary)


def provenance_rows(summary: dict[str, Any], config: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    prov = summary.get("provenance", {})
    env_ = prov.get("environment", {})
    gen = prov.get("generator", {})
    rows: list[tuple[str, str]] = [
        ("run directory", str(summary.get("run_dir", ""))),
        ("suite / protocol", f"{summary.get('suite')} / {prov.get('protocol_version', '')}"),
        ("model", f"{summary.get('model')} (preset {summary.get('model_preset')})"),
        ("checkpoint", str(gen.get("model_id", ""))),
        ("recipe", str((gen.get("recipe") or {}).get("name", gen.get("recipe", "")) if isinstance(gen.get("recipe"), dict)
                       else gen.get("recipe", ""))),
        ("dtype / device", f"{gen.get('dtype', '')} / {gen.get('device', '')}"),
        ("run seed", str(prov.get("seed", (config or {}).get("seed", "")))),
        ("options", ", ".join(f"{k}={v}" for k, v in (prov.get("options") or {}).items())),
        ("tool", f"t2ir1-eval {env_.get('tool_version', '?')} @ {env_.get('git_commit', '?')}"),
        ("GPU", str((env_.get("device") or {}).get("gpu") or "none (CPU)")),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (env_.get("libraries") or {}).items())),
        ("time", str(env_.get("time", ""))),
    ]
    for name, d in (prov.get("scorers") or {}).items():
        judge = d.get("judge")
        ident = judge.get("model_returned") or judge.get("model") if isinstance(judge, dict) else judge
        rows.append((f"scorer {name}", ", ".join(str(x) for x in (d.get("version") and f"v{d.get('version')}", d.get("backend"),
                                                                   ident and f"judge {ident}", d.get("metric"), d.get("note"))
                                                 if x)))
    for key, f in ((prov.get("data") or {}).get("files") or {}).items():
        rows.append((f"data {key}", f"{f.get('checksum', '')} ({f.get('path', '')})"))
    if prov.get("rescored"):
        rows.append(("rescored", "yes: decisions recomputed from stored raw outputs"))
    unc = summary.get("uncertainty") or {}
    if unc:
        rows.append(("intervals", f"{unc.get('level', 0.95):.0%} {unc.get('method')}; {unc.get('n_resamples')} resamples, "
                                  f"seed {unc.get('seed')}"))
    return rows


# ------------------------------------------------------------------------------- leaderboard
def suite_section(suite: Suite, summaries: list[dict[str, Any]], page_dir: Path, references: bool,
                  baseline: str | None, references_path: Path = REFERENCES) -> dict[str, Any]:
    """One suite's table, chart and footnotes, from the same ``Table`` the markdown/CSV leaderboards are
    rendered from: the same rows, labels, derived columns, badges, seeds rows and footnote numbers."""
    table = build_table(suite, summaries, references=references, baseline=baseline, references_path=references_path)
    cols = list(table.columns)
    notes = {text: key for key, text in table.footnotes().items()}
    published = {r["model"]: r for r in table.rows if r["kind"] == "published"}
    rows: list[dict[str, Any]] = []
    for r in table.rows:
        rows.append({"model": r["model"], "kind": r["kind"], "values": r["values"], "sd": r.get("sd") or {},
                     "notes": [notes[r["provenance"]]], "badges": r["badges"], "ci": r.get("ci") or {},
                     "link": f"runs/{slug(Path(r['run_dir']))}.html" if r["kind"] == "ours" and r.get("run_dir") else None,
                     "name": r.get("name", r["model"])})
    base = next((x for x in rows if x["model"] == table.baseline), None) if table.baseline else None
    for r in rows:
        # without --baseline, each of our rows is compared with the published row of its own model, if any
        ref_row = base or (r["kind"] != "published" and published.get(r["name"]) and
                           next(x for x in rows if x["kind"] == "published" and x["model"] == r["name"]))
        if r["kind"] != "published" and ref_row and ref_row is not r:
            r["delta_vs"] = ref_row["model"]
            r["delta"] = {c: (float(r["values"][c]) - float(ref_row["values"][c]))
                          if isinstance(r["values"].get(c), (int, float)) and isinstance(ref_row["values"].get(c), (int, float))
                          else None for c in cols}
    series = [{"label": r["model"], "values": r["values"], "published": r["kind"] == "published",
               "lo": {c: (r["ci"].get(c) or {}).get("lo") for c in cols},
               "hi": {c: (r["ci"].get(c) or {}).get("hi") for c in cols}} for r in rows if r["kind"] != "seeds"]
    chart = plots.grouped_bars(cols, series, f"{suite.title}: per category (error bars: 95% bootstrap CI over prompts)")
    return {"name": suite.name, "title": suite.title, "protocol": suite.protocol_version, "scale": suite.scale,
            "columns": cols, "derived": list(table.derived), "rows": rows, "footnotes": table.footnotes(),
            "notes": table.notes, "chart": chart, "baseline": table.baseline}


def write_leaderboard_page(run_dirs: list[Path], out_dir: Path, references: bool = True, baseline: str | None = None,
                           references_path: Path = REFERENCES) -> Path:
    """``out_dir/index.html`` plus ``out_dir/runs/<run>.html`` for every run."""
    out_dir = Path(out_dir)
    summaries = [read_json(Path(d) / "summary.json") for d in run_dirs]
    for d in run_dirs:
        write_run_page(Path(d), out_dir / "runs")
    names = sorted({s["suite"] for s in summaries})
    sections = [suite_section(load_suite(n), [s for s in summaries if s["suite"] == n], out_dir, references, baseline,
                              references_path) for n in names]
    return _render("leaderboard.html.j2", out_dir / "index.html", sections=sections, title="t2ir1-eval leaderboard")


# ------------------------------------------------------------------------------- run page
def _card(im: ImageView, run: RunData, page_dir: Path) -> dict[str, Any]:
    thumb = thumbnail(run.root, im.path, im.file)
    if im.failed:
        status = "error"
    elif im.passed is None:
        status = "scored"
    else:
        status = "pass" if im.passed else "fail"
    return {"im": im, "status": status, "full": href(im.path, page_dir) if im.path.is_file() else None,
            "thumb": href(thumb, page_dir) if thumb else None}


def write_run_page(run_dir: Path, out_dir: Path, split_over: int = SPLIT_OVER, page_size: int = PAGE_SIZE) -> Path:
    """``out_dir/<run>.html``; a run of more than ``split_over`` images gets its gallery split into
    ``out_dir/<run>/<category>.html`` (then ``<category>_p2.html``, ...), ``page_size`` cards a page."""
    run = load_run(Path(run_dir))
    suite = load_suite(run.suite)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = len(run.images) > split_over
    page_dir = out_dir / slug(run.root) if split else out_dir
    page_dir.mkdir(parents=True, exist_ok=True)
    cards = [_card(im, run, page_dir) for im in tqdm(run.images, desc=f"report {run.suite} thumbnails", unit="img",
                                                      disable=None if len(run.images) > 200 else True)]
    cats: list[str] = []
    for im in run.images:
        if im.category not in cats:
            cats.append(im.category)
    hist = []
    for c in cats:
        vals = [im.score for im in run.images if im.category == c and im.score is not None]
        if vals:
            hist.append({"category": suite.category_display(c),
                         "svg": plots.histogram(vals, f"{suite.category_display(c)} (n={len(vals)})",
                                                value_range=(0.0, 1.0) if max(vals) <= 1 else None)})
    s = run.summary
    unc = (s.get("uncertainty") or {}).get("intervals", {})
    order = [c for c in suite.table_columns if c in s["scores"]] + [c for c in s["scores"] if c not in suite.table_columns]
    scores = [{"name": k, "value": s["scores"][k], "ci": unc.get(k)} for k in order]
    failed = [c for c in cards if c["status"] == "error"]
    main = out_dir / f"{slug(run.root)}.html"
    title = f"{s['model']} on {suite.title}"
    common = dict(run=run, s=s, suite=suite, hist=hist, scores=scores, failed=failed,
                  provenance=provenance_rows(s, run.config), badges=badges(s, suite), title=title)
    if not split:
        # a full run has thousands of images: the browser then loads thumbnails as they scroll into view
        loading = "eager" if len(cards) <= EAGER_IMAGES else "lazy"
        return _render("run.html.j2", main, cards=cards, loading=loading,
                       categories=[(c, suite.category_display(c)) for c in cats], **common)
    sections = plan_gallery(cards, cats, suite.category_display, page_size)
    for g in sections:
        for page in g.pages:
            prev = g.pages[page.number - 2].file if page.number > 1 else None
            nxt = g.pages[page.number].file if page.number < len(g.pages) else None
            _render("run_gallery.html.j2", page_dir / page.file, g=g, page=page, prev=prev, next=nxt, sections=sections,
                    back=href(main, page_dir), run_title=title, badges=common["badges"],
                    loading="eager" if len(page.cards) <= EAGER_IMAGES else "lazy",
                    title=f"{title}: {g.display}" + (f" (page {page.number}/{len(g.pages)})" if len(g.pages) > 1 else ""))
    links = {g.category: href(page_dir / g.pages[0].file, out_dir) for g in sections}
    # pages of an earlier, larger report of this run would be reachable from nowhere but still served: drop them
    current = {page.file for g in sections for page in g.pages}
    for stale in page_dir.glob("*.html"):
        if stale.name not in current:
            stale.unlink()
    return _render("run.html.j2", main, sections=sections, links=links, **common)


# ------------------------------------------------------------------------------- compare page
def write_compare_page(run_a: Path, run_b: Path, out_dir: Path, seed: int = 0, n_resamples: int = 1000) -> Path:
    a, b = load_run(Path(run_a)), load_run(Path(run_b))
    if a.suite != b.suite:
        from ...errors import ConfigError

        raise ConfigError(f"cannot compare a {a.suite} run ({run_a}) with a {b.suite} run ({run_b})")
    suite = load_suite(a.suite)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = a.summary["provenance"].get("options") or suite.resolve_options({})
    diff = paired_difference(suite, decision_rows(a.root), decision_rows(b.root), options, a.summary["scores"],
                             b.summary["scores"], seed=seed, n_resamples=n_resamples)
    cols = diff["columns"]
    diff["columns"] = {c: cols[c] for c in [*suite.table_columns, *cols] if c in cols}
    pa, pb = prompt_scores(a.images), prompt_scores(b.images)
    common = [p for p in pa if p in pb]
    wins: dict[str, dict[str, int]] = {}
    for p in common:
        cat = suite.category_display(pa[p][0])
        d = pb[p][1] - pa[p][1]
        w = wins.setdefault(cat, {"a": 0, "tie": 0, "b": 0})
        w["a" if d < -1e-12 else "b" if d > 1e-12 else "tie"] += 1
    w_all = {k: sum(w[k] for w in wins.values()) for k in ("a", "tie", "b")}
    by_prompt_a: dict[str, list[ImageView]] = {}
    by_prompt_b: dict[str, list[ImageView]] = {}
    for im in a.images:
        by_prompt_a.setdefault(im.prompt_id, []).append(im)
    for im in b.images:
        by_prompt_b.setdefault(im.prompt_id, []).append(im)
    pairs = []
    for p in sorted(common, key=lambda p: (-abs(pb[p][1] - pa[p][1]), p)):
        pairs.append({"prompt_id": p, "category": suite.category_display(pa[p][0]), "a": pa[p][1], "b": pb[p][1],
                      "diff": pb[p][1] - pa[p][1], "prompt": by_prompt_a[p][0].prompt,
                      "cards_a": [_card(im, a, out_dir) for im in by_prompt_a[p]],
                      "cards_b": [_card(im, b, out_dir) for im in by_prompt_b[p]]})
    name = f"compare-{slug(a.root)}-vs-{slug(b.root)}.html"
    return _render("compare.html.j2", out_dir / name, loading="eager" if len(pairs) <= EAGER_IMAGES // 8 else "lazy", a=a, b=b, suite=suite, diff=diff, wins=wins, w_all=w_all,
                   pairs=pairs, n_common=len(common), title=f"{a.summary['model']} vs {b.summary['model']} on {suite.title}")
