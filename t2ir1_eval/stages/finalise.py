"""Finalise: stored raw outputs -> per-image decisions (the suite's rules) -> aggregate scores
-> summary.json, decisions.jsonl and the benchmark's own result files.

Reads records only: no model is loaded, so ``rescore`` reruns just this stage.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..rules.bootstrap import bootstrap_summary
from ..store import RunStore
from ..suites.spec import Suite
from ..types import PromptItem

log = logging.getLogger(__name__)


def decide_all(suite: Suite, items: list[PromptItem], records: dict[tuple[str, int], dict[str, Any]],
               options: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """(one decision row per image file, the files with no record)."""
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
    return rows, missing


def finalize(run_dir: Path, suite: Suite, items: list[PromptItem], options: dict[str, Any],
             extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decisions and summary from stored raw outputs only: no model is loaded (also `rescore`)."""
    store = RunStore(run_dir)
    cfg = store.config()
    rows, missing = decide_all(suite, items, store.records(), options)
    scores, aggregate_extra = suite.aggregate(rows, options)
    failed = [f"{r['prompt_id']}#{r['file_index']}" for r in rows if r["decision"].get("failed")]
    scorer_info = store.scorer_descriptions()
    prov = store.provenance()
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
        # 95% intervals over prompts for every score (seed, resamples and method recorded inside)
        "uncertainty": bootstrap_summary(suite, rows, options, scores),
        "provenance": {
            "options": options,
            "protocol_version": suite.protocol_version,
            "identity": cfg["identity"],
            "scorers": scorer_info,
            "environment": prov,
            **(extra or {}),
        },
    }
    store.write_decisions(rows)
    if hasattr(suite.module, "write_official"):
        store.write_official(suite.module.write_official, rows)
    store.write_summary(summary)
    log.info("summary written to %s (%d images, %d failed)", store.summary_path, len(rows), len(failed))
    return summary
