"""The `t2ir1-eval` command: parse, call, print. All work lives in the modules it calls."""

from __future__ import annotations

import json
import logging
import math
import sys
from functools import wraps
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .errors import ConfigError, T2IR1EvalError
from .redact import install_log_redaction, redact_text

log = logging.getLogger("t2ir1_eval")
DEFAULT_RUNS = Path("results/runs")
DEFAULT_TABLES = Path("results/leaderboards")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(values: tuple[str, ...], what: str) -> dict[str, Any]:
    out = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, found {v!r}", param_hint=what)
        out[key.strip()] = _value(val)
    return out


def _batch_size(ctx: Any, param: Any, value: str | None) -> int | str | None:
    if value is None or str(value).lower() == "auto":
        return None if value is None else "auto"
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise click.BadParameter(f"expected a positive integer or auto, found {value!r}")
    return n


def _scorer_pairs(values: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, val in _pairs(values, "--scorer-option").items():
        scorer, dot, opt = key.rpartition(".")
        out.setdefault(scorer if dot else "*", {})[opt] = val
    return out


class _UsageOrConfigError(click.ClickException):
    """Exit 2: bad input or configuration (1 is kept for a failed check, so CI can tell them apart)."""

    exit_code = 2


def _include(paths: tuple[Path, ...]) -> None:
    from .suites.spec import add_include_path

    for p in paths:
        add_include_path(p)


include_option = click.option("--include-path", "include_path", multiple=True, type=click.Path(path_type=Path),
                              help="Folder of extra suite YAML files (your own suites; same name overrides a bundled one).")


def _errors(fn: Callable) -> Callable:
    """Our errors print as one clear message, not a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except T2IR1EvalError as exc:
            # every error of ours is bad input or configuration (exit 2); a failed check exits 1 itself
            raise _UsageOrConfigError(redact_text(str(exc))) from exc
        except KeyboardInterrupt:
            click.echo("\ninterrupted. Everything finished so far is on disk: run the same command again to resume "
                       "where it stopped.", err=True)
            sys.exit(130)

    return wrapper


def _report_all_failed(summary: dict[str, Any]) -> bool:
    """True (after saying so) for a run in which no image got a scorer output: that is not a result.

    (An unparseable judge reply is an output the protocol scores 0; an error is no output at all.)
    """
    if summary["n_images"] and summary.get("n_errors", 0) >= summary["n_images"]:
        click.echo(f"error: every one of the {summary['n_images']} images failed to score, so the table above holds "
                   f"no measurement. The errors are in {summary['run_dir']}/decisions.jsonl; fix their cause and run "
                   f"the same command again (failed images are retried).", err=True)
        return True
    return False


def _exit_if_all_failed(summary: dict[str, Any]) -> None:
    """Exit 1 when no image of the run got a scorer output."""
    if _report_all_failed(summary):
        sys.exit(1)


@click.group()
@click.version_option(__version__, prog_name="t2ir1-eval")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
def main(verbose: int) -> None:
    """Evaluate text-to-image models (T2I-R1, Janus-Pro, FLUX.1) on GenEval, T2I-CompBench, WISE and DPG-Bench."""
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("httpx", "urllib3", "transformers", "filelock", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_log_redaction()  # no log line may carry a key or a token inside a URL


# ----------------------------------------------------------------------------- ls
@main.command("ls")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Local copy of the benchmark data.")
@include_option
@_errors
def ls_cmd(data_dir: Path | None, include_path: tuple[Path, ...]) -> None:
    """List suites (with prompt counts), models, generators and scorers."""
    _include(include_path)
    from .generators import GENERATORS, MODELS
    from .scorers import SCORERS
    from .suites.data import DataResolver
    from .suites.spec import BENCHMARKS_DIR, load_suite, suite_paths

    click.echo("Suites:")
    resolver = DataResolver(data_dir, offline=True)
    for name in suite_paths():
        suite = load_suite(name)
        try:
            n = len(suite.load_items(resolver, suite.resolve_options({})))
            count = f"{n} prompts"
        except T2IR1EvalError as exc:
            count = f"{suite.expected_prompts} prompts (data not available here: {str(exc).splitlines()[0][:100]}...)"
        cats = ", ".join(suite.categories)
        origin = "" if suite.yaml_path and suite.yaml_path.parent == BENCHMARKS_DIR else f" [from {suite.yaml_path}]"
        click.echo(f"  {name:14s} {count}; {suite.images_per_prompt} images/prompt; categories: {cats}{origin}")
        for opt in suite.options_spec.values():
            click.echo(f"      --option {opt.name}={opt.default}  ({'|'.join(map(str, opt.choices or []))}) {opt.help}")
    click.echo("Models (--model):")
    for name, preset in MODELS.items():
        click.echo(f"  {name:14s} [{preset.generator}] {preset.help}")
    click.echo("Generators:")
    for name in GENERATORS.names():
        click.echo(f"  {name:14s} {GENERATORS.help(name)}")
    click.echo("Scorers:")
    for name in SCORERS.names():
        click.echo(f"  {name:14s} {SCORERS.help(name)}")


# ----------------------------------------------------------------------------- run / generate
def run_options(fn: Callable) -> Callable:
    opts = [
        click.option("--bench", "-b", required=True,
                     help="Suite(s): geneval, t2i-compbench, wise, dpg-bench; a comma list (geneval,wise) or all."),
        click.option("--model", "-m", required=True, help="Model preset (see `t2ir1-eval ls`); `tiny` for a smoke run."),
        click.option("--name", help="The model's name in tables and in the run directory (required with --model folder)."),
        click.option("--run-dir", type=click.Path(path_type=Path),
                     help="Run directory [results/runs/<bench>-<name or model>-seed<seed>]; with several suites, one "
                          "sub-folder per suite."),
        click.option("--seed", default=0, show_default=True, type=int, help="Run seed; per-image seeds derive from it."),
        click.option("--option", "-o", "options", multiple=True, help="Suite protocol option KEY=VALUE."),
        click.option("--recipe", help="Generation recipe (t2i-r1, janus-pro, t2i-r1-no-cot, janus-pro-cot)."),
        click.option("--model-id", help="Override the preset's checkpoint (hub id or local folder)."),
        click.option("--gen-option", multiple=True, help="Generator knob KEY=VALUE (e.g. cfg_weight=5)."),
        click.option("--images", type=click.Path(path_type=Path), help="With --model folder: folder of images in the official layout."),
        click.option("--scorer-option", multiple=True, help="[SCORER.]KEY=VALUE for the scorers (e.g. wise-judge.base_url=...)."),
        click.option("--scorer-worker", multiple=True, help="SCORER=PYTHON: run SCORER in a worker under that interpreter."),
        click.option("--tiny-scorers", is_flag=True, help="Tiny random scorer models (offline smoke run; scores mean nothing)."),
        click.option("--data-dir", type=click.Path(path_type=Path), help="Local copy of the benchmark data [$T2IR1_EVAL_DATA]."),
        click.option("--fallback-data", multiple=True, help="KEY=PATH used only if the pinned data file is unavailable (smoke run)."),
        click.option("--limit", type=int, help="First N prompts of each category."),
        click.option("--category", multiple=True, help="Only these categories."),
        click.option("--allow-missing", is_flag=True, help="Score missing images as failures instead of stopping."),
        click.option("--device", default="auto", show_default=True),
        click.option("--dtype", default="auto", show_default=True, help="auto = bf16 on GPU, fp32 on CPU."),
        click.option("--batch-size", callback=_batch_size, help="Generator batch size (images per forward), or auto: "
                     "the largest that fits in free GPU memory (Janus; recorded in the run's config)."),
        click.option("--dry-run", is_flag=True, help="Print the exact model inputs of the first prompts; load no weights."),
        include_option,
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _benches(text: str) -> list[str]:
    """``geneval``, ``geneval,wise`` or ``all`` -> suite names (aliases allowed, checked by load_suite)."""
    from .suites.spec import load_suite, suite_paths

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigError(f"--bench {text!r}: expected a suite name, a comma list or all")
    if parts == ["all"]:
        return list(suite_paths())
    names = [load_suite(p).name for p in parts]
    return list(dict.fromkeys(names))


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^\w.-]+", "-", text).strip("-.") or "model"  # a name, never a path


def _configs(kw: dict[str, Any]) -> list:
    """One RunConfig per suite of --bench."""
    _include(kw.get("include_path") or ())
    if kw["model"] == "folder" and not kw.get("name"):
        raise ConfigError("--model folder needs --name NAME (e.g. --name SD3-medium): the model that made the images; "
                          "it names the rows of every table and the run directory, so two outside models never mix")
    benches = _benches(kw["bench"])
    out = []
    for bench in benches:
        cfg = _config(dict(kw, bench=bench))
        if kw["run_dir"] and len(benches) > 1:
            cfg.run_dir = Path(kw["run_dir"]) / bench
        out.append(cfg)
    return out


def _config(kw: dict[str, Any]):
    from .pipeline import RunConfig

    gen = _pairs(kw["gen_option"], "--gen-option")
    for key in ("recipe", "model_id", "batch_size"):
        if kw.get(key) is not None:
            gen[key] = kw[key]
    if kw.get("images"):
        gen["images"] = str(kw["images"])
    scorer_opts = _scorer_pairs(kw["scorer_option"])
    if kw["tiny_scorers"]:
        scorer_opts.setdefault("*", {})["model_id"] = "tiny"
    who = _slug(kw["name"]) if kw.get("name") else kw["model"]
    run_dir = kw["run_dir"] or DEFAULT_RUNS / f"{kw['bench']}-{who}-seed{kw['seed']}"
    return RunConfig(
        suite=kw["bench"], model=kw["model"], run_dir=run_dir, seed=kw["seed"],
        options=_pairs(kw["options"], "--option"), generator_options=gen, scorer_options=scorer_opts,
        scorer_workers={k: str(v) for k, v in _pairs(kw["scorer_worker"], "--scorer-worker").items()},
        data_dir=kw["data_dir"], fallback_data={k: Path(str(v)) for k, v in _pairs(kw["fallback_data"], "--fallback-data").items()},
        limit=kw["limit"], categories=list(kw["category"]) or None, allow_missing=kw["allow_missing"],
        device=kw["device"], dtype=kw["dtype"], name=kw.get("name"),
    )


def _dry_run(cfg) -> None:
    from .pipeline import Run

    r = Run(cfg)
    for row in r.dry_run():
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))


@main.command("run")
@run_options
@_errors
def run_cmd(**kw: Any) -> None:
    """Generate, score and tabulate one or more suites (resumes a killed run)."""
    from .pipeline import run

    all_failed = False
    for cfg in _configs(kw):
        if kw["dry_run"]:
            _dry_run(cfg)
            continue
        summary = run(cfg)
        if summary is not None:
            _print_run_table(summary)
            all_failed |= _report_all_failed(summary)  # the other suites still run
    if all_failed:
        sys.exit(1)


@main.command("generate")
@run_options
@_errors
def generate_cmd(**kw: Any) -> None:
    """Only generate the images (official layout + manifest)."""
    from .pipeline import run

    for cfg in _configs(kw):
        if kw["dry_run"]:
            _dry_run(cfg)
            continue
        run(cfg, generate=True, score=False)
        click.echo(f"images under {cfg.run_dir / 'images'}")


@main.command("score")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scorer-option", multiple=True)
@click.option("--scorer-worker", multiple=True)
@click.option("--tiny-scorers", is_flag=True)
@click.option("--data-dir", type=click.Path(path_type=Path))
@click.option("--fallback-data", multiple=True)
@click.option("--allow-missing", is_flag=True)
@click.option("--device", default="auto")
@click.option("--dtype", default="auto")
@click.option("--fresh", is_flag=True, help="Discard this run's stored scorer records first.")
@include_option
@_errors
def score_cmd(run_dir: Path, **kw: Any) -> None:
    """Score the images of an existing run directory."""
    _include(kw.pop("include_path"))
    from .pipeline import score_run

    summary = score_run(
        run_dir, scorer_options=_scorer_pairs(kw["scorer_option"]) | ({"*": {"model_id": "tiny"}} if kw["tiny_scorers"] else {}),
        scorer_workers={k: str(v) for k, v in _pairs(kw["scorer_worker"], "--scorer-worker").items()},
        data_dir=kw["data_dir"], fallback_data={k: Path(str(v)) for k, v in _pairs(kw["fallback_data"], "--fallback-data").items()},
        allow_missing=kw["allow_missing"], device=kw["device"], dtype=kw["dtype"], fresh=kw["fresh"])
    _print_run_table(summary)
    _exit_if_all_failed(summary)


@main.command("rescore")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path))
@click.option("--option", "-o", "options", multiple=True,
              help="Change a rule option KEY=VALUE (e.g. threshold=0.5, parser=strict, first_row_bug=false).")
@include_option
@_errors
def rescore_cmd(run_dir: Path, data_dir: Path | None, options: tuple[str, ...], include_path: tuple[Path, ...]) -> None:
    """Recompute decisions and summary from stored raw outputs, loading no model."""
    from .pipeline import rescore
    from .report.tables import build_table, write_table
    from .suites.spec import load_suite

    _include(include_path)
    summary = rescore(run_dir, data_dir, _pairs(options, "--option"))
    _print_run_table(summary)
    if summary["provenance"].get("variant"):
        suite = load_suite(summary["suite"])
        out = Path(summary["run_dir"])
        write_table(build_table(suite, [summary], references=False), out / "tables", suite.name, suite.scale)
        click.echo(f"options differ from the run's: variant written to {out} (summary.json, decisions.jsonl, tables/); "
                   f"{run_dir}/summary.json is unchanged")


def _print_run_table(summary: dict[str, Any]) -> None:
    from .report.tables import build_table, to_markdown
    from .suites.spec import load_suite

    suite = load_suite(summary["suite"])
    click.echo(to_markdown(build_table(suite, [summary]), suite.scale))
    if summary["n_failed"]:
        click.echo(f"{summary['n_failed']} of {summary['n_images']} images failed to score (scored as the protocol says); "
                   f"ids in {summary['run_dir']}/summary.json")


# ----------------------------------------------------------------------------- report / compare / check
def _leaderboards_with_runs(out: Path, name: str) -> list[Path]:
    """The leaderboard files of suite ``name`` under ``out`` that may hold runs (not known to be published-only)."""
    files = [out / f"{name}.{ext}" for ext in ("md", "csv", "json", "parquet") if (out / f"{name}.{ext}").is_file()]
    if not files:
        return []
    try:  # the JSON rendering says what kind each row is
        rows = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))["rows"]
        if all(r.get("kind") == "published" for r in rows):
            return []
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # unknown content: assume it holds runs
    return files


@main.command("report")
@click.argument("runs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--runs-dir", type=click.Path(path_type=Path), default=DEFAULT_RUNS, show_default=True,
              help="Used when no RUNS are given: every run with a summary under it, at any depth.")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_TABLES, show_default=True)
@click.option("--baseline", help="Row to compute deltas against: its exact label or a unique prefix (e.g. Janus-Pro-7B).")
@click.option("--no-references", is_flag=True, help="Only our runs.")
@click.option("--html/--no-html", default=True, show_default=True,
              help="Also write a static HTML report (OUT/index.html, one page per run; works offline).")
@include_option
@_errors
def report_cmd(runs: tuple[Path, ...], runs_dir: Path, out: Path, baseline: str | None, no_references: bool,
               html: bool, include_path: tuple[Path, ...]) -> None:
    """Per-suite leaderboards (markdown, CSV, JSON, Parquet, HTML) of runs beside published numbers."""
    from .report.tables import build_table, find_runs, load_summary, write_table
    from .suites.spec import load_suite, suite_paths

    _include(include_path)
    dirs = list(runs) or find_runs(runs_dir)
    if not dirs:
        # reference-only tables must never replace leaderboards that hold runs
        kept = [str(p) for name in suite_paths() for p in _leaderboards_with_runs(Path(out), name)]
        if kept:
            click.echo(f"error: no run with a summary.json under {runs_dir}, and {out} holds leaderboards with runs "
                       f"({', '.join(kept[:3])}) that published-only tables would replace. {out} was left as it is. "
                       f"Give run folders as arguments, or --runs-dir DIR.", err=True)
            sys.exit(2)
        click.echo(f"warning: no runs (summary.json) under {runs_dir}; the tables below hold published numbers only. "
                   f"Pass run directories, or --runs-dir DIR", err=True)
    summaries = [load_summary(d) for d in dirs]
    if dirs and not runs:
        click.echo(f"{len(dirs)} run(s) under {runs_dir}: {', '.join(str(d) for d in dirs)}", err=True)
    names = sorted({s["suite"] for s in summaries}) or list(suite_paths())
    for name in names:
        suite = load_suite(name)
        table = build_table(suite, [s for s in summaries if s["suite"] == name], references=not no_references, baseline=baseline)
        if baseline:
            click.echo(f"{name}: deltas against the row {table.baseline!r} (--baseline {baseline!r})", err=True)
        csv_path, md_path, md = write_table(table, out, name, suite.scale)
        click.echo(md)
        log.info("wrote %s, %s and .json/.parquet beside them", csv_path, md_path)
    if html and dirs:
        from .report.html import write_leaderboard_page

        page = write_leaderboard_page(dirs, out, references=not no_references, baseline=baseline)
        click.echo(f"HTML report: {page}")



@main.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Parquet file [RUN_DIR/per_image.parquet].")
@click.option("--no-images", is_flag=True, help="Leave the image bytes out (paths only).")
@_errors
def export_cmd(run_dir: Path, out: Path | None, no_images: bool) -> None:
    """Per-image results (prompt, category, image, decision, reasons, raw scores) as a datasets Parquet file.

    Read it with datasets.load_dataset("parquet", data_files=PATH); push it with Dataset.push_to_hub."""
    from .report.dataset import export_run

    path = export_run(run_dir, out, images=not no_images)
    click.echo(f"wrote {path} (load_dataset('parquet', data_files='{path}'))")


@main.command("compare")
@click.argument("run_a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--html", is_flag=True, help="Also write a compare page: same prompts side by side, paired bootstrap CIs.")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_TABLES, show_default=True,
              help="Folder for the --html page.")
@_errors
def compare_cmd(run_a: Path, run_b: Path, html: bool, out: Path) -> None:
    """Category-by-category difference of two runs of the same suite."""
    from .report.tables import compare, load_summary
    from .suites.spec import load_suite

    a, b = load_summary(run_a), load_summary(run_b)
    if a["suite"] != b["suite"]:
        raise ConfigError(f"cannot compare a {a['suite']} run ({run_a}) with a {b['suite']} run ({run_b})")
    if a["provenance"].get("options") != b["provenance"].get("options"):
        click.echo(f"warning: protocol options differ: {a['provenance'].get('options')} vs {b['provenance'].get('options')}", err=True)
    click.echo(compare(a, b, load_suite(a["suite"]).table_columns))
    if html:
        from .report.html import write_compare_page

        click.echo(f"HTML compare page: {write_compare_page(run_a, run_b, out)}")


@main.command("check")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--baseline", type=click.Path(path_type=Path), help="Baseline JSON (results/baselines/...).")
@click.option("--tolerance", type=float, default=0.0, show_default=True,
              help="Allowed fall per category (a finite number >= 0). Exit 0 pass, 1 regression, 2 usage/config error.")
@click.option("--write-baseline", type=click.Path(path_type=Path), help="Write this run's scores as a baseline and exit.")
@click.option("--two-sided", is_flag=True, help="Also fail when a category rose by more than the tolerance.")
@_errors
def check_cmd(run_dir: Path, baseline: Path | None, tolerance: float, write_baseline: Path | None, two_sided: bool) -> None:
    """Exit non-zero, naming the categories, if the run fell below the baseline."""
    from .report.check import check, load_baseline, save_baseline
    from .report.tables import load_summary

    summary = load_summary(run_dir)
    if write_baseline:
        save_baseline(summary, write_baseline)
        click.echo(f"baseline written to {write_baseline}")
        return
    if not baseline:
        raise click.UsageError("give --baseline FILE (or --write-baseline FILE)")
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ConfigError(f"--tolerance: expected a finite number >= 0, found {tolerance} (nan would pass any drop)")
    fallen = check(summary, load_baseline(baseline), tolerance, two_sided)
    if fallen:
        click.echo(f"REGRESSION in {summary['suite']} ({run_dir}) against {baseline}:", err=True)
        for line in fallen:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo(f"OK: no category of {summary['suite']} {'moved' if two_sided else 'fell'} by more than {tolerance} against {baseline}")


# ----------------------------------------------------------------------------- smoke judge
@main.command("smoke-judge", context_settings={"ignore_unknown_options": True})
@click.option("--seed", default=0, show_default=True, type=int, help="Seeds the replies (the same request, the same reply).")
@click.option("--protocol", type=click.Choice(["legacy", "verified"]), default="legacy", show_default=True)
@click.option("--port", default=0, show_default=True, type=int, help="Loopback port (0: any free one).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@_errors
def smoke_judge_cmd(seed: int, protocol: str, port: int, command: tuple[str, ...]) -> None:
    """Run COMMAND beside a SMOKE judge on 127.0.0.1 (seeded replies, not a model); {base_url} in COMMAND
    becomes its URL. The server stops when COMMAND ends; its exit status is passed on."""
    import subprocess

    from .scorers.wise.smoke_judge import SmokeJudgeServer

    try:
        server = SmokeJudgeServer(seed=seed, protocol=protocol, port=port)
    except OSError as exc:
        raise click.ClickException(f"smoke judge: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); "
                                   f"free the port or pass another --port") from exc
    with server:
        click.echo(f"smoke judge (seeded replies, NOT a model) at {server.base_url}", err=True)
        argv = [a.replace("{base_url}", server.base_url) for a in command]
        try:
            code = subprocess.call(argv)
        except OSError as exc:
            raise click.ClickException(f"smoke judge: cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
        click.echo(f"smoke judge answered {server.calls} call(s)", err=True)
    sys.exit(code)


# ----------------------------------------------------------------------------- convert
CONVERTERS = {
    "janus": ("t2ir1_eval.generators.janus_convert", "convert_checkpoint",
              "DeepSeek-format Janus/T2I-R1 checkpoint -> transformers Janus format"),
    "geneval-mask2former": ("t2ir1_eval.scorers.geneval.convert_mmdet", "convert_checkpoint",
                            "GenEval's mmdet Mask2Former Swin-S checkpoint -> transformers Mask2Former"),
    "blip-vqa": ("t2ir1_eval.scorers.compbench.blip_convert", "convert_checkpoint",
                 "Salesforce's original BLIP VQA .pth (T2I-CompBench, 480 px) -> transformers BLIP "
                 "(options: tokenizer, med_config, vit_heads)"),
}


@main.command("convert")
@click.argument("kind", type=click.Choice(sorted(CONVERTERS)))
@click.argument("src")
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="converter option, e.g. -o vit_heads=12 for blip-vqa (repeatable)")
@_errors
def convert_cmd(kind: str, src: str, dst: Path, options: tuple[str, ...]) -> None:
    """Write a transformers-format copy of a checkpoint (src: local path or hub id)."""
    import importlib
    import inspect

    module, fn, _ = CONVERTERS[kind]
    func = getattr(importlib.import_module(module), fn)
    kwargs: dict[str, str] = {}
    # options are strings from the command line: offer only the converter's plain-valued keywords
    accepted = [n for n, p in list(inspect.signature(func).parameters.items())[2:] if "Callable" not in str(p.annotation)]
    for opt in options:
        key, sep, value = opt.partition("=")
        if not sep or key not in accepted:
            raise click.UsageError(f"convert {kind}: option {opt!r} is not KEY=VALUE with KEY one of {accepted}")
        kwargs[key] = value
    func(src, dst, **kwargs)
    click.echo(f"wrote {dst}")


if __name__ == "__main__":
    main()
