"""DPG-Bench rules: raw VQA answers per tile -> image score -> DPG-Bench score and categories.

Pure functions (no model imports): a run is re-scored from its stored answers, in either mode.

Faithful to ELLA ``dpg_bench/compute_dpg_bench.py`` @ 3c228f1 (spec: shared/specs/dpg_bench.md):

* an answer counts only if it is exactly ``'yes'`` ("Yes", "yes." and " yes" score 0);
* dependency rule, in CSV order, on the scores as already updated: a question whose parent
  (any id != 0) scored 0 is set to 0; a parent that is not among the item's questions raises in
  the official code and the whole image is dropped (we mark it ``failed`` with the reason);
* tile score = mean over the item's questions; image score = mean over the first ``pic_num``
  tiles (official ``dist_eval.sh``: 4); DPG-Bench score = 100 x mean over the scored images;
  in the official float order: tiles and images ``sum(x) / len(x)`` left to right, overall and
  categories ``np.mean(x) * 100`` (numpy's pairwise sum; see rules/official_math.py). The
  pairwise sum follows the image order, which upstream is ``os.listdir``'s (file-system order,
  split over ranks); ours is the suite's item order, so the last bit of ``overall`` can differ
  from a run whose directory listing came out in another order (categories sum 0/1 values and
  are exact in any order);
* categories come from the ``tuple`` text: L2 = text before the first "(" stripped, L1 = L2
  before the first "-" stripped. Quirk reproduced: each question contributes its **raw,
  pre-dependency answer on the last tile only** (the official ``qid2scores_orig`` is the copy
  taken inside the tile loop). L1 is question-weighted, not a mean of L2 scores.
* the first-row bug (ELLA issue #61): ``prepare_dpg_data`` skips DataFrame row 0, i.e. the
  first question of the CSV. ``first_row_bug=True`` (default, as published) drops it;
  ``first_row_bug=False`` keeps it. The mode is written into every decision.
* the questions of an item behave like the official dicts keyed by proposition id: a repeated
  id keeps its first position and takes the later row's content.

Raw schema (written by ``DpgVqaScorer``, self-contained so rescoring needs no CSV)::

    {"item_id": str,
     "questions": [{"row": int, "qid": int, "dependency": [int], "tuple": str,
                    "question": str}, ...],    # the item's CSV rows, in CSV order
     "qids": [int, ...],                       # the question ids asked, in asking order
     "tiles": [{"box": [x0, y0, x1, y1], "answers": [str, ...]}, ...]}  # answers align with qids
"""

from __future__ import annotations

from typing import Any, Iterable

from ..errors import ConfigError
from .official_math import left_mean, np_mean

#: the five L1 groups the official logs print (a mapping: its print order is hash-randomised)
L1_CATEGORIES = ("global", "entity", "attribute", "relation", "other")

#: ``dist_eval.sh`` passes ``--pic-num 4``; the script's own default is 1
DEFAULT_PIC_NUM = 4


def first_row_bug(options: dict[str, Any]) -> bool:
    value = options.get("first_row_bug", True)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in {"true", "false", "1", "0", "yes", "no"}:
            raise ConfigError(f"DPG-Bench option first_row_bug: expected true or false, found {value!r}")
        return lowered in {"true", "1", "yes"}
    return bool(value)


def pic_num(options: dict[str, Any]) -> int:
    value = options.get("pic_num", DEFAULT_PIC_NUM)
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= 4:
        raise ConfigError(f"DPG-Bench option pic_num: expected 1..4 tiles of the 2x2 grid, found {value!r}")
    return n


def l2_category(tuple_text: str) -> str:
    """``"entity - whole (cabbage)"`` -> ``"entity - whole"``; ``"global - (x)"`` -> ``"global -"``."""
    return tuple_text.split("(")[0].strip()


def l1_category(l2: str) -> str:
    return l2.split("-")[0].strip()


def question_graph(rows: Iterable[dict[str, Any]], skip_first_row: bool) -> list[dict[str, Any]]:
    """The item's questions as the official dicts hold them, in their iteration order.

    ``skip_first_row`` drops CSV data row 0 (the first-row bug). A repeated proposition id keeps
    the position of its first row and the content of its last, as a Python dict update does.
    """
    graph: dict[int, dict[str, Any]] = {}
    for row in rows:
        if skip_first_row and int(row["row"]) == 0:
            continue
        graph[int(row["qid"])] = row
    return list(graph.values())


def yes_score(answer: str) -> float:
    """The official test ``float(answer == 'yes')``: no case folding, no stripping."""
    return 1.0 if answer == "yes" else 0.0


