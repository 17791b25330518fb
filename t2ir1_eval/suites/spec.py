"""A benchmark suite: its YAML spec (data, layout, categories, options) plus its rules module."""

from __future__ import annotations

import importlib
import string
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ..errors import ConfigError, DataError
from ..io import sha256_file
from ..registry import did_you_mean
from ..types import PromptItem
from .data import DataResolver, FileSpec

def bundled_dir(checkout_folder: str, package: str) -> Path:
    """A checkout reads (and users edit) ``<checkout>/<folder>``; an installed wheel carries the same
    files as package data (setup.py maps them), found through importlib.resources."""
    root = Path(__file__).resolve().parents[2]
    if (root / "setup.cfg").is_file() and (root / checkout_folder).is_dir():
        return root / checkout_folder
    from importlib.resources import files

    # the data folders are namespace packages (no __init__.py); resolve them through the real package
    top, _, sub = package.partition(".")
    return Path(str(files(top).joinpath(*sub.split("."))))


BENCHMARKS_DIR = bundled_dir("benchmarks", "t2ir1_eval.suite_specs")
#: extra folders of suite YAML (``--include-path``), searched before the bundled suites
INCLUDE_PATHS: list[Path] = []


def add_include_path(path: Path) -> None:
    """Let users add their own suite YAML (as lm-eval's ``--include_path``)."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"--include-path {path}: expected a folder of suite YAML files, found no such folder")
    if not any(path.glob("*.yaml")):
        raise ConfigError(f"--include-path {path}: expected suite YAML files (*.yaml) in it, found none")
    if path not in INCLUDE_PATHS:
        INCLUDE_PATHS.insert(0, path)


@dataclass
class OptionSpec:
    name: str
    default: Any
    choices: list[Any] | None = None
    help: str = ""

    def coerce(self, raw: Any) -> Any:
        value = raw
        if isinstance(raw, str) and isinstance(self.default, bool):
            low = raw.strip().lower()
            if low not in {"true", "false", "1", "0", "yes", "no"}:
                raise ConfigError(f"option {self.name}: expected true or false, found {raw!r}")
            value = low in {"true", "1", "yes"}
        elif isinstance(raw, str) and isinstance(self.default, float):
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"option {self.name}: expected a number, found {raw!r}") from None
        elif isinstance(raw, str) and isinstance(self.default, int) and not isinstance(self.default, bool):
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"option {self.name}: expected an integer, found {raw!r}") from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"option {self.name}: expected one of {self.choices}, found {raw!r}")
        return value


@dataclass
class Suite:
    name: str
    title: str
    module_name: str
    protocol_version: str
    data_version: str
    files: dict[str, FileSpec]
    images_per_prompt: int
    layout: str
    categories: dict[str, dict[str, Any]]
    options_spec: dict[str, OptionSpec]
    reference_benchmark: str
    scale: str
    table_columns: list[str]
    expected_prompts: int | None = None
    grid: tuple[int, int] | None = None
    prompt_files: dict[str, str] | None = None
    yaml_path: Path | None = None
    #: column -> {"mean_of": [columns], "help": ...}: computed by the tool, never stored by hand
    derived: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_yaml(cls, path: Path) -> "Suite":
        try:
            d = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        required = ["name", "title", "module", "protocol_version", "data", "images_per_prompt", "layout", "categories"]
        missing = [k for k in required if k not in d]
        if missing:
            raise ConfigError(f"{path}: suite spec lacks {missing}; expected keys {required}")
        data = d["data"]
        return cls(
            name=d["name"],
            title=d["title"],
            module_name=d["module"],
            protocol_version=d["protocol_version"],
            data_version=str(data.get("version", "")),
            files={k: FileSpec.from_yaml(k, v) for k, v in (data.get("files") or {}).items()},
            images_per_prompt=int(d["images_per_prompt"]),
            layout=d["layout"],
            categories=d["categories"],
            options_spec={k: OptionSpec(k, v.get("default"), v.get("choices"), v.get("help", ""))
                          for k, v in (d.get("options") or {}).items()},
            reference_benchmark=d.get("reference_benchmark", d["title"]),
            scale=d.get("scale", "0-1"),
            table_columns=list(d.get("table_columns") or []),
            expected_prompts=d.get("expected_prompts"),
            grid=tuple(d["grid"]) if d.get("grid") else None,
            prompt_files=data.get("prompt_files"),
            yaml_path=Path(path),
            derived=dict(d.get("derived") or {}),
            raw=d,
        )

    # ----------------------------------------------------------------- modules
    @cached_property
    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)

    @property
    def rules(self) -> ModuleType:
        """The rules module (decide + aggregate) the suite module imports by name as ``rules``."""
        rules = getattr(self.module, "rules", None)
        if not isinstance(rules, ModuleType):
            raise ConfigError(f"suite {self.name}: module {self.module_name} names no rules module; expected "
                              f"`from ..rules import <suite> as rules` in it")
        return rules

    # ----------------------------------------------------------------- options
    def resolve_options(self, given: dict[str, Any] | None) -> dict[str, Any]:
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.options_spec))
        if unknown:
            known = ", ".join(f"{k} (default {v.default!r})" for k, v in self.options_spec.items()) or "none"
            raise ConfigError(f"suite {self.name} has no option {unknown}; its options: {known}")
        return {k: spec.coerce(given[k]) if k in given else spec.default for k, spec in self.options_spec.items()}

    # ----------------------------------------------------------------- data
    def data_file(self, resolver: DataResolver, key: str, overrides: dict[str, Path] | None = None) -> Path:
        if overrides and key in overrides:
            return Path(overrides[key])
        if key not in self.files:
            raise ConfigError(f"suite {self.name} declares no data file {key!r}; declared: {sorted(self.files)}")
        return resolver.resolve(self.files[key])

    def load_items(self, resolver: DataResolver, options: dict[str, Any]) -> list[PromptItem]:
        items = self.module.load_items(self, resolver, options)
        ids = [it.prompt_id for it in items]
        if len(set(ids)) != len(ids):
            raise DataError(f"suite {self.name}: duplicate prompt ids in the data")
        for it in items:
            if it.category not in self.categories:
                raise DataError(f"suite {self.name}: prompt {it.prompt_id} has category {it.category!r}; "
                                f"expected one of {sorted(self.categories)}")
        return items

    def data_provenance(self, resolver: DataResolver, options: dict[str, Any]) -> dict[str, Any]:
        used = self.module.data_keys(self, options) if hasattr(self.module, "data_keys") else list(self.files)
        return {
            "version": self.data_version,
            "files": {k: {"path": self.files[k].path, "checksum": self.files[k].checksum(),
                          "origin": resolver.origins.get(k, "")} for k in used if k in self.files},
            "suite_yaml_sha256": sha256_file(self.yaml_path) if self.yaml_path else None,
        }

    # ----------------------------------------------------------------- layout
    @property
    def samples_per_file(self) -> int:
        return self.grid[0] * self.grid[1] if self.grid else 1

    @property
    def files_per_prompt(self) -> int:
        return self.images_per_prompt // self.samples_per_file

    def relpath(self, item: PromptItem, file_index: int) -> str:
        """The image's path inside ``<run>/images`` in the benchmark's official layout.

        Refuses any field that would leave its folder (``/``, ``..``, NUL), so a prompt can
        never make a file name escape the run directory.
        """
        fields = {"prompt_id": item.prompt_id, "prompt": item.prompt, "category": item.category, "index": file_index}
        if hasattr(self.module, "layout_fields"):
            fields.update(self.module.layout_fields(item, file_index))
        used = {f for _, f, _, _ in string.Formatter().parse(self.layout) if f}
        for name in used:
            value = str(fields[name])
            if name == "prompt_id":
                parts = value.split("/")  # prompt ids may name a sub-folder (T2I-CompBench's category)
            else:
                parts = [value]
            for part in parts:
                if not part or part in {".", ".."} or "/" in part or "\\" in part or "\0" in part:
                    raise DataError(
                        f"suite {self.name}: {name} {value!r} of prompt {item.prompt_id} cannot be part of a file name "
                        f"(expected no '/', '\\', NUL and not '.' or '..'): it would escape the run directory"
                    )
        rel = self.layout.format(**fields)
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise DataError(f"suite {self.name}: image path {rel!r} for prompt {item.prompt_id} escapes the run directory")
        return rel

    # ----------------------------------------------------------------- rules
    def decide(self, item: PromptItem, raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        decision = self.rules.decide(item, raw, options)
        decision.setdefault("failed", "error" in raw)
        return decision

    def aggregate(self, rows: list[dict[str, Any]], options: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
        """(table column (display name) -> value, by the benchmark's own averaging; everything else the rules report)."""
        result = self.rules.aggregate(rows, options)
        shown = self.display_scores(result)
        columns = set(self.table_columns) | {c.get("display", k) for k, c in self.categories.items()}
        scores = {k: float(v) for k, v in shown.items() if k in columns and isinstance(v, (int, float)) and not isinstance(v, bool)}
        extra = {k: v for k, v in shown.items() if k not in scores}
        return scores, extra

    def display_scores(self, scores: dict[str, float]) -> dict[str, float]:
        by_lower = {c.lower(): c for c in self.table_columns}
        out: dict[str, float] = {}
        for key, value in scores.items():
            if key in self.categories:
                out[self.categories[key].get("display", key)] = value
            elif key.lower() in by_lower:
                out[by_lower[key.lower()]] = value
            else:
                out[key] = value
        return out

    def category_display(self, category: str) -> str:
        return self.categories.get(category, {}).get("display", category)


# --------------------------------------------------------------------- registry
def suite_paths() -> dict[str, Path]:
    paths = {p.stem: p for p in sorted(BENCHMARKS_DIR.glob("*.yaml"))}
    for folder in reversed(INCLUDE_PATHS):  # user folders override a bundled suite of the same name
        paths.update({p.stem: p for p in sorted(folder.glob("*.yaml"))})
    if not paths:
        raise ConfigError(f"no suite YAML found in {BENCHMARKS_DIR}: the installation is incomplete "
                          f"(reinstall t2ir1-eval, or pass --include-path DIR)")
    return paths


def load_suite(name: str) -> Suite:
    paths = suite_paths()
    aliases = {"compbench": "t2i-compbench", "t2i_compbench": "t2i-compbench", "dpg": "dpg-bench", "dpg_bench": "dpg-bench"}
    key = aliases.get(name, name)
    if key not in paths:
        hint = did_you_mean(name, list(paths) + list(aliases), aliases)
        raise ConfigError(f"unknown suite {name!r}.{hint} Known suites: {', '.join(paths)}")
    return Suite.from_yaml(paths[key])
