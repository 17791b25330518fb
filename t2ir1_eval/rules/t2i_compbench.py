"""T2I-CompBench rules: raw scorer outputs -> the official per-image score (pure, no models).

Ported from the official evaluators (Karine-Huang/T2I-CompBench @ 1b70949; see
``shared/specs/t2i_compbench.md`` and ``docs/t2i_compbench.md``):

- color / shape / texture: BLIP-VQA product of per-phrase P(yes)/(P(yes)+P(no))  (BLIPvqa_eval)
- non_spatial: raw CLIP cosine                                                  (CLIPScore_eval)
- spatial: UniDet box geometry, scores < 0.5 zeroed                             (2D_spatial_eval.py)
- 3d_spatial: UniDet boxes + DPT depth, no zeroing                              (3D_spatial_eval.py)
- numeracy: UniDet counting with 0.9-overlap de-duplication                     (numeracy_eval.py)
- complex: 3-in-1 mean of BLIP, 2D (complex parse) and CLIP (no adjectives)     (3_in_1.py)

Quirks are reproduced by default. Where the official script would crash (no noun in the
prompt, zero-area boxes, an "a/an + plural" numeracy phrase ...) the image scores what the
rules imply, 0, and the decision says why (``official_would_crash``), so it can be counted.

Suite options read here (all default to the official behaviour):
- ``depth_indexing``: "transposed" (official ``depth[x0:x1, y0:y1]``) | "row_col" (corrected)
- ``on_top_of``: "zero" (official: 'on top of' has no branch, position 0) | "as_top" (scored
  like 'on the top of')
- ``blip_rounding``: True (official 4-decimal rounding per phrase and of the product) | False

Category scores (:func:`category_mean`) add the image scores in image-index order, left to right
as the official scripts do (``np.mean``'s pairwise sum for 3D), so a category score equals the
official printed one to the last digit.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from ..types import PromptItem
from .official_math import left_mean, left_sum, np_mean

# ---------------------------------------------------------------------------------------------- constants
#: 2D relation words, checked as substrings of the prompt in this order (first hit wins)
RELATIONS_2D = ("on side of", "next to", "near", "on the left of", "on the right of",
                "on the bottom of", "on the top of", "on top of")
#: prepositions around which the complex-mode parser takes its two objects
COMPLEX_PREPOSITIONS = ("on top of", "on bottom of", "on the left", "on the right", "next to", "on side of", "near")
RELATIONS_3D = ("in front of", "behind", "hidden")
PERSON_WORDS = ("girl", "boy", "man", "woman")
NUMBER_WORDS = ("a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight")
SINGULAR_NUMBER_WORDS = ("a", "an", "one")
#: word2number's value of each word the numeracy parser can meet (it fails on "a"/"an")
WORD_TO_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
#: numeracy's name remaps, applied in this order
NUMERACY_REMAP = (("boy", "person"), ("girl", "person"), ("man", "person"), ("woman", "person"),
                  ("ship", "boat"), ("telivision", "tv"), ("goldfish", "fish"), ("painting", "picture"))
DISTANCE_THRESHOLD = 150.0  # px, in the detector's ~480-px input space
IOU_THRESHOLD_2D = 0.1
IOU_THRESHOLD_3D = 0.5
ZERO_BELOW_2D = 0.5
NP_NUM = 8

DEFAULT_OPTIONS = {"depth_indexing": "transposed", "on_top_of": "zero", "blip_rounding": True}

Token = Sequence[Any]  # [text, pos_, whitespace_] as stored by the scorers
Box = Sequence[float]  # [x_min, y_min, x_max, y_max]


def rule_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The options this module reads, with the official defaults filled in and checked."""
    opts = {k: (options or {}).get(k, v) for k, v in DEFAULT_OPTIONS.items()}
    if opts["depth_indexing"] not in ("transposed", "row_col"):
        raise ValueError(f"option depth_indexing: expected 'transposed' or 'row_col', found {opts['depth_indexing']!r}")
    if opts["on_top_of"] not in ("zero", "as_top"):
        raise ValueError(f"option on_top_of: expected 'zero' or 'as_top', found {opts['on_top_of']!r}")
    return opts


# ---------------------------------------------------------------------------------------------- parsing
def prompt_from_filename(name: str) -> str:
    """The official evaluators' prompt: the file name's text before the first '_'."""
    return name.split("_")[0]


