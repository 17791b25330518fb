"""GenEval rules: stored detections (+ colour logits) -> correct / reason, exactly as the official
``evaluation/evaluate_images.py`` (djghosh13/geneval @ af4902f) decides, and the summary of
``evaluation/summary_scores.py``.

Pure functions: numpy only, no model. The scorer stores every detection of the detector's
top-100 (see docs/raw_outputs/geneval.md), so re-deciding with other thresholds works offline.

Faithfulness notes (spec: shared/specs/geneval.md):

* Scores and boxes are float32 (as mmdet returns them) and the official comparisons are
  numpy *array* comparisons, which cast the Python threshold to float32 (numpy 1.23.5 and
  2.4.6 agree; measured): float32(0.3) does NOT pass ``> 0.3`` and float32(0.9) does not pass
  ``> 0.9``. The relative-position arithmetic is done in float32 numpy, as the official.
* Order within a class: the official ``np.argsort(scores)[::-1]`` as numpy 1.23 computes it
  (rules/official_math.argsort_numpy123, a port of its introsort checked against a numpy-1.23.5
  table): tied scores come out later-row-first up to 16 rows, and in introsort's own order
  beyond. Option ``tie_order="stable"`` keeps earlier rows first instead.
* Filtering per class: score > thr (``counting_threshold`` for every class on counting rows),
  top ``max_objects``, then greedy NMS only when ``max_overlap`` != 1 (official "+1 pixel" IoU,
  float32 side lengths then float64 areas and ratio, as numpy 1.23 computes it).
* include clauses are ANDed, exclude clauses ORed; colour and position look only at the first
  ``count`` (most confident) objects; an exclude counts the kept (capped, thresholded) list.
* Reason strings are the official ones. The official "found <rels> target" joins a Python
  *set*, whose order depends on PYTHONHASHSEED; we write the relations in the fixed order
  left of, right of, above, below.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .official_math import argsort_numpy123, np_mean

COLORS: tuple[str, ...] = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white")
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")
TAGS: tuple[str, ...] = ("single_object", "two_object", "counting", "colors", "position", "color_attr")

#: the official ``--options`` with their defaults (evaluate_images.py), plus our named quirk switches
DEFAULT_OPTIONS: dict[str, Any] = {
    "threshold": 0.3,
    "counting_threshold": 0.9,
    "max_objects": 16,
    "max_overlap": 1.0,  # NMS IoU threshold; 1.0 disables NMS (official)
    "position_threshold": 0.1,
    "tie_order": "official",  # "official": later row first on tied scores; "stable": earlier row first
}
#: accepted spellings -> official option name
ALIASES = {"nms_threshold": "max_overlap"}

#: key order of the official metadata rows (json.dumps keeps it; our store may not)
_ROW_KEY_ORDER = ("tag", "include", "exclude", "prompt")
_CLAUSE_KEY_ORDER = ("class", "count", "color", "position")


def resolve_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Official defaults overlaid with the given options (also the ``--options k=v`` strings)."""
    out = dict(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        key = ALIASES.get(key, key)
        if key not in DEFAULT_OPTIONS:
            continue  # suite options meant for the scorer (clip model, bgcolor, ...)
        if value is None:
            continue
        if key == "max_objects":
            out[key] = int(value)
        elif key == "tie_order":
            if value not in ("official", "stable"):
                raise ValueError(f"GenEval option tie_order: expected 'official' or 'stable', found {value!r}")
            out[key] = value
        else:
            out[key] = float(value)
    return out


# --------------------------------------------------------------------------- geometry
def compute_iou(box_a: np.ndarray, box_b: np.ndarray) -> float:
    """Official IoU with the "+1 pixel" area convention, in the official mixed precision.

    The official ``box[2] - box[0] + 1`` subtracts two float32 scalars (float32 rounding), then
    adds the Python int 1, which numpy 1.23 (scalar + int -> int64 -> float64) does in float64;
    areas, union and the ratio are float64 from there on. A float32 ratio flips boundary cases:
    900/1000 is 0.9 in float64 (dropped by ``< 0.9``) but 0.89999998 in float32 (kept).
    """
    def side(hi: Any, lo: Any) -> float:
        return float(np.float32(hi) - np.float32(lo)) + 1.0

    def area(b: Sequence[Any]) -> float:
        return max(side(b[2], b[0]), 0) * max(side(b[3], b[1]), 0)

    a = np.asarray(box_a, dtype=np.float32)
    b = np.asarray(box_b, dtype=np.float32)
    inter = area([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])])
    union = area(a) + area(b) - inter
    return inter / union if union else 0.0


