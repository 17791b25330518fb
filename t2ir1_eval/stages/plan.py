"""Plan: what a run is (suite, options, selected prompts, model preset, data files), how its
work is cut into fixed batches and dealt to ranks, and the identity a run dir is claimed with.

Loads no model: the generator is passed in where its identity or batch size is needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import distributed
from ..errors import ConfigError, DataError
from ..generators import ModelPreset, resolve_model
from ..generators.base import Generator
from ..provenance import environment
from ..store import RunStore
from ..suites.data import DataResolver
from ..suites.spec import Suite, load_suite
from ..types import PromptItem

log = logging.getLogger(__name__)


@dataclass
class RunConfig:
    suite: str
    model: str
    run_dir: Path
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    generator_options: dict[str, Any] = field(default_factory=dict)
    #: scorer name (or "*" for every scorer) -> keyword options
    scorer_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: scorer name -> python interpreter of the environment that runs it as a worker
    scorer_workers: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    #: data key -> local file used only when the pinned file cannot be found (marks the run a smoke run)
    fallback_data: dict[str, Path] = field(default_factory=dict)
    limit: int | None = None
    categories: list[str] | None = None
    allow_missing: bool = False
    device: str = "auto"
    dtype: str = "auto"
    #: the model's name in tables (--name; required for --model folder)
    name: str | None = None


def chunk_by_category(jobs: list, size: int) -> list[list]:
    """Cut jobs (tuples whose first element is a PromptItem) into batches of ``size`` within
    each category, categories in order of first appearance: a ``--limit`` run's batches are
    then a prefix of the full run's."""
    by_cat: dict[str, list] = {}
    for j in jobs:
        by_cat.setdefault(j[0].category, []).append(j)
    return [js[i : i + size] for js in by_cat.values() for i in range(0, len(js), size)]


def select_items(suite: Suite, items: list[PromptItem], categories: list[str] | None,
                 limit: int | None) -> list[PromptItem]:
    """``--categories`` then ``--limit`` (first N prompts of every category)."""
    if categories:
        # keys (color_attr) or the names tables show (Color Attribution), any case
        names = {k.lower(): k for k in suite.categories}
        names.update({str(c.get("display", k)).lower(): k for k, c in suite.categories.items()})
        unknown = sorted(c for c in categories if c.lower() not in names)
        if unknown:
            shown = ", ".join(f"{k} ({c.get('display', k)})" for k, c in suite.categories.items())
            raise ConfigError(f"suite {suite.name} has no categories {unknown}; it has {shown}")
        wanted = {names[c.lower()] for c in categories}
        items = [it for it in items if it.category in wanted]
    if limit is not None:
        # First N prompts of every category, so a smoke run still fills every column.
        seen: dict[str, int] = {}
        kept = []
        for it in items:
            if seen.get(it.category, 0) < limit:
                kept.append(it)
                seen[it.category] = seen.get(it.category, 0) + 1
        items = kept
    return items


class Plan:
    """One run's resolved inputs: ``cfg`` + the suite, its options, the selected prompts, the
    model preset; and how the work is cut for this rank."""

    def __init__(self, cfg: RunConfig, dist: distributed.DistInfo | None = None) -> None:
        self.cfg = cfg
        self.dist = dist or distributed.dist_info()
        self.suite: Suite = load_suite(cfg.suite)
        self.options = self.suite.resolve_options(cfg.options)
        self.resolver = DataResolver(cfg.data_dir)
        self.fallbacks_used: dict[str, str] = {}
        self.items = select_items(self.suite, self.suite.load_items(self.resolver, self.options), cfg.categories, cfg.limit)
        self.preset: ModelPreset = resolve_model(cfg.model)

    # ------------------------------------------------------------------------ data
    def data_file(self, key: str) -> Path:
        try:
            return self.suite.data_file(self.resolver, key)
        except DataError:
            if key not in self.cfg.fallback_data:
                raise
            path = Path(self.cfg.fallback_data[key])
            log.warning("pinned data file %r unavailable; using the fallback %s (unverified: a smoke run, "
                        "not comparable to published numbers)", key, path)
            self.fallbacks_used[key] = str(path)
            return path

    def has_data(self, key: str) -> bool:
        try:
            self.data_file(key)
            return True
        except DataError:
            return False

    # ------------------------------------------------------------------------ work
    def file_jobs(self) -> list[tuple[PromptItem, int, str]]:
        """(prompt, file index, path in the layout) for every image file of the selection."""
        return [(it, f, self.suite.relpath(it, f)) for it in self.items for f in range(self.suite.files_per_prompt)]

    def my_chunks(self, jobs: list, size: int) -> list[list]:
        """Fixed batches, the same whatever the shard or resume point, dealt round-robin to ranks.

        Batched float arithmetic can differ with a batch's composition (padding, GEMM blocking),
        so an image is made bit-identical across shards and resumes by never changing the batch
        it is made in: batches are cut per category in suite order, before sharding.
        """
        return distributed.shard(chunk_by_category(jobs, size), self.dist)

    def device(self) -> str:
        if self.cfg.device != "auto":
            return self.cfg.device
        try:
            import torch

            return f"cuda:{self.dist.local_rank}" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"

    # ------------------------------------------------------------------------ identity
    def identity(self, generator: Generator) -> dict[str, Any]:
        """What must match for a run directory to be resumed (device, --limit and scorer options may change)."""
        return {
            "suite": self.suite.name,
            "protocol_version": self.suite.protocol_version,
            "data_version": self.suite.data_version,
            "data_files": {k: self.suite.files[k].checksum() for k in self.suite.module.data_keys(self.suite, self.options)
                           if k in self.suite.files},
            "options": self.options,
            "model": self.cfg.model,
            "generator": generator.identity(),
            "seed": self.cfg.seed,
            # batches are fixed (see my_chunks), so the batch size is part of what made each image
            "batch_size": None if self.preset.generator == "folder" else generator.batch_size,
            "images_per_prompt": self.suite.images_per_prompt,
            "layout": self.suite.layout,
        }

    def claim(self, store: RunStore, generator: Generator) -> None:
        """Bind the run dir to this identity (refused when it holds another run), record the environment."""
        store.claim({
            "identity": self.identity(generator),
            "suite": self.suite.name,
            "model": self.cfg.model,
            "model_display": self.cfg.name or self.preset.display or self.cfg.model,
            "options": self.options,
            "seed": self.cfg.seed,
            "data_dir": str(self.cfg.data_dir) if self.cfg.data_dir else None,
            "fallback_data": {k: str(v) for k, v in self.cfg.fallback_data.items()},
        })
        if self.dist.is_main:
            store.write_provenance(environment())

    def extra_provenance(self, generator: Generator) -> dict[str, Any]:
        """What the summary records beside the config: data files used, fallbacks, generator, seed."""
        return {"data": self.suite.data_provenance(self.resolver, self.options), "fallbacks_used": self.fallbacks_used,
                "generator": generator.describe(), "seed": self.cfg.seed}