def span_text(tokens: Sequence[Token], start: int, stop: int) -> str:
    """``doc[start:stop].text`` rebuilt from stored tokens (spaCy clips the slice to the doc)."""
    part = list(tokens[start:min(stop, len(tokens))])
    if not part:
        return ""
    return "".join(str(t[0]) + str(t[2]) for t in part[:-1]) + str(part[-1][0])


def nouns(tokens: Sequence[Token]) -> list[str]:
    return [str(t[0]) for t in tokens if t[1] == "NOUN"]


def first_last_nouns(tokens: Sequence[Token]) -> tuple[str, str] | None:
    """Simple-prompt objects: the first and the last NOUN (None where the official code crashes)."""
    found = nouns(tokens)
    if not found:
        return None
    return found[0], found[-1]


def complex_objects(tokens: Sequence[Token]) -> list[str]:
    """Objects around the complex-mode prepositions, exactly as 2D_spatial_eval.py --complex.

    For every position whose 3-, 2- or 1-token span is a preposition: the nearest preceding
    NOUN or PROPN, then the first following NOUN; only when the forward search reaches the end
    without a NOUN, the first following PROPN that is not followed by another PROPN.
    """
    n = len(tokens)
    objects: list[str] = []
    for i in range(n):
        k = next((w for w in (3, 2, 1) if span_text(tokens, i, i + w) in COMPLEX_PREPOSITIONS), 0)
        if not k:
            continue
        for j in range(i - 1, -1, -1):
            if tokens[j][1] in ("NOUN", "PROPN"):
                objects.append(str(tokens[j][0]))
                break
        reached_end = False
        for j in range(i + k, n):
            if tokens[j][1] == "NOUN":
                objects.append(str(tokens[j][0]))
                break
            if j == n - 1:
                reached_end = True
        if reached_end:
            for j in range(i + k, n):
                if j + 1 < n and tokens[j][1] == "PROPN" and tokens[j + 1][1] != "PROPN":
                    objects.append(str(tokens[j][0]))
                    break
    return objects


def map_person(word: str | None) -> str | None:
    return "person" if word in PERSON_WORDS else word


def relation(prompt: str, vocabulary: Iterable[str]) -> str | None:
    """The first relation word that is a substring of the prompt, in the official order."""
    return next((w for w in vocabulary if w in prompt), None)


def read_new_objects(text: str) -> tuple[list[str], list[str]]:
    """new_objects.txt ("singular - plural" per line) -> (singulars, plurals), lowercased."""
    singular, plural = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if " - " not in line:
            raise ValueError(f"new_objects.txt line {n}: expected 'singular - plural', found {line!r}")
        s, p = line.split(" - ")[:2]
        singular.append(s.strip().lower())
        plural.append(p.strip().lower())
    return singular, plural


def numeracy_targets(tokens: Sequence[Token], singular: Sequence[str], plural: Sequence[str]) -> dict[str, Any]:
    """Objects and target counts as numeracy_eval.py builds them.

    Returns ``{"objects": [...], "counts": [...], "notes": [...]}``. The two lists are built
    independently, like the official ``my_obj``/``num_obj``: where word2number fails (an
    "a/an + plural" phrase) an object gets no count and later counts shift, as upstream.
    ``notes`` records what the official script would have crashed on.
    """
    words = [str(t[0]) for t in tokens]
    n = len(words)
    objects: list[str] = []
    counts: list[int] = []
    notes: list[str] = []
    for i, word in enumerate(words):
        if word not in NUMBER_WORDS:
            continue
        two = f"{words[i + 1]} {words[i + 2]}" if i < n - 2 else None
        if two is not None and (two in singular or two in plural):
            if two in plural and word not in SINGULAR_NUMBER_WORDS:
                objects.append(singular[plural.index(two)])
                _append_count(counts, notes, word)
            else:
                counts.append(1)
                objects.append(two)
            continue
        if i + 1 >= n:
            notes.append(f"number word {word!r} ends the prompt: the official script raises IndexError")
            continue
        nxt = words[i + 1]
        if nxt in singular or nxt in plural:
            if nxt in singular and word in SINGULAR_NUMBER_WORDS:
                counts.append(1)
                objects.append(nxt)
            elif nxt not in plural:
                notes.append(f"{word!r} + singular {nxt!r}: the official script raises ValueError (not a plural)")
            else:
                objects.append(singular[plural.index(nxt)])
                _append_count(counts, notes, word)
    return {"objects": objects, "counts": counts, "notes": notes}