def relative_position(box_a: np.ndarray, box_b: np.ndarray, position_threshold: float = 0.1) -> list[str]:
    """Relations of A w.r.t. B (y down), in RELATIONS order; float32 arithmetic as the official."""
    boxes = np.array([np.asarray(box_a, dtype=np.float32)[:4], np.asarray(box_b, dtype=np.float32)[:4]]).reshape(2, 2, 2)
    center_a, center_b = boxes.mean(axis=-2)
    dim_a, dim_b = np.abs(np.diff(boxes, axis=-2))[..., 0, :]
    offset = center_a - center_b
    revised = np.maximum(np.abs(offset) - float(position_threshold) * (dim_a + dim_b), 0) * np.sign(offset)
    if np.all(np.abs(revised) < 1e-3):
        return []
    dx, dy = revised / np.linalg.norm(offset)
    rels = []
    if dx < -0.5:
        rels.append("left of")
    if dx > 0.5:
        rels.append("right of")
    if dy < -0.5:
        rels.append("above")
    if dy > 0.5:
        rels.append("below")
    return rels


# --------------------------------------------------------------------------- raw -> objects
class _Obj:
    """One kept detection: float32 box row [x1, y1, x2, y2, score] plus its colour logits."""

    __slots__ = ("row", "colour_logits")

    def __init__(self, row: np.ndarray, colour_logits: Sequence[float] | None) -> None:
        self.row = row
        self.colour_logits = colour_logits


