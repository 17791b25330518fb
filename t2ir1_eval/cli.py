"""The `t2ir1-eval` command: parse, call, print. All work lives in the modules it calls."""

from __future__ import annotations

import json
import logging
import sys
from functools import wraps
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .errors import T2IR1EvalError

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


def _errors(fn: Callable) -> Callable:
    """Our errors print as one clear message, not a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except T2IR1EvalError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="t2ir1-eval")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
def main(verbose: int) -> None:
    """Evaluate text-to-image models (T2I-R1, Janus-Pro, FLUX.1) on GenEval, T2I-CompBench, WISE and DPG-Bench."""
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("httpx", "urllib3", "transformers", "filelock", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ----------------------------------------------------------------------------- ls
@main.command("ls")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Local copy of the benchmark data.")
@_errors
def ls_cmd(data_dir: Path | None) -> None:
    """List suites (with prompt counts), models, generators and scorers."""
    from .generators import GENERATORS, MODELS
    from .scorers import SCORERS
    from .suites.data import DataResolver
    from .suites.spec import load_suite, suite_paths

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
        click.echo(f"  {name:14s} {count}; {suite.images_per_prompt} images/prompt; categories: {cats}")
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
        click.option("--bench", "-b", required=True, help="Suite: geneval, t2i-compbench, wise, dpg-bench."),
        click.option("--model", "-m", default="tiny", show_default=True, help="Model preset (see `t2ir1-eval ls`)."),
        click.option("--run-dir", type=click.Path(path_type=Path), help="Run directory [results/runs/<bench>-<model>-seed<seed>]."),
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
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


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
    run_dir = kw["run_dir"] or DEFAULT_RUNS / f"{kw['bench']}-{kw['model']}-seed{kw['seed']}"
    return RunConfig(
        suite=kw["bench"], model=kw["model"], run_dir=run_dir, seed=kw["seed"],
        options=_pairs(kw["options"], "--option"), generator_options=gen, scorer_options=scorer_opts,
        scorer_workers={k: str(v) for k, v in _pairs(kw["scorer_worker"], "--scorer-worker").items()},
        data_dir=kw["data_dir"], fallback_data={k: Path(str(v)) for k, v in _pairs(kw["fallback_data"], "--fallback-data").items()},
        limit=kw["limit"], categories=list(kw["category"]) or None, allow_missing=kw["allow_missing"],
        device=kw["device"], dtype=kw["dtype"],
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
    """Generate, score and tabulate one suite (resumes a killed run)."""
    from .pipeline import run

    cfg = _config(kw)
    if kw["dry_run"]:
        return _dry_run(cfg)
    summary = run(cfg)
    if summary is not None:
        _print_run_table(summary)


@main.command("generate")
@run_options
@_errors
def generate_cmd(**kw: Any) -> None:
    """Only generate the images (official layout + manifest)."""
    from .pipeline import run

    cfg = _config(kw)
    if kw["dry_run"]:
        return _dry_run(cfg)
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
@_errors
def score_cmd(run_dir: Path, **kw: Any) -> None:
    """Score the images of an existing run directory."""
    import shutil

    from .pipeline import score_run

    if kw["fresh"] and (run_dir / "records").exists():
        shutil.rmtree(run_dir / "records")
    summary = score_run(
        run_dir, scorer_options=_scorer_pairs(kw["scorer_option"]) | ({"*": {"model_id": "tiny"}} if kw["tiny_scorers"] else {}),
        scorer_workers={k: str(v) for k, v in _pairs(kw["scorer_worker"], "--scorer-worker").items()},
        data_dir=kw["data_dir"], fallback_data={k: Path(str(v)) for k, v in _pairs(kw["fallback_data"], "--fallback-data").items()},
        allow_missing=kw["allow_missing"], device=kw["device"], dtype=kw["dtype"])
    _print_run_table(summary)


@main.command("rescore")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path))
@click.option("--option", "-o", "options", multiple=True,
              help="Change a rule option KEY=VALUE (e.g. threshold=0.5, parser=strict, first_row_bug=false).")
@_errors
def rescore_cmd(run_dir: Path, data_dir: Path | None, options: tuple[str, ...]) -> None:
    """Recompute decisions and summary from stored raw outputs, loading no model."""
    from .pipeline import rescore

    _print_run_table(rescore(run_dir, data_dir, _pairs(options, "--option")))


def _print_run_table(summary: dict[str, Any]) -> None:
    from .report.tables import build_table, to_markdown
    from .suites.spec import load_suite

    suite = load_suite(summary["suite"])
    click.echo(to_markdown(build_table(suite, [summary]), suite.scale))
    if summary["n_failed"]:
        click.echo(f"{summary['n_failed']} of {summary['n_images']} images failed to score (scored as the protocol says); "
                   f"ids in {summary['run_dir']}/summary.json")


# ----------------------------------------------------------------------------- report / compare / check
@main.command("report")
@click.argument("runs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--runs-dir", type=click.Path(path_type=Path), default=DEFAULT_RUNS, show_default=True,
              help="Used when no RUNS are given: every run under it with a summary.")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_TABLES, show_default=True)
@click.option("--baseline", help="Row (model name) to compute deltas against, e.g. Janus-Pro-7B.")
@click.option("--no-references", is_flag=True, help="Only our runs.")
@_errors
def report_cmd(runs: tuple[Path, ...], runs_dir: Path, out: Path, baseline: str | None, no_references: bool) -> None:
    """Per-suite leaderboards (CSV + markdown) of runs beside published numbers."""
    from .report.tables import build_table, load_summary, write_table
    from .suites.spec import load_suite, suite_paths

    dirs = list(runs) or sorted(p.parent for p in Path(runs_dir).glob("*/summary.json"))
    summaries = [load_summary(d) for d in dirs]
    names = sorted({s["suite"] for s in summaries}) or list(suite_paths())
    for name in names:
        suite = load_suite(name)
        table = build_table(suite, [s for s in summaries if s["suite"] == name], references=not no_references, baseline=baseline)
        csv_path, md_path, md = write_table(table, out, name, suite.scale)
        click.echo(md)
        log.info("wrote %s and %s", csv_path, md_path)


@main.command("compare")
@click.argument("run_a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_errors
def compare_cmd(run_a: Path, run_b: Path) -> None:
    """Category-by-category difference of two runs of the same suite."""
    from .report.tables import compare, load_summary
    from .suites.spec import load_suite

    a, b = load_summary(run_a), load_summary(run_b)
    if a["suite"] != b["suite"]:
        raise click.ClickException(f"cannot compare a {a['suite']} run with a {b['suite']} run")
    if a["provenance"].get("options") != b["provenance"].get("options"):
        click.echo(f"warning: protocol options differ: {a['provenance'].get('options')} vs {b['provenance'].get('options')}", err=True)
    click.echo(compare(a, b, load_suite(a["suite"]).table_columns))


@main.command("check")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--baseline", type=click.Path(path_type=Path), help="Baseline JSON (results/baselines/...).")
@click.option("--tolerance", type=float, default=0.0, show_default=True, help="Allowed fall per category.")
@click.option("--write-baseline", type=click.Path(path_type=Path), help="Write this run's scores as a baseline and exit.")
@_errors
def check_cmd(run_dir: Path, baseline: Path | None, tolerance: float, write_baseline: Path | None) -> None:
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
    fallen = check(summary, load_baseline(baseline), tolerance)
    if fallen:
        click.echo(f"REGRESSION in {summary['suite']} ({run_dir}) against {baseline}:", err=True)
        for line in fallen:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo(f"OK: no category of {summary['suite']} fell by more than {tolerance} against {baseline}")


# ----------------------------------------------------------------------------- convert
CONVERTERS = {
    "janus": ("t2ir1_eval.generators.janus_convert", "convert_checkpoint",
              "DeepSeek-format Janus/T2I-R1 checkpoint -> transformers Janus format"),
    "geneval-mask2former": ("t2ir1_eval.scorers.geneval.convert_mmdet", "convert_checkpoint",
                            "GenEval's mmdet Mask2Former Swin-S checkpoint -> transformers Mask2Former"),
}


@main.command("convert")
@click.argument("kind", type=click.Choice(sorted(CONVERTERS)))
@click.argument("src")
@click.argument("dst", type=click.Path(path_type=Path))
@_errors
def convert_cmd(kind: str, src: str, dst: Path) -> None:
    """Write a transformers-format copy of a checkpoint (src: local path or hub id)."""
    import importlib

    module, fn, _ = CONVERTERS[kind]
    getattr(importlib.import_module(module), fn)(src, dst)
    click.echo(f"wrote {dst}")


if __name__ == "__main__":
    main()