def _append_count(counts: list[int], notes: list[str], word: str) -> None:
    if word in WORD_TO_NUM:
        counts.append(WORD_TO_NUM[word])
    else:  # word2number raises on "a"/"an"; upstream swallows it and the lists go out of step
        notes.append(f"word_to_num({word!r}) fails: no count appended (official lists misalign)")


# ---------------------------------------------------------------------------------------------- geometry
def _centre(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def iou_plain(b1: Box, b2: Box) -> float:
    """IoU without the +1 pixel convention (2D and 3D rules); raises ZeroDivisionError as upstream."""
    xo = max(0.0, min(b1[2], b2[2]) - max(b1[0], b2[0]))
    yo = max(0.0, min(b1[3], b2[3]) - max(b1[1], b2[1]))
    inter = xo * yo
    union = (b1[2] - b1[0]) * (b1[3] - b1[1]) + (b2[2] - b2[0]) * (b2[3] - b2[1]) - inter
    return inter / union


def position_2d(rel: str | None, b1: Box, b2: Box) -> float:
    """Soft position score of box1 (first object) relative to box2, as determine_position()."""
    dx = _centre(b2)[0] - _centre(b1)[0]
    dy = _centre(b2)[1] - _centre(b1)[1]
    iou = iou_plain(b1, b2)
    if rel in ("next to", "on side of", "near"):
        if abs(dx) < DISTANCE_THRESHOLD or abs(dy) < DISTANCE_THRESHOLD:
            return 1.0
        return DISTANCE_THRESHOLD / max(abs(dx), abs(dy))
    directional = {
        "on the right of": (dx < 0, abs(dx) > abs(dy)),
        "on the left of": (dx > 0, abs(dx) > abs(dy)),
        "on the bottom of": (dy < 0, abs(dy) > abs(dx)),
        "on the top of": (dy > 0, abs(dy) > abs(dx)),
    }
    if rel in directional:
        side, dominant = directional[rel]
        if side and dominant:
            return 1.0 if iou < IOU_THRESHOLD_2D else IOU_THRESHOLD_2D / iou
        return 0.0
    return 0.0  # 'on top of' and no relation word: no branch upstream


def position_3d(rel: str | None, iou: float, depth1: float | None, depth2: float | None) -> float:
    """3D position score from the mean depths (larger = nearer; None = empty slice = NaN)."""
    if rel not in RELATIONS_3D:
        return 0.0
    if depth1 is None or depth2 is None or any(map(math.isnan, (depth1, depth2))):
        return 0.0  # NaN compares False everywhere upstream
    diff = depth1 - depth2
    right_order = diff > 0 if rel == "in front of" else diff < 0
    if iou > IOU_THRESHOLD_3D:
        return 1.0 if right_order else 0.0
    if 0 < iou < IOU_THRESHOLD_3D:
        return iou / IOU_THRESHOLD_3D if right_order else 0.0
    return 0.0  # no overlap, or IoU exactly 0.5


def overlaps_09(b1: Box, b2: Box) -> bool:
    """numeracy's duplicate test, +1-pixel areas: IoU > 0.9 or either box > 0.9 covered."""
    inter = max(0.0, min(b1[2], b2[2]) - max(b1[0], b2[0]) + 1) * max(0.0, min(b1[3], b2[3]) - max(b1[1], b2[1]) + 1)
    a1 = (b1[2] - b1[0] + 1) * (b1[3] - b1[1] + 1)
    a2 = (b2[2] - b2[0] + 1) * (b2[3] - b2[1] + 1)
    return inter / float(a1 + a2 - inter) > 0.9 or inter / float(a1) > 0.9 or inter / float(a2) > 0.9


# ---------------------------------------------------------------------------------------------- decisions
def _det_fields(raw: dict[str, Any]) -> tuple[list[str], list[float], list[list[float]]]:
    dets = raw.get("detections") or []
    return [str(d[0]) for d in dets], [float(d[1]) for d in dets], [[float(v) for v in d[2]] for d in dets]


def _crash(decision: dict[str, Any], why: str) -> dict[str, Any]:
    decision.update(score=0.0, official_would_crash=True, reason=why)
    return decision


def decide_blip(raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Product of the per-phrase values over ``np_num`` slots (missing phrases count 1)."""
    opts = rule_options(options)
    np_num = int(raw.get("np_num", NP_NUM))
    probs = [float(p) for p in raw.get("p", [])][:np_num]
    if opts["blip_rounding"]:
        rewards = [np.float32(float(f"{p:.4f}")) for p in probs]
    else:
        rewards = [np.float32(p) for p in probs]
    product = np.float32(1.0)
    for r in rewards + [np.float32(1.0)] * (np_num - len(rewards)):
        product = np.float32(product * r)  # upstream: in-place float32 product on the GPU
    score = float(f"{float(product):.4f}") if opts["blip_rounding"] else float(product)
    return {"score": score, "failed": False, "phrases": len(probs), "per_phrase": [float(r) for r in rewards],
            "mode": {"blip_rounding": opts["blip_rounding"]}}


def decide_clip(raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    return {"score": float(raw["cosine"]), "failed": False, "text": raw.get("text")}


def decide_2d(raw: dict[str, Any], options: dict[str, Any], complex_mode: bool = False) -> dict[str, Any]:
    opts = rule_options(options)
    prompt = str(raw.get("prompt", ""))
    tokens = raw.get("tokens") or []
    rel = relation(prompt, RELATIONS_2D)
    decision: dict[str, Any] = {"failed": False, "relation": rel, "complex": complex_mode,
                                "mode": {"on_top_of": opts["on_top_of"]}}
    if complex_mode:
        objs = complex_objects(tokens)
        obj1, obj2 = (objs[0], objs[1]) if len(objs) == 2 else (None, None)
        decision["parsed_objects"] = objs
    else:
        pair = first_last_nouns(tokens)
        if pair is None:
            return _crash(decision, "no NOUN in the prompt (upstream IndexError)")
        obj1, obj2 = pair
    obj1, obj2 = map_person(obj1), map_person(obj2)
    decision["objects"] = [obj1, obj2]
    labels, scores, boxes = _det_fields(raw)
    if rel == "on top of" and opts["on_top_of"] == "as_top":
        rel = "on the top of"
    if obj1 in labels and obj2 in labels:
        i1, i2 = labels.index(obj1), labels.index(obj2)  # first hit = highest score (score-sorted)
        try:
            pos = position_2d(rel, boxes[i1], boxes[i2])
        except ZeroDivisionError:
            return _crash(decision, "both boxes have zero area (upstream ZeroDivisionError in IoU)")
        score = 0.25 * scores[i1] + 0.25 * scores[i2] + pos / 2
        decision.update(matched=[i1, i2], position=pos)
    elif obj1 in labels:
        score = 0.25 * scores[labels.index(obj1)]
        decision["matched"] = [labels.index(obj1), None]
    elif obj2 in labels:
        score = 0.25 * scores[labels.index(obj2)]
        decision["matched"] = [None, labels.index(obj2)]
    else:
        score = 0.0
        decision["matched"] = [None, None]
    decision["score_before_threshold"] = score
    decision["score"] = 0.0 if score < ZERO_BELOW_2D else score
    return decision


def decide_3d(raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    opts = rule_options(options)
    prompt = str(raw.get("prompt", ""))
    rel = relation(prompt, RELATIONS_3D)
    decision: dict[str, Any] = {"failed": False, "relation": rel, "mode": {"depth_indexing": opts["depth_indexing"]}}
    pair = first_last_nouns(raw.get("tokens") or [])
    if pair is None:
        return _crash(decision, "no NOUN in the prompt (upstream IndexError)")
    obj1, obj2 = map_person(pair[0]), map_person(pair[1])
    decision["objects"] = [obj1, obj2]
    labels, scores, boxes = _det_fields(raw)
    joined = " ".join(labels)  # upstream tests membership on the space-joined label string
    p1 = p2 = None
    if obj1 in joined and obj2 in joined:
        for i, label in enumerate(labels):  # obj1's index keeps moving until obj2 is found too
            if obj1 in label:
                p1 = i
            if obj2 in label:
                p2 = i
            if p1 is not None and p2 is not None:
                break
        if p1 is None or p2 is None:
            return _crash(decision, "an object matched only across two joined labels (upstream TypeError)")
        try:
            iou = iou_plain(boxes[p1], boxes[p2])
        except ZeroDivisionError:
            return _crash(decision, "both boxes have zero area (upstream ZeroDivisionError in IoU)")
        key = "transposed" if opts["depth_indexing"] == "transposed" else "row_col"
        means = (raw.get("depth") or {}).get("box_means") or []
        if len(means) != len(labels):
            raise ValueError(f"3D raw output: expected one depth entry per detection ({len(labels)}), found {len(means)}")
        d1, d2 = means[p1][key], means[p2][key]
        pos = position_3d(rel, iou, d1, d2)
        score = 0.25 * scores[p1] + 0.25 * scores[p2] + pos / 2
        decision.update(matched=[p1, p2], iou=iou, depth=[d1, d2], position=pos)
    elif obj1 in joined:
        p1 = next((i for i, label in enumerate(labels) if obj1 in label), None)
        if p1 is None:
            return _crash(decision, "an object matched only across two joined labels (upstream TypeError)")
        score = 0.25 * scores[p1]
        decision["matched"] = [p1, None]
    elif obj2 in joined:
        p2 = next((i for i, label in enumerate(labels) if obj2 in label), None)
        if p2 is None:
            return _crash(decision, "an object matched only across two joined labels (upstream TypeError)")
        score = 0.25 * scores[p2]
        decision["matched"] = [None, p2]
    else:
        score = 0.0
        decision["matched"] = [None, None]
    decision["score"] = score  # no < 0.5 zeroing in 3D
    return decision


def dedup_detections(labels: Sequence[str], boxes: Sequence[Box]) -> tuple[list[str], list[Box]]:
    """numeracy's de-duplication: drop a box that 0.9-overlaps a kept box of the same label."""
    kept_labels: list[str] = []
    kept_boxes: list[Box] = []
    for label, box in zip(labels, boxes):
        if not any(overlaps_09(box, kb) and label == kl for kl, kb in zip(kept_labels, kept_boxes)):
            kept_labels.append(label)
            kept_boxes.append(box)
    return kept_labels, kept_boxes


def decide_numeracy(raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    targets = raw.get("numeracy") or {}
    objects = list(targets.get("objects") or [])
    counts = list(targets.get("counts") or [])
    decision: dict[str, Any] = {"failed": False, "objects": objects, "counts": counts,
                                "parse_notes": list(targets.get("notes") or [])}
    crash_notes = [n for n in decision["parse_notes"] if "raises" in n]
    if crash_notes:
        return _crash(decision, crash_notes[0])
    if not objects:
        return _crash(decision, "no counted object in the prompt (upstream ZeroDivisionError: 1/len(my_obj))")
    labels, _, boxes = _det_fields(raw)
    try:
        kept, _ = dedup_detections(labels, boxes)
    except ZeroDivisionError:
        return _crash(decision, "a degenerate box in de-duplication (upstream ZeroDivisionError)")
    weight = 1.0 / len(objects)
    score = 0.0
    found: list[int] = []
    for i, name in enumerate(objects):
        for old, new in NUMERACY_REMAP:
            if name == old:
                name = new
        if name not in kept:  # substring renaming mutates the list for later objects too
            kept = [name if name in label else label for label in kept]
        if name in kept:
            score += 0.5 * weight
            if i >= len(counts):
                return _crash(decision, "object without a count (upstream IndexError on num_obj)")
            n_det = kept.count(name)
            found.append(n_det)
            if n_det == counts[i]:
                score += 0.5 * weight
        else:
            found.append(0)
    decision.update(score=score, detected_counts=found)
    return decision


def decide_3in1(item: PromptItem, raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    sub = item.metadata.get("complex_sublist")
    if sub not in ("spatial", "action", "spatialaction"):
        raise ValueError(f"complex item {item.prompt_id}: metadata['complex_sublist'] must be spatial, action or "
                         f"spatialaction, found {sub!r}")
    needs = {"spatial": ("blip", "spatial"), "action": ("blip", "clip"), "spatialaction": ("blip", "spatial", "clip")}[sub]
    errors = {k: raw[k]["error"] for k in needs if "error" in (raw.get(k) or {"error": "missing"})}
    if errors:
        return {"score": 0.0, "failed": True, "sublist": sub, "error": errors}
    attribute = decide_blip(raw["blip"], options)["score"]
    spatial = decide_2d(raw["spatial"], options, complex_mode=True) if "spatial" in needs else None
    action = decide_clip(raw["clip"], options)["score"] if "clip" in needs else None
    s = spatial["score"] if spatial else None
    if sub == "spatial":
        score = (s + attribute) * 0.5
    elif sub == "action":
        score = (action + attribute) * 0.5
    else:
        score = (attribute + s + action) / 3
    return {"score": float(score), "failed": False, "sublist": sub, "blip": attribute, "spatial": s, "clip": action,
            "spatial_decision": spatial}


#: how each official script averages its image scores into the printed category score
#: ("left": ``total += x`` / ``sum(x)`` then ``/ len``; "np.mean": numpy's pairwise sum then ``/ n``)
CATEGORY_MEAN = {
    "color": "left", "shape": "left", "texture": "left",  # BLIP_vqa.py: reward_after += float('{:.4f}')
    "spatial": "left",  # 2D_spatial_eval.py: avg_score += float(answer); avg_score / len(result)
    "numeracy": "left",  # numeracy_eval.py: total_score += score; total_score / cnt
    "complex": "left",  # 3_in_1.py: sum(total_score) / len(total_score)
    "3d_spatial": "np.mean",  # 3D_spatial_eval.py: np.mean(score_list)
    "non_spatial": "left",  # CLIP_similarity.py prints no mean; we take sum / len like the others
}


def category_mean(category: str, scores: Sequence[float]) -> float:
    """A category's score from its image scores in image-index order, in the official script's
    float order (see :data:`CATEGORY_MEAN`), so the value and its printed ``str()`` match bit for bit."""
    if not scores:
        return float("nan")
    if CATEGORY_MEAN.get(category, "left") == "np.mean":
        return np_mean(scores)
    return left_mean(scores)


def official_score_text(category: str, scores: Sequence[float]) -> str | None:
    """The line the official script writes into its score file for these image scores (in
    image-index order), e.g. ``score avg:0.20000000000000004``; None for non_spatial, whose
    script writes no mean. Equal to the official text because :func:`category_mean` is."""
    if not scores or category == "non_spatial":
        return None
    value = category_mean(category, scores)
    if category in ("color", "shape", "texture"):
        return f"BLIP-VQA score:{value}"  # annotation_blip/blip_vqa_score.txt
    if category in ("spatial", "complex"):
        return f"score avg:{value}"  # annotation_obj_detection_2d/avg_score.txt, annotation_3_in_1/vqa_score.txt
    if category == "3d_spatial":
        return f"avg score is {value}"  # annotation_obj_detection_3d/avg_result.txt
    # numeracy: annotation_num/score.txt; total_score stays the int 0 while every image scores 0
    total = left_sum(scores) if any(scores) else 0
    return f"total:{total} num:{len(scores)} avg:{total / len(scores)}"


_BY_CATEGORY = {
    "color": decide_blip, "shape": decide_blip, "texture": decide_blip,
    "non_spatial": decide_clip, "spatial": decide_2d, "3d_spatial": decide_3d, "numeracy": decide_numeracy,
}


def decide(item: PromptItem, raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The official per-image score of one sample from its raw scorer output."""
    if "error" in raw:
        return {"score": 0.0, "failed": True, "error": raw["error"]}
    if item.category == "complex":
        return decide_3in1(item, raw, options)
    if item.category not in _BY_CATEGORY:
        raise ValueError(f"T2I-CompBench has no category {item.category!r}; expected one of "
                         f"{sorted([*_BY_CATEGORY, 'complex'])}")
    return _BY_CATEGORY[item.category](raw, options)


# ----------------------------------------------------------------------------- aggregation
AVERAGE6 = ["color", "shape", "texture", "spatial", "non_spatial", "complex"]  # T2I-R1 Table 1


def aggregate(rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """Per category, the official scripts' mean of the image scores in image-index order
    (row * 10 + k), in their float order (category_mean); Average6 over the six T2I-R1 columns."""
    by_cat: dict[str, list[tuple[int, int, float]]] = {}
    for r in rows:
        row = int((r.get("metadata") or {}).get("row", 0))
        by_cat.setdefault(r["category"], []).append((row, int(r.get("file_index", 0)), float(r["decision"]["score"])))
    ordered = {c: [v for _, _, v in sorted(vals, key=lambda t: t[:2])] for c, vals in by_cat.items()}
    scores: dict[str, Any] = {c: category_mean(c, v) for c, v in ordered.items()}
    if all(c in scores for c in AVERAGE6):
        scores["Average6"] = left_mean([scores[c] for c in AVERAGE6])  # T2I-R1's six-column mean (not official)
    # what each official script would write into its score file for these images
    scores["official_text"] = {c: t for c, v in ordered.items() if (t := official_score_text(c, v)) is not None}
    return scores
