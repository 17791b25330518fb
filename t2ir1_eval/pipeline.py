"""prompts -> images -> raw scores -> decisions -> summary, every stage resumable from disk.

The stages live in ``t2ir1_eval.stages`` (plan, generate, score, finalise); this module strings
them together for the commands (``run``, ``score_run``, ``rescore``) and keeps ``Run``, a thin
handle on one run (its plan, its store, its generator) with the stages as methods.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from . import distributed
from .errors import ConfigError
from .generators.base import Generator
from .scorers import SCORERS
from .scorers.base import Scorer
from .stages import generate as gen_stage
from .stages import score as score_stage
from .stages.finalise import finalize
from .stages.generate import RecordedGenerator, build_generator
from .stages.plan import Plan, RunConfig, chunk_by_category
from .store import RunStore
from .suites.data import DataResolver
from .suites.spec import load_suite
from .types import PromptItem

__all__ = ["Run", "RunConfig", "RecordedGenerator", "chunk_by_category", "finalize", "rescore", "run", "score_run"]


class Run:
    """One evaluation run bound to its directory: its ``plan``, its ``store`` and (built on
    first use) its generator; the methods are the stages applied to them."""

    def __init__(self, cfg: RunConfig, dist: distributed.DistInfo | None = None) -> None:
        self.plan = Plan(cfg, dist)
        self.store = RunStore(cfg.run_dir, rank=self.plan.dist.rank)
        self._generator: Generator | None = None

    # the plan's fields, under the names callers know
    cfg = property(lambda self: self.plan.cfg)
    dist = property(lambda self: self.plan.dist)
    suite = property(lambda self: self.plan.suite)
    options = property(lambda self: self.plan.options)
    resolver = property(lambda self: self.plan.resolver)
    fallbacks_used = property(lambda self: self.plan.fallbacks_used)
    preset = property(lambda self: self.plan.preset)

    @property
    def items(self) -> list[PromptItem]:
        return self.plan.items

    @items.setter
    def items(self, items: list[PromptItem]) -> None:
        self.plan.items = items

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = build_generator(self.plan)
        return self._generator

    # ------------------------------------------------------------------------ plan
    def data_file(self, key: str) -> Path:
        return self.plan.data_file(key)

    def identity(self) -> dict[str, Any]:
        return self.plan.identity(self.generator)

    def claim(self) -> None:
        self.plan.claim(self.store, self.generator)

    def all_file_jobs(self) -> list[tuple[PromptItem, int, str]]:
        return self.plan.file_jobs()

    def my_chunks(self, jobs: list, size: int) -> list[list]:
        return self.plan.my_chunks(jobs, size)

    # ------------------------------------------------------------------------ generate
    def dry_run(self, n: int = 3) -> list[dict[str, Any]]:
        return gen_stage.dry_run(self.plan, self.generator, n)

    def files_per_chunk(self) -> int:
        return gen_stage.files_per_chunk(self.suite, self.generator)

    def generate(self) -> dict[str, int]:
        return gen_stage.generate(self.plan, self.store, self.generator)

    def expected_file_size(self) -> tuple[int, int] | None:
        return gen_stage.expected_file_size(self.plan, self.generator)

    # ------------------------------------------------------------------------ score
    def scorer_for(self, category: str) -> str:
        return score_stage.scorer_for(self.plan, category)

    def scorer_options(self, name: str) -> dict[str, Any]:
        return score_stage.scorer_options(self.plan, name)

    def build_scorer(self, name: str) -> Scorer:
        return score_stage.build_scorer(self.plan, self.store, name)

    def scorer_batch_size(self, name: str) -> int:
        return score_stage.scorer_batch_size(self.plan, name)

    def score(self) -> dict[str, int]:
        return score_stage.score(self.plan, self.store, self.generator)

    # ------------------------------------------------------------------------ finalise
    def finalize(self) -> dict[str, Any]:
        return finalize(self.cfg.run_dir, self.suite, self.items, self.options, self.plan.extra_provenance(self.generator))


# ---------------------------------------------------------------------------- commands
def score_run(run_dir: Path, scorer_options: dict[str, dict[str, Any]] | None = None,
              scorer_workers: dict[str, str] | None = None, data_dir: Path | None = None,
              fallback_data: dict[str, Path] | None = None, allow_missing: bool = False,
              device: str = "auto", dtype: str = "auto") -> dict[str, Any]:
    """Score (or finish scoring) the images of an existing run directory with its own config."""
    saved = RunStore(run_dir).config()
    cfg = RunConfig(suite=saved["suite"], model=saved["model"], run_dir=Path(run_dir), seed=saved["seed"],
                    options=saved["options"], scorer_options=scorer_options or {}, scorer_workers=scorer_workers or {},
                    data_dir=data_dir or (Path(saved["data_dir"]) if saved.get("data_dir") else None),
                    fallback_data=fallback_data or {k: Path(v) for k, v in saved.get("fallback_data", {}).items()},
                    allow_missing=allow_missing, device=device, dtype=dtype)
    r = Run(cfg)
    r._generator = RecordedGenerator(saved["identity"]["generator"], saved["identity"].get("batch_size"))
    generated = {row["prompt_id"] for row in r.store.manifest() if "error" not in row}
    r.items = [it for it in r.items if it.prompt_id in generated]
    r.score()
    return r.finalize()


def check_scorer_names(scorer_options: dict[str, dict[str, Any]]) -> None:
    """A mistyped --scorer-option scorer name fails now, not after hours of generation."""
    for name in scorer_options:
        if name != "*":
            SCORERS.target(name)  # raises ConfigError with a did-you-mean


def run(cfg: RunConfig, generate: bool = True, score: bool = True) -> dict[str, Any] | None:
    dist = distributed.dist_info()
    distributed.init(dist)
    try:
        r = Run(cfg, dist)
        check_scorer_names(cfg.scorer_options)  # before any model loads or image is made
        r.claim()
        if generate:
            r.generate()
        distributed.barrier(dist)
        if r._generator is not None:
            r._generator.close()
        if score:
            r.score()
        distributed.barrier(dist)
        if dist.is_main and score:
            return r.finalize()
        return None
    finally:
        distributed.finish(dist)


def rescore(run_dir: Path, data_dir: Path | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Recompute decisions and summary from stored records; loads no model."""
    store = RunStore(run_dir)
    cfg = store.config()
    suite = load_suite(cfg["suite"])
    opts = copy.deepcopy(cfg["options"])
    opts.update(suite.resolve_options({**opts, **(options or {})}))
    resolver = DataResolver(data_dir or (Path(cfg["data_dir"]) if cfg.get("data_dir") else None))
    items = suite.load_items(resolver, opts)
    manifest_ids = {row["prompt_id"] for row in store.manifest()}
    items = [it for it in items if it.prompt_id in manifest_ids]
    if not items:
        raise ConfigError(f"{run_dir}: no generated images are listed in the manifest; nothing to rescore")
    old = store.summary()
    extra = {k: v for k, v in old.get("provenance", {}).items() if k in ("data", "generator", "seed", "fallbacks_used")}
    extra["rescored"] = True
    return finalize(run_dir, suite, items, opts, extra)