def apply_dependencies(graph: list[dict[str, Any]], raw_scores: dict[int, float]) -> dict[int, float]:
    """Zero every question with a parent that scored 0, in graph order, on updated scores.

    Raises ``KeyError(parent)`` for a parent that is not a question of the item, as the official
    dict lookup does (the caller turns it into a failed image).
    """
    scores = dict(raw_scores)
    for q in graph:
        for parent in q["dependency"]:
            if parent == 0:
                continue
            if scores[parent] == 0:
                scores[int(q["qid"])] = 0.0
                break
    return scores


def failed(reason: str, bug: bool, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"score": 0.0, "failed": True, "reason": reason, "first_row_bug": bug, **(extra or {})}


def decide(item: Any, raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Per image: ``score`` in 0..1 (mean of the tile scores), the tile scores, and the
    ``category_values`` the category rule aggregates: ``[[L2, raw 0/1 on the last tile], ...]``.
    """
    bug = first_row_bug(options)
    n_tiles = pic_num(options)
    if "error" in raw:
        return failed(str(raw["error"]), bug)
    item_id = raw.get("item_id", getattr(item, "prompt_id", "?"))
    graph = question_graph(raw["questions"], skip_first_row=bug)
    if not graph:
        return failed(f"item {item_id}: no questions left"
                      + (" (its only question was CSV row 0, dropped by the first-row bug, ELLA #61)" if bug else ""), bug)
    tiles = raw["tiles"][:n_tiles]
    if len(tiles) < n_tiles:
        return failed(f"item {item_id}: expected {n_tiles} tiles of answers, found {len(raw['tiles'])}", bug)
    asked = [int(q) for q in raw["qids"]]
    tile_scores: list[float] = []
    last_raw: dict[int, float] = {}
    for t, tile in enumerate(tiles):
        answers = dict(zip(asked, tile["answers"]))
        missing = [int(q["qid"]) for q in graph if int(q["qid"]) not in answers]
        if missing:
            return failed(f"item {item_id}: tile {t} has no answer for question(s) {missing}", bug)
        raw_scores = {int(q["qid"]): yes_score(answers[int(q["qid"])]) for q in graph}
        try:
            scores = apply_dependencies(graph, raw_scores)
        except KeyError as exc:
            parent = exc.args[0]
            dropped = bug and any(int(r["row"]) == 0 and int(r["qid"]) == parent for r in raw["questions"])
            why = " (it was CSV row 0, dropped by the first-row bug, ELLA #61)" if dropped else ""
            # official: the KeyError is caught, "Failed filename" printed, the image left out of the mean
            return failed(f"item {item_id}: a question depends on proposition {parent}, which is not among "
                          f"the item's questions{why}", bug)
        tile_scores.append(left_mean(list(scores.values())))  # official sum(...) / len(...)
        last_raw = raw_scores
    category_values = [[l2_category(str(q["tuple"])), last_raw[int(q["qid"])]] for q in graph]
    return {
        "score": left_mean(tile_scores),  # official sum(scores) / len(scores), left to right
        "failed": False,
        "tile_scores": tile_scores,
        "category_values": category_values,
        "n_questions": len(graph),
        "first_row_bug": bug,
        "pic_num": n_tiles,
    }


def aggregate(rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, float]:
    """``overall`` = 100 x mean image score over the scored images (failed ones are left out, as
    the official script drops them, and counted in ``n_failed``); the five L1 groups by their
    names (question-weighted, last-tile raw answers) and the L2 groups as ``"L2 <name>"``.
    """
    image_scores: list[float] = []
    by_l2: dict[str, list[float]] = {}
    n_failed = 0
    for row in rows:
        decision = row["decision"]
        if decision.get("failed"):
            n_failed += 1
            continue
        image_scores.append(float(decision["score"]))
        for l2, value in decision["category_values"]:
            by_l2.setdefault(l2, []).append(float(value))
    by_l1: dict[str, list[float]] = {}
    for l2, values in by_l2.items():
        by_l1.setdefault(l1_category(l2), []).extend(values)
    out: dict[str, float] = {}
    if image_scores:
        # official np.mean(global_dpg_scores) * 100: pairwise float64 sum, / n, then * 100
        out["overall"] = np_mean(image_scores) * 100
    for l1, values in sorted(by_l1.items()):
        out[l1] = np_mean(values) * 100
    for l2, values in sorted(by_l2.items()):
        out[f"L2 {l2}"] = np_mean(values) * 100
    out["n_images"] = float(len(image_scores))
    out["n_failed"] = float(n_failed)
    return out
