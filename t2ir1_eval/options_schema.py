"""Typed, ranged option specs and the checks every option passes before any work starts.

Three kinds of options reach the tool: suite protocol options (``--option``, declared with a
type and range in ``benchmarks/*.yaml``), generator knobs (``--gen-option``) and scorer options
(``--scorer-option [SCORER.]KEY=VALUE``). A misspelt name or a value of the wrong type used to be
ignored, or to fail deep inside a batch after the run directory was claimed (or, worse, to send
images to a default endpoint). Here each option has a spec (type, range or choices) and
:func:`validate_run_options` refuses anything unknown or out of range with a did-you-mean,
before the run directory is claimed or any model is loaded.

Scorer and generator specs come from the constructor signatures (names, and the type from each
annotation) plus the ranges in :data:`RANGES`; keyword catch-alls (``**knobs``) are expanded
from what the class really accepts (Janus recipe fields, FLUX knobs, GenEval's official options).
"""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import ConfigError
from .registry import did_you_mean

TYPES = ("float", "int", "bool", "str", "list", "dict", "json")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


@dataclass(frozen=True)
class OptSpec:
    """One option: its type, and a closed range [min, max] or a list of choices."""

    type: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ConfigError(f"option type: expected one of {TYPES}, found {self.type!r}")

    def describe(self) -> str:
        if self.type == "bool":
            return "true or false"
        if self.choices is not None:
            return "one of " + "|".join(map(str, self.choices))
        if self.type in ("int", "float") and (self.min is not None or self.max is not None):
            lo = "-inf" if self.min is None else f"{self.min:g}"
            hi = "inf" if self.max is None else f"{self.max:g}"
            return f"{'an integer' if self.type == 'int' else 'a finite number'} in [{lo}, {hi}]"
        return {"float": "a finite number", "int": "an integer", "bool": "true or false", "str": "a string",
                "list": "a JSON list", "dict": "a JSON object", "json": "a JSON value"}[self.type]

    def coerce(self, where: str, raw: Any) -> Any:
        """The typed value, or ConfigError saying what was expected and found."""
        bad = ConfigError(f"{where}: expected {self.describe()}, found {raw!r}")
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("none", "null") and self.type != "str"):
            if self.nullable:
                return None
            raise bad
        value: Any
        if self.type == "bool":
            if isinstance(raw, bool):
                value = raw
            elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
                value = raw.strip().lower() in _TRUE
            else:
                raise bad
        elif self.type == "int":
            if isinstance(raw, bool):
                raise bad
            if isinstance(raw, int):
                value = raw
            elif isinstance(raw, str):
                try:
                    value = int(raw.strip())
                except ValueError:
                    raise bad from None
            else:
                raise bad  # 2.5 is not an integer, and a silently truncated 2 would change the table
        elif self.type == "float":
            if isinstance(raw, bool):
                raise bad
            if isinstance(raw, (int, float)):
                value = float(raw)
            elif isinstance(raw, str):
                try:
                    value = float(raw.strip())
                except ValueError:
                    raise bad from None
            else:
                raise bad
            if not math.isfinite(value):
                raise bad
        elif self.type == "str":
            if isinstance(raw, str):
                value = raw
            elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
                value = str(raw)
            else:
                raise bad
        else:  # list / dict / json
            value = raw
            if isinstance(raw, str):
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError:
                    if self.type != "json":
                        raise bad from None
            if self.type == "list" and not isinstance(value, (list, tuple)):
                raise bad
            if self.type == "dict" and not isinstance(value, dict):
                raise bad
        if self.choices is not None and value not in self.choices:
            raise bad
        if self.type in ("int", "float"):
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise bad
        return value


def spec_from_yaml(owner: str, name: str, d: dict[str, Any]) -> OptSpec:
    """A suite option as declared in its YAML (``type`` is required; ``min``/``max`` or ``choices``)."""
    if "type" not in d:
        raise ConfigError(f"{owner}: option {name!r} declares no type; expected type: one of {TYPES}")
    choices = tuple(d["choices"]) if d.get("choices") is not None else None
    spec = OptSpec(d["type"], d.get("min"), d.get("max"), choices, bool(d.get("nullable", False)))
    if spec.type in ("int", "float") and choices is None and (spec.min is None or spec.max is None):
        raise ConfigError(f"{owner}: numeric option {name!r} needs min and max (or choices)")
    return spec


def check_options(where: str, given: dict[str, Any], specs: dict[str, OptSpec]) -> dict[str, Any]:
    """Typed copies of ``given``; unknown keys are refused with a did-you-mean and the list of known ones."""
    out = {}
    for key, raw in given.items():
        if key not in specs:
            raise ConfigError(f"{where}: unknown option {key!r}.{did_you_mean(key, specs)} "
                              f"Known options: {', '.join(sorted(specs)) or 'none'}")
        out[key] = specs[key].coerce(f"{where} option {key}", raw)
    return out


