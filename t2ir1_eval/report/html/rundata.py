"""What a run page shows, read back from a run directory: per image its decision, the raw
scorer output that led to it, the prompt and the generator's CoT."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...io import read_json, read_jsonl
from ...store import RunStore


@dataclass
class ImageView:
    prompt_id: str
    category: str
    file_index: int
    file: str
    path: Path
    prompt: str
    score: float | None
    passed: bool | None  # None: a graded score, not pass/fail
    failed: bool
    reason: str
    cot: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)
    judge_reply: str | None = None
    questions: list[dict[str, Any]] = field(default_factory=list)  # DPG: question, per-tile answers, zeroed
    seed: int | None = None  # the image's own seed (first sample of the file)


@dataclass
class RunData:
    root: Path
    summary: dict[str, Any]
    config: dict[str, Any]
    images: list[ImageView]

    @property
    def suite(self) -> str:
        return str(self.summary["suite"])


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(float(x)) else None


def _dpg_questions(raw: dict[str, Any], decision: dict[str, Any]) -> list[dict[str, Any]]:
    """Each question with its answer on every tile and whether a failed parent zeroed it."""
    from ...rules.dpg_bench import apply_dependencies, question_graph, yes_score

    if "questions" not in raw or "tiles" not in raw:
        return []
    graph = question_graph(raw["questions"], skip_first_row=bool(decision.get("first_row_bug", True)))
    asked = [int(q) for q in raw.get("qids", [])]
    out = []
    per_tile = []
    for tile in raw["tiles"][: int(decision.get("pic_num", 4))]:
        answers = dict(zip(asked, tile.get("answers", [])))
        raw_scores = {int(q["qid"]): yes_score(answers.get(int(q["qid"]), "")) for q in graph}
        try:
            final = apply_dependencies(graph, raw_scores)
        except KeyError:
            final = raw_scores
        per_tile.append((answers, raw_scores, final))
    for q in graph:
        qid = int(q["qid"])
        out.append({
            "qid": qid, "question": str(q.get("question", "")), "tuple": str(q.get("tuple", "")),
            "depends_on": [int(d) for d in q.get("dependency", []) if int(d) != 0],
            "answers": [str(a.get(qid, "–")) for a, _, _ in per_tile],
            "zeroed": [r.get(qid, 0.0) > f.get(qid, 0.0) for _, r, f in per_tile],
        })
    return out


def _details(suite: str, decision: dict[str, Any], raw: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    rows: list[tuple[str, str]] = []
    reply = None
    if suite == "wise":
        for key in ("consistency", "realism", "aesthetic_quality"):
            if key in decision:
                rows.append((key.replace("_", " "), f"{decision[key]:g}"))
        rows.append(("judge", str(decision.get("judge", ""))))
        rows.append(("attempts", str(decision.get("attempts", ""))))
        reply = raw.get("reply") if isinstance(raw.get("reply"), str) else None
    else:
        for key, value in decision.items():
            if key in ("score", "failed", "reason", "correct", "details", "options", "category_values", "metric"):
                continue
            if isinstance(value, (str, int, float, bool)):
                rows.append((key, f"{value:.4g}" if isinstance(value, float) else str(value)))
            elif isinstance(value, list) and len(value) <= 8 and all(isinstance(v, (int, float)) for v in value):
                rows.append((key, ", ".join(f"{v:.3g}" for v in value)))
    return rows, reply


def load_run(run_dir: Path) -> RunData:
    store = RunStore(Path(run_dir))
    summary = read_json(store.root / "summary.json")
    # a summary alone (copied, or from an older version) still gets its page: scores and provenance
    config = store.config() if store.config_path.exists() else {}
    manifest: dict[str, dict[str, Any]] = {}
    for r in store.manifest():
        if "file" in r and "error" not in r:
            manifest.setdefault(r["file"], r)  # a grid file's first sample
    records = store.records()
    images = []
    for row in read_jsonl(store.root / "decisions.jsonl"):
        d = row["decision"]
        rec = records.get((row["prompt_id"], int(row["file_index"])), {})
        raw = rec.get("raw", {}) if isinstance(rec, dict) else {}
        man = manifest.get(row["file"], {})
        prompt = str(man.get("prompt") or (row.get("metadata") or {}).get("prompt") or (row.get("metadata") or {}).get("Prompt") or "")
        cot = man.get("reasoning")
        details, reply = _details(summary["suite"], d, raw)
        passed = bool(d["correct"]) if "correct" in d else None
        reason = str(d.get("reason") or raw.get("error") or "")
        images.append(ImageView(
            prompt_id=str(row["prompt_id"]), category=str(row["category"]), file_index=int(row["file_index"]),
            file=str(row["file"]), path=store.image_path(row["file"]), prompt=prompt, score=_num(d.get("score")),
            passed=passed, failed=bool(d.get("failed")), reason=reason, cot=str(cot) if cot else None,
            details=details, judge_reply=reply, seed=man.get("seed") if isinstance(man.get("seed"), int) else None,
            questions=_dpg_questions(raw, d) if summary["suite"] == "dpg-bench" and not d.get("failed") else [],
        ))
    return RunData(root=store.root, summary=summary, config=config, images=images)


def prompt_scores(images: list[ImageView]) -> dict[str, tuple[str, float]]:
    """prompt id -> (category, mean score over its images): the unit compared between runs."""
    acc: dict[str, list[float]] = {}
    cats: dict[str, str] = {}
    for im in images:
        cats[im.prompt_id] = im.category
        acc.setdefault(im.prompt_id, []).append(im.score if im.score is not None else 0.0)
    return {p: (cats[p], math.fsum(v) / len(v)) for p, v in acc.items()}


def decision_rows(run_dir: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(Path(run_dir) / "decisions.jsonl"))
