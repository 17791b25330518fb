"""The static HTML report of the smoke runs, opened in headless Chromium (DevTools protocol).

Chromium comes from Debian's `chromium` package (.ci/run installs it); where it is absent the
browser tests skip with that reason, unless T2IR1_REQUIRE_CHROMIUM=1 (CI) makes that a failure.
Screenshots of each page kind are written under the test's tmp dir, and copied to
$T2IR1_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from markupsafe import escape

from browser import ALL_IMAGES_LOADED, Browser, find_chromium
from smoke_runs import run_cli

from t2ir1_eval.report.cells import md_cell
from t2ir1_eval.report.html.pages import slug
from t2ir1_eval.report.references import reference_table
from t2ir1_eval.suites.spec import load_suite

HOSTILE_MODEL = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
HOSTILE_REPLY = "Consistency: 2\nRealism: 1\nAesthetic Quality: 0\n</pre><script>window.__pwned=3</script>"


@pytest.fixture(scope="module")
def report(smoke_runs, tmp_path_factory):
    """`report --html` over the smoke runs (two GenEval seeds + WISE) and `compare --html` of the two seeds."""
    out = tmp_path_factory.mktemp("report") / "leaderboards"
    runs = [smoke_runs["geneval"], smoke_runs["geneval-seed1"], smoke_runs["wise"], smoke_runs["dpg-bench"]]
    run_cli(["report", *map(str, runs), "--out", str(out)])
    cmp = run_cli(["compare", str(smoke_runs["geneval"]), str(smoke_runs["geneval-seed1"]), "--html", "--out", str(out)])
    compare_page = Path(cmp.stdout.strip().splitlines()[-1].split(": ", 1)[1])
    return {"out": out, "index": out / "index.html", "compare": compare_page,
            "run": out / "runs" / f"{slug(smoke_runs['geneval'])}.html", "runs": smoke_runs,
            "dpg": out / "runs" / f"{slug(smoke_runs['dpg-bench'])}.html", "wise": out / "runs" / f"{slug(smoke_runs['wise'])}.html"}


@pytest.fixture(scope="module")
def hostile(smoke_runs, tmp_path_factory):
    """A copy of the WISE run whose model name and one judge reply are hostile HTML, rescored and reported."""
    root = tmp_path_factory.mktemp("hostile")
    run = root / "wise"
    shutil.copytree(smoke_runs["wise"], run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["model_display"] = HOSTILE_MODEL
    (run / "config.json").write_text(json.dumps(cfg))
    rec = run / "records" / "wise-judge" / "rank-00000.jsonl"
    lines = rec.read_text().splitlines()
    first = json.loads(lines[0])
    first["raw"]["reply"] = HOSTILE_REPLY
    rec.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    run_cli(["rescore", str(run)])
    out = root / "leaderboards"
    run_cli(["report", str(run), "--out", str(out)])
    return {"index": out / "index.html", "run": out / "runs" / f"{slug(run)}.html"}


# ------------------------------------------------------------------------------------ without a browser
def test_pages_are_self_contained(report):
    for page in (report["index"], report["run"], report["compare"]):
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, f"{page.name} refers to the network"
        assert "<script src" not in text and 'rel="stylesheet"' not in text
    # a summary without its run directory (copied, older version) still gets a page
    lone = report["out"].parent / "lone"
    lone.mkdir()
    shutil.copy(report["runs"]["wise"] / "summary.json", lone / "summary.json")
    run_cli(["report", str(lone), "--out", str(report["out"].parent / "lone-report")])
    assert (report["out"].parent / "lone-report" / "runs" / f"{slug(lone)}.html").is_file()
    # thumbnails are cached beside the run and reused
    thumbs = sorted((report["runs"]["geneval"] / "thumbs").rglob("*.webp"))
    assert len(thumbs) == 48
    before = [t.stat().st_mtime_ns for t in thumbs]
    run_cli(["report", str(report["runs"]["geneval"]), "--out", str(report["out"] / "again")])
    assert [t.stat().st_mtime_ns for t in thumbs] == before


def test_hostile_model_name_and_judge_reply_are_escaped(hostile):
    for page in (hostile["index"], hostile["run"]):
        text = page.read_text(encoding="utf-8")
        assert "window.__pwned" in text  # the text is shown ...
        assert "<script>window.__pwned" not in text and 'onerror="window' not in text  # ... never as markup
    # as Jinja2's autoescape (markupsafe) writes it: &lt; &gt; &amp; &#34; &#39;
    assert str(escape(HOSTILE_MODEL)) in hostile["index"].read_text(encoding="utf-8")
    assert str(escape("</pre><script>window.__pwned=3</script>")) in hostile["run"].read_text(encoding="utf-8")


def _md_table(md: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    split = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    return split[0], split[2:]


def test_markdown_and_csv_carry_intervals_and_the_seed_row(report):
    """The smoke runs' own summary.json intervals reach the markdown and CSV leaderboards; the two
    GenEval seeds get one mean ± sd row, as in the HTML page."""
    import csv
    import statistics

    from t2ir1_eval.report.tables import fmt_interval

    summaries = [json.loads((report["runs"][k] / "summary.json").read_text()) for k in ("geneval", "geneval-seed1")]
    rows = list(csv.DictReader((report["out"] / "geneval.csv").open(encoding="utf-8")))
    header, md_rows = _md_table((report["out"] / "geneval.md").read_text(encoding="utf-8"))
    col = header.index("Overall")
    for s in summaries:
        ci = s["uncertainty"]["intervals"]["Overall"]
        row = next(r for r in rows if r["kind"] == "ours" and r["provenance"].startswith(f"run {s['run_dir']};"))
        assert float(row["lo_Overall"]) == pytest.approx(ci["lo"]) and float(row["hi_Overall"]) == pytest.approx(ci["hi"])
        md = next(r for r in md_rows if r[0] == row["model"])
        assert md[col] == f"{s['scores']['Overall']:.4f} {fmt_interval(ci['lo'], ci['hi'])}"
    assert all(r["lo_Overall"] == r["hi_Overall"] == "" for r in rows if r["kind"] == "published")
    (seeds,) = [r for r in rows if r["kind"] == "seeds"]
    overall = [s["scores"]["Overall"] for s in summaries]
    assert float(seeds["Overall"]) == pytest.approx(statistics.fmean(overall))
    assert float(seeds["sd_Overall"]) == pytest.approx(statistics.stdev(overall))
    md = next(r for r in md_rows if r[0] == seeds["model"])
    assert md[col] == f"{statistics.fmean(overall):.4f} ± {statistics.stdev(overall):.4f}"


# ------------------------------------------------------------------------------------ in Chromium
@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        if os.environ.get("T2IR1_REQUIRE_CHROMIUM") == "1":
            pytest.fail("T2IR1_REQUIRE_CHROMIUM=1 but no chromium on PATH: apt-get install -y chromium")
        pytest.skip("no chromium on PATH (Debian: apt-get install -y chromium); the HTML report is not opened in a browser")
    with Browser(binary) as b:
        yield b


def _shot(b: Browser, tmp_path: Path, name: str) -> Path:
    path = b.screenshot(tmp_path / f"{name}.png")
    if os.environ.get("T2IR1_SCREENSHOTS"):
        dest = Path(os.environ["T2IR1_SCREENSHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / path.name)
    assert path.stat().st_size > 10_000  # a real rendering, not a blank page
    return path


def _open_clean(b: Browser, url: str) -> dict:
    b.open(url)
    assert b.errors() == [], f"{url}: {b.errors()}"
    imgs = b.eval(ALL_IMAGES_LOADED)
    assert imgs["n"] > 0 and imgs["broken"] == [], imgs
    return imgs


def test_leaderboard_page(browser, report, tmp_path):
    _open_clean(browser, report["index"].as_uri())
    rows = browser.eval("""Object.fromEntries([...document.querySelectorAll('table.leaderboard')].map(t =>
        [t.dataset.suite, [...t.tBodies[0].rows].map(r => r.dataset.kind)]))""")
    for suite_name, ours, seeds in (("geneval", 2, 1), ("wise", 1, 0)):
        suite = load_suite(suite_name)
        n_pub = len(reference_table(suite.reference_benchmark))
        kinds = rows[suite_name]
        assert kinds.count("published") == n_pub and kinds.count("ours") == ours and kinds.count("seeds") == seeds, kinds
    # our rows carry the interval and the smoke badge; one chart per suite
    assert browser.eval("document.querySelectorAll('tr.ours .ci').length") >= 3 * 7
    assert browser.eval("document.querySelectorAll('tr.ours .badge.smoke').length") == 4
    assert browser.eval("document.querySelectorAll('img.chart').length") == 3
    # the page and the markdown table show the same rows, badges, note numbers and footnotes (one source)
    for suite_name in ("geneval", "wise", "dpg-bench"):
        shown = browser.eval(f"""[...document.querySelectorAll('table.leaderboard[data-suite="{suite_name}"] tbody tr')]
            .map(r => [r.cells[0].firstChild.textContent.trim(), [...r.cells[0].querySelectorAll('.badge')].map(b => b.textContent),
                       [...r.cells[0].querySelectorAll('sup a')].map(a => a.textContent)])""")
        md = (report["out"] / f"{suite_name}.md").read_text(encoding="utf-8")
        header, md_rows = _md_table(md)
        assert [[md_cell(m), md_cell(", ".join(b)), f"[{','.join(n)}]"] for m, b, n in shown] == \
            [[r[0], r[1], r[-1]] for r in md_rows]
        notes = browser.eval(f"""Object.fromEntries([...document.querySelectorAll('#suite-{suite_name} ol li')]
            .map(li => [li.id.split('-').pop(), li.textContent]))""")
        md_notes = dict(ln[1:].split("] ", 1) for ln in md.splitlines() if ln.startswith("[") and "] " in ln)
        assert {k: md_cell(v) for k, v in notes.items()} == md_notes and len(md_notes) >= len(md_rows) // 2
    _shot(browser, tmp_path, "leaderboard")


def test_run_page_filters(browser, report, tmp_path):
    _open_clean(browser, report["run"].as_uri())
    decisions = [json.loads(x)["decision"] | {"category": json.loads(x)["category"]}
                 for x in (report["runs"]["geneval"] / "decisions.jsonl").read_text().splitlines()]
    visible = "[...document.querySelectorAll('.card')].filter(c => c.offsetParent !== null).length"
    assert browser.eval(visible) == len(decisions) == 48

    def choose(cat: str, status: str) -> int:
        browser.eval(f"""(() => {{ const c = document.getElementById('f-cat'), s = document.getElementById('f-status');
            c.value = {json.dumps(cat)}; s.value = {json.dumps(status)};
            c.dispatchEvent(new Event('change')); s.dispatchEvent(new Event('change')); }})()""")
        return browser.eval(visible)

    n_fail = sum(1 for d in decisions if not d["correct"] and not d["failed"])
    assert 0 < choose("", "fail") == n_fail
    assert choose("counting", "") == sum(1 for d in decisions if d["category"] == "counting") == 8
    assert choose("position", "pass") == sum(1 for d in decisions if d["category"] == "position" and d["correct"])
    choose("", "")
    # the reason of a failed decision is on the page, as the rules wrote it
    reasons = browser.eval("[...document.querySelectorAll('.card.fail pre.reason')].map(p => p.textContent)")
    assert any(r.startswith("expected ") for r in reasons)
    _shot(browser, tmp_path, "run")


def test_wise_and_dpg_run_pages_show_the_judge_and_the_questions(browser, report, tmp_path):
    _open_clean(browser, report["wise"].as_uri())
    replies = browser.eval("[...document.querySelectorAll('.card details pre')].map(p => p.textContent)")
    assert any(r.startswith("Consistency: ") for r in replies)
    # the judge's unparseable reply is a listed failure with the parser's reason
    failed = browser.eval("[...document.querySelectorAll('table.failed td pre')].map(p => p.textContent)")
    summary = json.loads((report["runs"]["wise"] / "summary.json").read_text())
    assert len(failed) == summary["n_failed"] > 0 and all(f.startswith("no score for") for f in failed)
    _open_clean(browser, report["dpg"].as_uri())
    n_questions = browser.eval("document.querySelectorAll('.card details table tr').length")
    zeroed = browser.eval("[...document.querySelectorAll('td.qz')].map(td => td.textContent.trim())")
    assert n_questions > 0 and zeroed and all(z == "yes→0" for z in zeroed)
    _shot(browser, tmp_path, "run-dpg")


def test_compare_page(browser, report, tmp_path):
    _open_clean(browser, report["compare"].as_uri())
    cols = browser.eval("[...document.querySelectorAll('table.diff tr')].slice(1).map(r => r.cells[0].textContent)")
    assert cols == load_suite("geneval").table_columns
    pairs = browser.eval("document.querySelectorAll('.pair').length")
    diffs = browser.eval("[...document.querySelectorAll('.pair')].map(p => Math.abs(parseFloat(p.dataset.diff)))")
    assert pairs == 12 and diffs == sorted(diffs, reverse=True)  # most disagreement first
    browser.eval("(() => { const b = document.getElementById('f-disagree'); b.checked = true; b.dispatchEvent(new Event('change')); })()")
    shown = browser.eval("[...document.querySelectorAll('.pair')].filter(p => p.offsetParent !== null).length")
    assert shown == sum(1 for d in diffs if d > 1e-9)
    _shot(browser, tmp_path, "compare")


def test_hostile_texts_do_not_run(browser, hostile):
    for page in (hostile["index"], hostile["run"]):
        browser.open(page.as_uri())
        assert browser.errors() == []
        assert browser.eval("window.__pwned === undefined")
        assert "window.__pwned" in browser.eval("document.body.innerText")


def test_served_by_a_plain_static_file_server(browser, report):
    root = report["out"].parent.parent  # above both the report and the run directories
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        for page in (report["index"], report["run"], report["compare"]):
            rel = page.resolve().relative_to(root.resolve()).as_posix()
            _open_clean(browser, f"http://127.0.0.1:{httpd.server_address[1]}/{rel}")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_large_run_gallery_is_split_into_category_pages(browser, report, tmp_path):
    """With the split threshold set low, the GenEval smoke run (48 images) gets one gallery per
    category, 3 cards a page: every page opens clean, every link resolves, and the pages together
    hold each image exactly once."""
    from urllib.parse import unquote, urlparse

    from t2ir1_eval.report.html.pages import write_run_page

    run = report["runs"]["geneval"]
    rows = [json.loads(x) for x in (run / "decisions.jsonl").read_text().splitlines()]
    main = write_run_page(run, tmp_path / "runs", split_over=10, page_size=3)
    assert main == tmp_path / "runs" / f"{slug(run)}.html"

    def path_of(url: str) -> Path:
        assert url.startswith("file://"), url
        return Path(unquote(urlparse(url).path))

    _open_clean(browser, main.as_uri())  # the histograms still load; no card on the main page
    assert browser.eval("document.querySelectorAll('.card').length") == 0
    table = browser.eval("""[...document.querySelectorAll('table.categories tr')].slice(1).map(r =>
        [r.querySelector('a.cat-link').href, ...[...r.cells].slice(1).map(c => parseInt(c.textContent))])""")
    cats = list(dict.fromkeys(r["category"] for r in rows))
    assert len(table) == len(cats) > 1
    seen_files: list[Path] = []
    per_cat: dict[str, list[str]] = {}
    for (link, n, n_pass, n_fail, n_error, n_scored, n_pages), cat in zip(table, cats):
        mine = [r["decision"] for r in rows if r["category"] == cat]
        assert (n, n_pass, n_fail, n_error, n_scored) == (len(mine), sum(bool(d["correct"]) and not d["failed"] for d in mine),
                                                          sum(not d["correct"] and not d["failed"] for d in mine),
                                                          sum(bool(d["failed"]) for d in mine), 0)
        assert n_pages == -(-len(mine) // 3)
        url, prev = link, None
        while url:
            page = path_of(url)
            assert page.is_file(), url
            _open_clean(browser, url)
            got = browser.eval("""(() => ({cats: [...document.querySelectorAll('.card')].map(c => c.dataset.cat),
                files: [...document.querySelectorAll('.card img')].map(i => i.alt),
                prev: (document.querySelector('a[rel=prev]') || {}).href || null,
                next: (document.querySelector('a[rel=next]') || {}).href || null,
                back: document.querySelector('a.back').href,
                links: [...document.querySelectorAll('a.cat-link')].map(a => a.href)}))()""")
            assert 0 < len(got["cats"]) <= 3 and set(got["cats"]) == {cat}
            assert (got["prev"] and path_of(got["prev"])) == (prev and path_of(prev))
            assert path_of(got["back"]) == main
            assert len(got["links"]) == len(cats) - 1 and all(path_of(x).is_file() for x in got["links"])
            per_cat.setdefault(cat, []).extend(got["files"])
            seen_files.append(page)
            prev, url = url, got["next"]
        assert len([p for p in seen_files if p.parent == path_of(link).parent]) >= n_pages
    # every image exactly once over all pages, and no page left unreached
    assert sum(len(v) for v in per_cat.values()) == len(rows) == 48
    assert {c: sorted(v) for c, v in per_cat.items()} == {c: sorted(r["file"] for r in rows if r["category"] == c) for c in cats}
    assert sorted(seen_files) == sorted((tmp_path / "runs" / slug(run)).glob("*.html"))
    # the outcome filter works within a page
    _open_clean(browser, seen_files[0].as_uri())
    fails = browser.eval("document.querySelectorAll('.card.fail').length")
    browser.eval("""(() => { const s = document.getElementById('f-status'); s.value = 'fail';
        s.dispatchEvent(new Event('change')); })()""")
    assert browser.eval("[...document.querySelectorAll('.card')].filter(c => c.offsetParent !== null).length") == fails
    _shot(browser, tmp_path, "run-split")
    # a later report with larger pages leaves no stale page behind
    write_run_page(run, tmp_path / "runs", split_over=10, page_size=8)
    assert sorted(x.name for x in (tmp_path / "runs" / slug(run)).glob("*.html")) == sorted(path_of(x[0]).name for x in table)


def test_category_page_names_are_safe_and_unique():
    from t2ir1_eval.report.html.run_gallery import category_slugs, page_file

    slugs = category_slugs(["color_attr", "color-attr", "Color attr", "../x", "", "a_p2", "a"])
    assert list(slugs.values()) == ["color-attr", "color-attr-2", "Color-attr-3", "x", "category", "a-p2", "a"]
    files = {page_file(s, n) for s in slugs.values() for n in (1, 2, 3)}
    assert len(files) == 3 * len(slugs) and all("/" not in f for f in files)