# ------------------------------------------------------------------------------ ranges
#: ranges (and choices) by option name, shared by generators and scorers; a numeric option
#: without an entry gets [0, 1e9] (every count, size and time here is non-negative)
RANGES: dict[str, dict[str, Any]] = {
    "batch_size": {"min": 1, "max": 65536},
    "concurrency": {"min": 1, "max": 1024},
    "timeout": {"min": 0.001, "max": 86400},
    "max_retries": {"min": 1, "max": 100},
    "max_rate_limit_waits": {"min": 0, "max": 10000},
    "backoff_base": {"min": 0, "max": 3600},
    "max_backoff": {"min": 0, "max": 86400},
    "max_retry_after": {"min": 0, "max": 86400},
    "max_new_tokens": {"min": 1, "max": 65536},
    "cfg_weight": {"min": 0, "max": 100},
    "guidance_scale": {"min": 0, "max": 100},
    "image_temperature": {"min": 0, "max": 100},
    "cot_temperature": {"min": 0, "max": 100},
    "image_top_p": {"min": 0, "max": 1},
    "cot_top_p": {"min": 0, "max": 1},
    "threshold": {"min": 0, "max": 1},
    "counting_threshold": {"min": 0, "max": 1},
    "max_overlap": {"min": 0, "max": 1},
    "nms_threshold": {"min": 0, "max": 1},
    "position_threshold": {"min": 0, "max": 1},
    "confidence_threshold": {"min": 0, "max": 1},
    "colour_min_score": {"min": 0, "max": 1},
    "seed": {"min": 0, "max": 2**63 - 1},
    "tiny_seed": {"min": 0, "max": 2**63 - 1},
    "tiny_yes_no_bias": {"min": -1000, "max": 1000},
    "cache": {"choices": ("static", "dynamic")},
    "tie_order": {"choices": ("official", "stable")},
    "backend": {},
}
DEFAULT_RANGE = {"min": 0, "max": 1e9}