def _class_entries(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    dets = raw.get("detections")
    if not isinstance(dets, list):
        raise ValueError(f"GenEval raw output: expected 'detections' to be a list of per-class entries, "
                         f"found {type(dets).__name__}")
    return dets


def kept_detections(raw: Mapping[str, Any], tag: str, options: Mapping[str, Any]) -> dict[str, list[_Obj]]:
    """The official ``detected`` dict: class -> kept objects, most confident first, classes in
    detector class-index order, empty classes absent."""
    opts = resolve_options(options)
    thr = np.float32(opts["counting_threshold"] if tag == "counting" else opts["threshold"])
    nms = opts["max_overlap"]
    detected: dict[str, list[_Obj]] = {}
    for entry in sorted(_class_entries(raw), key=lambda e: int(e["label"])):
        scores = np.asarray(entry["scores"], dtype=np.float32)
        if scores.size == 0:
            continue
        boxes = np.asarray(entry["boxes"], dtype=np.float32).reshape(-1, 4)
        rows = np.concatenate([boxes, scores[:, None]], axis=1)
        colours = entry.get("colour_logits") or [None] * len(scores)
        n = len(scores)
        if opts["tie_order"] == "official":
            # np.argsort(bbox[:, 4])[::-1] with numpy 1.23 (introsort: its tie order for any row count)
            order = argsort_numpy123([float(x) for x in scores])[::-1]
        else:
            order = sorted(range(n), key=lambda i: (-float(scores[i]), i))
        order = [i for i in order if scores[i] > thr][: opts["max_objects"]]
        kept: list[_Obj] = []
        while order:
            best = order.pop(0)
            kept.append(_Obj(rows[best], colours[best]))
            if nms != 1:
                order = [i for i in order if compute_iou(rows[best], rows[i]) < nms]
        if kept:
            detected[str(entry["class"])] = kept
    return detected


# --------------------------------------------------------------------------- decision
class MissingColour(ValueError):
    """The raw output has no colour logits for an object the rules must colour-classify."""


def _colour_of(obj: _Obj, classname: str) -> str:
    if obj.colour_logits is None:
        raise MissingColour(
            f"no colour logits stored for a {classname!r} detection with score {float(obj.row[4]):.6g}: "
            f"the scorer classifies the colour of the top colour_top_k detections of each colour clause's class "
            f"with score > colour_min_score; rescore with the scorer again for these options"
        )
    logits = np.asarray(obj.colour_logits, dtype=np.float32)
    return COLORS[int(np.argmax(logits))]  # argmax takes the first maximum, as torch's argmax on CPU


def evaluate(objects: Mapping[str, list[_Obj]], metadata: Mapping[str, Any], position_threshold: float = 0.1
             ) -> tuple[bool, str]:
    """The official ``evaluate``: includes ANDed, excludes ORed, official reason strings."""
    correct = True
    reason: list[str] = []
    groups: list[list[_Obj] | None] = []
    for req in metadata.get("include", []):
        classname = req["class"]
        matched = True
        found = list(objects.get(classname, []))[: req["count"]]
        if len(found) < req["count"]:
            correct = matched = False
            reason.append(f"expected {classname}>={req['count']}, found {len(found)}")
        else:
            if "color" in req:
                colours = [_colour_of(o, classname) for o in found]
                if colours.count(req["color"]) < req["count"]:
                    correct = matched = False
                    reason.append(
                        f"expected {req['color']} {classname}>={req['count']}, found "
                        f"{colours.count(req['color'])} {req['color']}; and "
                        + ", ".join(f"{colours.count(c)} {c}" for c in COLORS if c in colours)
                    )
            if "position" in req and matched:
                expected_rel, target_group = req["position"]
                if groups[target_group] is None:
                    correct = matched = False
                    reason.append(f"no target for {classname} to be {expected_rel}")
                else:
                    for obj in found:
                        for target in groups[target_group] or []:
                            rels = relative_position(obj.row, target.row, position_threshold)
                            if expected_rel not in rels:
                                correct = matched = False
                                reason.append(f"expected {classname} {expected_rel} target, found "
                                              f"{' and '.join(rels)} target")
                                break
                        if not matched:
                            break
        groups.append(found if matched else None)
    for req in metadata.get("exclude", []):
        classname = req["class"]
        if len(objects.get(classname, [])) >= req["count"]:
            correct = False
            reason.append(f"expected {classname}<{req['count']}, found {len(objects[classname])}")
    return correct, "\n".join(reason)


def details_json(objects: Mapping[str, list[_Obj]]) -> str:
    """The official ``details`` column: ``json.dumps({class: [box.tolist(), ...]})``."""
    return json.dumps({k: [[float(v) for v in o.row] for o in objs] for k, objs in objects.items()})


def decide(item: Any, raw: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One image's decision: ``score`` (1.0 correct / 0.0), ``correct``, ``reason``, ``details``.

    ``item`` is the PromptItem whose ``metadata`` is the official row (tag, include, exclude).
    """
    if "error" in raw:
        return {"score": 0.0, "correct": False, "failed": True, "reason": f"scorer error: {raw['error']}"}
    metadata = item.metadata
    opts = resolve_options(options)
    tag = metadata.get("tag", getattr(item, "category", ""))
    try:
        objects = kept_detections(raw, tag, opts)
        correct, reason = evaluate(objects, metadata, opts["position_threshold"])
    except MissingColour as exc:
        return {"score": 0.0, "correct": False, "failed": True, "reason": str(exc)}
    return {
        "score": 1.0 if correct else 0.0,
        "correct": bool(correct),
        "failed": False,
        "reason": reason,
        "details": details_json(objects),
        "options": {k: opts[k] for k in ("threshold", "counting_threshold", "max_objects", "max_overlap",
                                         "position_threshold", "tie_order")},
    }


# --------------------------------------------------------------------------- official files
def canonical_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The row with the key order of evaluation_metadata.jsonl (a store may sort keys)."""
    def ordered(d: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
        out = {k: d[k] for k in order if k in d}
        out.update({k: v for k, v in d.items() if k not in out})
        return out

    row = ordered(metadata, _ROW_KEY_ORDER)
    for key in ("include", "exclude"):
        if key in row:
            row[key] = [ordered(c, _CLAUSE_KEY_ORDER) for c in row[key]]
    return row


def official_results_row(item: Any, file_index: int, image_path_str: str, decision: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the official results JSONL (evaluate_images.py ``--outfile``).

    ``image_path_str`` is the path as the official script would print it
    (``os.path.join(<imagedir>, <prompt folder>, "samples", <name>)``); ``file_index`` is kept
    for callers that order rows, the official row itself does not hold it.
    """
    metadata = canonical_metadata(item.metadata)
    return {
        "filename": image_path_str,
        "tag": metadata["tag"],
        "prompt": metadata["prompt"],
        "correct": bool(decision.get("correct", False)),
        "reason": decision.get("reason", ""),
        "metadata": json.dumps(metadata),
        "details": decision.get("details", "{}"),
    }


def official_results_line(row: Mapping[str, Any]) -> str:
    """Serialise a results row as pandas ``to_json(orient="records", lines=True)`` does
    (compact separators, ASCII escapes, ``/`` escaped as ``\\/``); no trailing newline."""
    return json.dumps(dict(row), separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``summary_scores.py`` on official results rows (dicts with tag, correct, metadata).

    Tags are listed in order of first appearance, as ``groupby(sort=False)``; ``overall`` is the
    unweighted mean of the per-tag accuracies (of images, not prompts).
    """
    rows = list(rows)
    if not rows:
        return {"total_images": 0, "total_prompts": 0, "correct_images": math.nan, "correct_prompts": math.nan,
                "tags": {}, "overall": math.nan}
    by_prompt: dict[str, bool] = {}
    by_tag: dict[str, list[bool]] = {}
    for r in rows:
        ok = bool(r["correct"])
        key = r["metadata"] if isinstance(r["metadata"], str) else json.dumps(r["metadata"])
        by_prompt[key] = by_prompt.get(key, False) or ok
        by_tag.setdefault(r["tag"], []).append(ok)
    tags = {t: {"accuracy": sum(v) / len(v), "correct": sum(v), "images": len(v)} for t, v in by_tag.items()}
    return {
        "total_images": len(rows),
        "total_prompts": len(by_prompt),
        "correct_images": sum(bool(r["correct"]) for r in rows) / len(rows),
        "correct_prompts": sum(by_prompt.values()) / len(by_prompt),
        "tags": tags,
        "overall": np_mean([t["accuracy"] for t in tags.values()]),  # np.mean, pairwise as numpy
    }


def format_summary(s: Mapping[str, Any]) -> str:
    """The text summary_scores.py prints."""
    lines = ["Summary", "=======", f"Total images: {s['total_images']}", f"Total prompts: {s['total_prompts']}",
             f"% correct images: {s['correct_images']:.2%}", f"% correct prompts: {s['correct_prompts']:.2%}", "",
             "Task breakdown", "=============="]
    for tag, t in s["tags"].items():
        lines.append(f"{tag:<16} = {t['accuracy']:.2%} ({t['correct']} / {t['images']})")
    lines += ["", f"Overall score (avg. over tasks): {s['overall']:.5f}"]
    return "\n".join(lines)


def aggregate(rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, float]:
    """Per-tag accuracy over images and Overall = their unweighted mean (summary_scores.py),
    plus the informational % correct images / prompts. A failed image counts as incorrect,
    as an image the official script could not score would have stopped the whole run."""
    results = [{"tag": r["category"], "correct": bool(r["decision"].get("correct", False)),
                "metadata": json.dumps(canonical_metadata(r.get("metadata") or {"prompt_id": r["prompt_id"]}))}
               for r in rows]
    s = summary(results)
    out: dict[str, float] = {tag: s["tags"][tag]["accuracy"] for tag in TAGS if tag in s["tags"]}
    out.update({tag: t["accuracy"] for tag, t in s["tags"].items() if tag not in out})
    if s["tags"]:
        out["Overall"] = s["overall"]
        out["correct_images"] = s["correct_images"]
        out["correct_prompts"] = s["correct_prompts"]
    return out
