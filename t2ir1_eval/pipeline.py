"""prompts -> images -> raw scores -> decisions -> summary, every stage resumable from disk."""

from __future__ import annotations

import copy
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from . import distributed
from .context import ScorerContext
from .errors import ConfigError, DataError, ImageError
from .generators import GENERATORS, resolve_model
from .generators.base import Generator
from .images import check_image, make_grid
from .io import atomic_write_json, atomic_write_text, dumps, read_json
from .provenance import environment
from .scorers import SCORERS
from .scorers.base import Scorer
from .seeding import derive_seed
from .store import RunStore
from .suites.data import DataResolver, default_cache_dir
from .suites.spec import Suite, load_suite
from .types import GenRequest, PromptItem, Sample
from .writer import BackgroundWriter

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


def chunk_by_category(jobs: list, size: int) -> list[list]:
    """Cut jobs (tuples whose first element is a PromptItem) into batches of ``size`` within
    each category, categories in order of first appearance: a ``--limit`` run's batches are
    then a prefix of the full run's."""
    by_cat: dict[str, list] = {}
    for j in jobs:
        by_cat.setdefault(j[0].category, []).append(j)
    return [js[i : i + size] for js in by_cat.values() for i in range(0, len(js), size)]


# ---------------------------------------------------------------------------- setup
class Run:
    """One evaluation run bound to its directory."""

    def __init__(self, cfg: RunConfig, dist: distributed.DistInfo | None = None) -> None:
        self.cfg = cfg
        self.dist = dist or distributed.dist_info()
        self.suite: Suite = load_suite(cfg.suite)
        self.options = self.suite.resolve_options(cfg.options)
        self.resolver = DataResolver(cfg.data_dir)
        self.fallbacks_used: dict[str, str] = {}
        self.items = self._select(self.suite.load_items(self.resolver, self.options))
        self.store = RunStore(cfg.run_dir, rank=self.dist.rank)
        self.preset = resolve_model(cfg.model)
        self._generator: Generator | None = None

    def _select(self, items: list[PromptItem]) -> list[PromptItem]:
        if self.cfg.categories:
            unknown = sorted(set(self.cfg.categories) - set(self.suite.categories))
            if unknown:
                raise ConfigError(f"suite {self.suite.name} has no categories {unknown}; it has {sorted(self.suite.categories)}")
            items = [it for it in items if it.category in self.cfg.categories]
        if self.cfg.limit is not None:
            # First N prompts of every category, so a smoke run still fills every column.
            seen: dict[str, int] = {}
            kept = []
            for it in items:
                if seen.get(it.category, 0) < self.cfg.limit:
                    kept.append(it)
                    seen[it.category] = seen.get(it.category, 0) + 1
            items = kept
        return items

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

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            kwargs = dict(self.preset.kwargs)
            kwargs.update(self.cfg.generator_options)
            kwargs.setdefault("device", self.cfg.device)
            kwargs.setdefault("dtype", self.cfg.dtype)
            if self.preset.generator == "folder":
                kwargs.pop("device"), kwargs.pop("dtype")
            cls = GENERATORS.load(self.preset.generator)
            self._generator = cls(**kwargs)
        return self._generator

    def identity(self) -> dict[str, Any]:
        """What must match for a run directory to be resumed (device, --limit and scorer options may change)."""
        return {
            "suite": self.suite.name,
            "protocol_version": self.suite.protocol_version,
            "data_version": self.suite.data_version,
            "data_files": {k: self.suite.files[k].checksum() for k in self.suite.module.data_keys(self.suite, self.options)
                           if k in self.suite.files},
            "options": self.options,
            "model": self.cfg.model,
            "generator": self.generator.identity(),
            "seed": self.cfg.seed,
            # batches are fixed (see my_chunks), so the batch size is part of what made each image
            "batch_size": None if self.preset.generator == "folder" else self.generator.batch_size,
            "images_per_prompt": self.suite.images_per_prompt,
            "layout": self.suite.layout,
        }

    def claim(self) -> None:
        self.store.claim({
            "identity": self.identity(),
            "suite": self.suite.name,
            "model": self.cfg.model,
            "model_display": self.preset.display or self.cfg.model,
            "options": self.options,
            "seed": self.cfg.seed,
            "data_dir": str(self.cfg.data_dir) if self.cfg.data_dir else None,
            "fallback_data": {k: str(v) for k, v in self.cfg.fallback_data.items()},
        })
        if self.dist.is_main:
            atomic_write_json(self.store.root / "provenance.json", environment())

    # ------------------------------------------------------------------------ dry run
    def dry_run(self, n: int = 3) -> list[dict[str, Any]]:
        reqs = [GenRequest(it, k, derive_seed(self.cfg.seed, self.suite.name, it.prompt_id, k))
                for it in self.items[:n] for k in range(min(self.suite.images_per_prompt, 1))]
        return self.generator.dry_run(reqs)

    # ------------------------------------------------------------------------ generation
    def all_file_jobs(self) -> list[tuple[PromptItem, int, str]]:
        return [(it, f, self.suite.relpath(it, f)) for it in self.items for f in range(self.suite.files_per_prompt)]

    def files_per_chunk(self) -> int:
        spf = self.suite.samples_per_file
        return max(1, self.generator.batch_size // spf) if spf > 1 else max(1, self.generator.batch_size)

    def my_chunks(self, jobs: list, size: int) -> list[list]:
        """Fixed batches, the same whatever the shard or resume point, dealt round-robin to ranks.

        Batched float arithmetic can differ with a batch's composition (padding, GEMM blocking),
        so an image is made bit-identical across shards and resumes by never changing the batch
        it is made in: batches are cut per category in suite order, before sharding.
        """
        return distributed.shard(chunk_by_category(jobs, size), self.dist)

    def _done_files(self) -> set[str]:
        return {row["file"] for row in self.store.manifest() if "file" in row and "error" not in row}

    def generate(self) -> dict[str, int]:
        """Make every missing image of this rank's shard; finished files are never redone."""
        gen = self.generator
        chunks = self.my_chunks(self.all_file_jobs(), self.files_per_chunk())
        jobs = [j for c in chunks for j in c]
        done = self._done_files()
        is_done = lambda j: j[2] in done and self.store.image_path(j[2]).is_file()  # noqa: E731
        pending_chunks = [c for c in chunks if not all(is_done(j) for j in c)]
        n_pending = sum(1 for c in pending_chunks for j in c if not is_done(j))
        if hasattr(self.suite.module, "write_extras"):
            for item in {j[0].prompt_id: j[0] for j in jobs}.values():
                self.suite.module.write_extras(self.store.images, item)
        log.info("%s: %d image files in this shard, %d already done, %d to make -> %s",
                 self.suite.name, len(jobs), len(jobs) - n_pending, n_pending, self.store.images)
        if not pending_chunks:
            return {"files": len(jobs), "made": 0, "failed": 0}
        if gen.name == "folder":
            return self._import_folder(gen, jobs, [j for c in pending_chunks for j in c if not is_done(j)])
        spf = self.suite.samples_per_file
        made = failed = 0
        bar = tqdm(total=n_pending, desc=f"generate {self.suite.name} [rank {self.dist.rank}]", unit="file",
                   position=self.dist.rank, disable=None)
        writer = BackgroundWriter()  # PNG encoding and writes overlap the next batch's generation
        for chunk in pending_chunks:
            # the whole chunk is generated (same batch as ever); only its missing files are written
            todo = [j for j in chunk if not is_done(j)]
            requests = [GenRequest(it, f * spf + s, derive_seed(self.cfg.seed, self.suite.name, it.prompt_id, f * spf + s))
                        for it, f, _ in chunk for s in range(spf)]
            t0 = time.perf_counter()
            try:
                results = gen.generate(requests)
            except Exception as exc:  # counted and logged; the files stay missing and are retried next time
                log.exception("generation failed for %s", [c[2] for c in todo])
                self.store.append_manifest({"file": rel, "prompt_id": it.prompt_id, "error": f"{type(exc).__name__}: {exc}",
                                            "rank": self.dist.rank} for it, _, rel in todo)
                failed += len(todo)
                bar.update(len(todo))
                continue
            if len(results) != len(requests):
                raise RuntimeError(f"generator {gen.name} returned {len(results)} images for {len(requests)} requests")
            writer.submit(self._write_chunk, chunk, todo, requests, results, spf)
            made += len(todo)
            bar.update(len(todo))
            log.debug("batch of %d files in %.1fs", len(chunk), time.perf_counter() - t0)
        writer.close()
        bar.close()
        log.info("generated %d files (%d failed) under %s", made, failed, self.store.images)
        return {"files": len(jobs), "made": made, "failed": failed}

    def _write_chunk(self, chunk: list, todo: list, requests: list[GenRequest], results: list, spf: int) -> None:
        """PNG files of one generated chunk, then their manifest lines (on the writer thread)."""
        rows = []
        for n, (it, f, rel) in enumerate(chunk):
            if (it, f, rel) not in todo:
                continue
            group = results[n * spf : (n + 1) * spf]
            reqs = requests[n * spf : (n + 1) * spf]
            image = make_grid([r.image for r in group], *self.suite.grid) if self.suite.grid else group[0].image
            self.store.save_image(rel, image)
            for req, res in zip(reqs, group):
                rows.append({"file": rel, "prompt_id": it.prompt_id, "category": it.category, "prompt": it.prompt,
                             "sample_index": req.sample_index, "file_index": f, "seed": req.seed, "rank": self.dist.rank,
                             "batch": [j[2] for j in chunk].index(rel), **res.info})
        # manifest after the image: a line only ever describes a file that is wholly on disk
        self.store.append_manifest(rows)

    def _import_folder(self, gen: Any, jobs: list, pending: list) -> dict[str, int]:
        expected = gen.image_size
        rows = []
        for it, f, rel in tqdm(pending, desc=f"import {self.suite.name}", unit="file", disable=None):
            src = gen.source_file(rel)
            size = check_image(src, expected)
            expected = expected or size
            self._check_grid(src, size)
            dst = self.store.image_path(rel)
            if src.resolve() != dst.resolve():
                dst.parent.mkdir(parents=True, exist_ok=True)
                tmp = dst.with_name(f".{dst.name}.tmp")
                shutil.copyfile(src, tmp)
                tmp.replace(dst)
            rows.append({"file": rel, "prompt_id": it.prompt_id, "category": it.category, "prompt": it.prompt,
                         "file_index": f, "rank": self.dist.rank, **gen.file_info(rel)})
        self.store.append_manifest(rows)
        return {"files": len(jobs), "made": len(rows), "failed": 0}

    def expected_file_size(self) -> tuple[int, int] | None:
        """Size of every image file: the generator's image, tiled when the suite uses a grid."""
        size = self.generator.image_size
        if size is None or self.preset.generator == "folder" or not self.suite.grid:
            return tuple(size) if size else None
        rows, cols = self.suite.grid
        return (size[0] * cols, size[1] * rows)

    def _check_grid(self, path: Path, size: tuple[int, int]) -> None:
        if self.suite.grid:
            r, c = self.suite.grid
            if size[0] % c or size[1] % r:
                raise ImageError(f"{path}: a {c}x{r} grid must split evenly, found {size[0]}x{size[1]}")

    # ------------------------------------------------------------------------ scoring
    def scorer_for(self, category: str) -> str:
        return self.suite.categories[category]["scorer"]

    def scorer_options(self, name: str) -> dict[str, Any]:
        opts = dict(self.cfg.scorer_options.get("*", {}))
        opts.update(self.cfg.scorer_options.get(name, {}))
        return opts

    def build_scorer(self, name: str) -> Scorer:
        ctx = ScorerContext(suite=self.suite.name, options=self.options, data_file=self.data_file,
                            device=self._device(), dtype=self.cfg.dtype, cache_dir=default_cache_dir(),
                            run_dir=self.store.root)
        opts = self.scorer_options(name)
        if name in self.cfg.scorer_workers:
            from .scorers.worker import WorkerScorer

            keys = self.suite.module.data_keys(self.suite, self.options)
            return WorkerScorer(ctx, python=self.cfg.scorer_workers[name], target=SCORERS.target(name),
                                data_keys=[k for k in keys if self._has_data(k)], **opts)
        return SCORERS.load(name)(ctx, **opts)

    def _has_data(self, key: str) -> bool:
        try:
            self.data_file(key)
            return True
        except DataError:
            return False

    def _device(self) -> str:
        if self.cfg.device != "auto":
            return self.cfg.device
        try:
            import torch

            return f"cuda:{self.dist.local_rank}" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"

    def scorer_batch_size(self, name: str) -> int:
        opts = self.scorer_options(name)
        if opts.get("batch_size"):
            return int(opts["batch_size"])
        if name in self.cfg.scorer_workers:
            return 8
        return max(1, int(getattr(SCORERS.load(name), "batch_size", 8) or 8))

    def score(self) -> dict[str, int]:
        """Raw outputs for every image of this rank's shard; finished records are never redone."""
        done = set(self.store.records())
        by_scorer: dict[str, list[Sample]] = {}
        for it, f, rel in self.all_file_jobs():
            by_scorer.setdefault(self.scorer_for(it.category), []).append(Sample(it, f, self.store.image_path(rel)))
        key = lambda s: (s.item.prompt_id, s.file_index)  # noqa: E731
        plan: dict[str, list[list[Sample]]] = {}
        for name, samples in by_scorer.items():
            # fixed batches (see my_chunks): a record does not depend on the shard or resume point
            chunks = distributed.shard(chunk_by_category([(s.item, s) for s in samples], self.scorer_batch_size(name)), self.dist)
            plan[name] = [[s for _, s in c] for c in chunks if any(key(s) not in done for _, s in c)]
        pending = [s for chunks in plan.values() for c in chunks for s in c if key(s) not in done]
        total = sum(len(v) for v in by_scorer.values())
        log.info("%s: %d image files, %d to score on this rank", self.suite.name, total, len(pending))
        missing = [s for s in pending if not s.path.is_file()]
        if missing and not self.cfg.allow_missing:
            names = ", ".join(str(s.path) for s in missing[:5])
            raise ImageError(f"{len(missing)} image(s) missing, e.g. {names}. Generate them first (t2ir1-eval generate), "
                             f"or pass --allow-missing to score them as failures")
        expected = self.expected_file_size()
        for s in pending:
            if s.path.is_file():
                size = check_image(s.path, expected)
                expected = expected or size
                self._check_grid(s.path, size)
        counts = {"scored": 0, "errors": 0}
        for name, chunks in plan.items():
            if not chunks:
                continue
            scorer = self.build_scorer(name)
            try:
                self.store.claim_scorer(name, {"name": name, "version": scorer.version, "options": self.scorer_options(name),
                                               "batch_size": self.scorer_batch_size(name)})
                atomic_write_json(self.store.scorer_meta_path(name).with_name("describe.json"), scorer.describe())
                todo = sum(1 for c in chunks for s in c if key(s) not in done)
                bar = tqdm(total=todo, desc=f"score {name} [rank {self.dist.rank}]", unit="img",
                           position=self.dist.rank, disable=None)
                for batch in chunks:
                    present = [s for s in batch if s.path.is_file()]
                    raws = scorer.score(present) if present else []
                    by_key = {key(s): r for s, r in zip(present, raws)}
                    rows = []
                    for s in batch:
                        if key(s) in done:
                            continue
                        raw = by_key.get(key(s), {"error": f"missing image {s.path}"})
                        counts["errors"] += "error" in raw
                        rows.append({"prompt_id": s.item.prompt_id, "file_index": s.file_index, "category": s.item.category,
                                     "scorer": name, "raw": raw})
                    self.store.append_records(name, rows)
                    counts["scored"] += len(rows)
                    bar.update(len(rows))
                bar.close()
            finally:
                scorer.close()
        log.info("scored %d files (%d with errors); records under %s", counts["scored"], counts["errors"], self.store.root / "records")
        return counts


# ---------------------------------------------------------------------------- finalisation
def finalize(run_dir: Path, suite: Suite, items: list[PromptItem], options: dict[str, Any],
             extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decisions and summary from stored raw outputs only: no model is loaded (also `rescore`)."""
    store = RunStore(run_dir)
    cfg = store.config()
    records = store.records()
    rows, missing = [], []
    for it in items:
        for f in range(suite.files_per_prompt):
            rec = records.get((it.prompt_id, f))
            raw = rec["raw"] if rec else {"error": "not scored"}
            if rec is None:
                missing.append(f"{it.prompt_id}#{f}")
            decision = suite.decide(it, raw, options)
            rows.append({"prompt_id": it.prompt_id, "category": it.category, "file_index": f,
                         "file": suite.relpath(it, f), "decision": decision, "metadata": it.metadata})
    scores, aggregate_extra = suite.aggregate(rows, options)
    failed = [f"{r['prompt_id']}#{r['file_index']}" for r in rows if r["decision"].get("failed")]
    scorer_info = {}
    for d in sorted((store.root / "records").glob("*/describe.json")):
        scorer_info[d.parent.name] = read_json(d)
    prov = read_json(store.root / "provenance.json") if (store.root / "provenance.json").exists() else {}
    comparable = cfg["model"] != "tiny" and all(s.get("comparable", True) for s in scorer_info.values()) \
        and not cfg.get("fallbacks_used") and not (extra or {}).get("fallbacks_used")
    metric_labels = sorted({r["decision"]["metric"] for r in rows if r["decision"].get("metric")})
    if isinstance(aggregate_extra.get("metric"), str):
        metric_labels = [aggregate_extra["metric"]]
    summary = {
        "suite": suite.name,
        "benchmark": suite.reference_benchmark,
        "scale": suite.scale,
        "model": cfg.get("model_display", cfg["model"]),
        "model_preset": cfg["model"],
        "run_dir": str(store.root),
        "scores": scores,
        "aggregate": aggregate_extra,
        "n_images": len(rows),
        "n_prompts": len(items),
        "n_failed": len(failed),
        "failed": failed,
        "not_scored": missing,
        "comparable": comparable,
        "metric": metric_labels[0] if len(metric_labels) == 1 else metric_labels or None,
        "provenance": {
            "options": options,
            "protocol_version": suite.protocol_version,
            "identity": cfg["identity"],
            "scorers": scorer_info,
            "environment": prov,
            **(extra or {}),
        },
    }
    atomic_write_text(store.root / "decisions.jsonl", "".join(dumps(r) + "\n" for r in rows))
    if hasattr(suite.module, "write_official"):
        suite.module.write_official(store.root, rows)
    atomic_write_json(store.root / "summary.json", summary)
    log.info("summary written to %s (%d images, %d failed)", store.root / "summary.json", len(rows), len(failed))
    return summary


class RecordedGenerator(Generator):
    """The generator of an existing run as its config recorded it: scoring needs its image
    size and batching, never its weights."""

    name = "recorded"

    def __init__(self, identity: dict[str, Any], batch_size: int | None) -> None:
        self._identity = dict(identity)
        size = identity.get("image_size")
        self.image_size = tuple(size) if size else None
        self.batch_size = batch_size or 1

    def generate(self, requests: list[GenRequest]) -> list[Any]:
        raise ConfigError("`score` scores the images a run already has; use `run` or `generate` to make missing ones")

    def describe(self) -> dict[str, Any]:
        return dict(self._identity)

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)


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
    extra = {"data": r.suite.data_provenance(r.resolver, r.options), "fallbacks_used": r.fallbacks_used,
             "generator": r.generator.describe(), "seed": cfg.seed}
    return finalize(cfg.run_dir, r.suite, r.items, r.options, extra)


def run(cfg: RunConfig, generate: bool = True, score: bool = True) -> dict[str, Any] | None:
    dist = distributed.dist_info()
    distributed.init(dist)
    try:
        r = Run(cfg, dist)
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
            extra = {"data": r.suite.data_provenance(r.resolver, r.options), "fallbacks_used": r.fallbacks_used,
                     "generator": r.generator.describe(), "seed": cfg.seed}
            return finalize(cfg.run_dir, r.suite, r.items, r.options, extra)
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
    old = read_json(store.root / "summary.json") if (store.root / "summary.json").exists() else {}
    extra = {k: v for k, v in old.get("provenance", {}).items() if k in ("data", "generator", "seed", "fallbacks_used")}
    extra["rescored"] = True
    return finalize(run_dir, suite, items, opts, extra)