def spec_from_annotation(name: str, annotation: Any, default: Any) -> OptSpec:
    """The spec of a constructor parameter from its (string) annotation and default."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if annotation is inspect.Parameter.empty:
        text = type(default).__name__ if default is not None and default is not inspect.Parameter.empty else "json"
    parts = {p.strip().split("[")[0] for p in text.split("|")}
    nullable = "None" in parts or default is None
    parts.discard("None")
    if parts <= {"bool"}:
        kind = "bool"
    elif parts <= {"int"}:
        kind = "int"
    elif parts <= {"float", "int"}:
        kind = "float"
    elif parts <= {"str"}:
        kind = "str"
    elif parts <= {"dict", "Mapping"}:
        kind = "dict"
    elif parts <= {"list", "tuple", "Sequence"}:
        kind = "list"
    else:
        kind = "json"  # unions such as ``str | int | bool``: the class checks the value itself
    extra = dict(RANGES.get(name, DEFAULT_RANGE if kind in ("int", "float") else {}))
    if kind in ("int", "float"):
        extra = {"min": DEFAULT_RANGE["min"], "max": DEFAULT_RANGE["max"], **extra}
    choices = extra.pop("choices", None) if kind == "str" else None  # e.g. Janus' cache knob vs the judge's bool
    extra.pop("choices", None)
    return OptSpec(kind, extra.get("min"), extra.get("max"), tuple(choices) if choices else None, nullable)


def specs_from_signature(fn: Any, skip: Iterable[str] = ("self", "context")) -> tuple[dict[str, OptSpec], bool]:
    """(name -> spec, whether ``fn`` also takes ``**kwargs``)."""
    sig = inspect.signature(fn)
    specs, var_kw = {}, False
    for p in sig.parameters.values():
        if p.name in skip or p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
            continue
        specs[p.name] = spec_from_annotation(p.name, p.annotation, p.default)
    return specs, var_kw


# ------------------------------------------------------------------------------ generators
def generator_specs(generator: str) -> dict[str, OptSpec]:
    """Every knob ``--gen-option`` may set for a generator (device/dtype come from their own flags)."""
    from .generators import GENERATORS

    cls = GENERATORS.load(generator)
    specs, _ = specs_from_signature(cls.__init__)
    if generator == "janus":
        from .generators.janus_recipes import JanusRecipe

        hints = {f.name: f for f in JanusRecipe.__dataclass_fields__.values()}
        for name, f in hints.items():
            if name in ("name", "description", "notes") or name in specs:
                continue
            specs[name] = spec_from_annotation(name, f.type, f.default)
        specs["cache"] = spec_from_annotation("cache", "str", "static")
        # the decode loop's knobs (generators/janus.py, janus_static.py)
        specs["loop"] = OptSpec("str", choices=("static", "eager"))
        specs["compile"] = OptSpec("str", choices=("auto", "none", "graphs", "inductor"))
        specs["cfg_dtype"] = OptSpec("str", choices=("model", "float32"))
        specs["decode_chunk"] = OptSpec("int", 1, 4096)
        specs["tiny_seed"] = spec_from_annotation("tiny_seed", "int", 0)
    elif generator == "flux":
        from .generators.flux import KNOBS

        for name in KNOBS:
            specs[name] = spec_from_annotation(name, "float" if name == "guidance_scale" else "int", None)
        specs["tiny_seed"] = spec_from_annotation("tiny_seed", "int", 0)
    elif generator == "folder":
        specs.pop("_", None)
    return specs


# ------------------------------------------------------------------------------ scorers
def scorer_specs(name: str) -> dict[str, OptSpec]:
    """Every option ``--scorer-option NAME.KEY`` may set for one scorer."""
    from .scorers import SCORERS

    cls = SCORERS.load(name)
    specs, var_kw = specs_from_signature(cls.__init__, skip=("self", "context", "python", "target", "data_keys"))
    if not var_kw:
        return specs
    if name == "geneval":
        from .rules import geneval as rules

        for key, default in rules.DEFAULT_OPTIONS.items():
            specs.setdefault(key, spec_from_annotation(key, type(default).__name__, default))
        for alias, key in rules.ALIASES.items():
            specs.setdefault(alias, specs[key])
        for key in ("model", "clip_model", "bgcolor"):
            specs.setdefault(key, spec_from_annotation(key, "str", None))
        specs.setdefault("crop", spec_from_annotation("crop", "json", "1"))
    elif name == "dpg-vqa":
        from .scorers.dpg.mplug import MplugVqa
        from .scorers.dpg.vqa_hf import HfBlipVqa

        for backend in (HfBlipVqa, MplugVqa):
            more, _ = specs_from_signature(backend.__init__, skip=("self", "model_id", "device", "dtype"))
            for key, spec in more.items():
                specs.setdefault(key, spec)
        specs.setdefault("dtype", spec_from_annotation("dtype", "str", "float32"))
    elif name == "unidet-3d":
        from .scorers.compbench.unidet import CompBenchDetectionScorer

        more, _ = specs_from_signature(CompBenchDetectionScorer.__init__)
        for key, spec in more.items():
            specs.setdefault(key, spec)
    return specs


def validate_scorer_options(scorer_options: dict[str, dict[str, Any]], used: Iterable[str],
                            workers: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Typed scorer options, or ConfigError: an unknown scorer name, key or value stops the run here.

    ``"*"`` options go to every scorer of the suite that has that option (so ``--tiny-scorers``'s
    ``model_id=tiny`` reaches each one that loads a model); one that no scorer has is refused.
    """
    from .scorers import SCORERS

    used = sorted(set(used))
    workers = set(workers)
    out: dict[str, dict[str, Any]] = {}
    specs: dict[str, dict[str, OptSpec]] = {}
    for name in used:
        specs[name] = dict(scorer_specs(name))
        if name in workers:
            specs[name].update({"env": OptSpec("dict", nullable=True)})
    for name, opts in scorer_options.items():
        if name == "*":
            continue
        if name not in used:
            hint = did_you_mean(name, used) or did_you_mean(name, SCORERS.names())
            raise ConfigError(
                f"--scorer-option {name}.…: this suite has no scorer {name!r}.{hint} "
                f"Its scorers: {', '.join(used)} (a misspelt name would silently leave the option unused)")
        out[name] = check_options(f"--scorer-option {name}", opts, specs[name])
    star = scorer_options.get("*", {})
    for key, raw in star.items():
        takers = [n for n in used if key in specs[n]]
        if not takers:
            every = sorted({k for s in specs.values() for k in s})
            raise ConfigError(f"--scorer-option {key}: no scorer of this suite ({', '.join(used)}) has option "
                              f"{key!r}.{did_you_mean(key, every)} Known options: {', '.join(every)}")
        for n in takers:
            value = specs[n][key].coerce(f"--scorer-option {key} (for {n})", raw)
            out.setdefault(n, {}).setdefault(key, value)
    return out


def validate_run_config(cfg: Any, suite: Any, generator: str) -> Any:
    """A copy of a RunConfig with typed generator and scorer options; ConfigError on anything unknown.

    Runs before the run directory is claimed and before any model is built.
    """
    from dataclasses import replace

    used = {c["scorer"] for c in suite.categories.values()}
    unknown_workers = sorted(set(cfg.scorer_workers) - used)
    if unknown_workers:
        raise ConfigError(f"--scorer-worker {unknown_workers[0]}=...: this suite has no scorer {unknown_workers[0]!r}."
                          f"{did_you_mean(unknown_workers[0], used)} Its scorers: {', '.join(sorted(used))}")
    gen_specs = generator_specs(generator)
    gen_opts = check_options(f"--gen-option ({generator} generator)", cfg.generator_options, gen_specs)
    scorer_opts = validate_scorer_options(cfg.scorer_options, used, cfg.scorer_workers)
    return replace(cfg, generator_options=gen_opts, scorer_options=scorer_opts)
