"""WISE rules: judge reply -> scores -> WiScore -> per-category means -> Overall.

Pure functions (no model or HTTP imports), so a run can be re-scored from its stored judge
replies with another parser or failure policy without calling the judge again.

Faithfulness notes (spec: shared/specs/wise.md, official code PKU-YuanGroup/WISE @ eb51174):

* Legacy parser ``parser="official"`` reproduces WISE_legacy/gpt_eval.py ``extract_scores``:
  case-insensitive ``\\*{0,2}(Consistency|Realism|Aesthetic Quality)\\*{0,2}\\s*:?\\s*(\\d)``
  (ASCII colon only; ``\\d`` is any Unicode digit and ``float()`` converts it; one digit is
  captured, so "Consistency: 10" reads 1 and "Realism: 5" reads 5; the last match of a key
  wins). Only when *no* key matched, the 2026 fallback reads bare lines ``^\\s*([0-2])\\s*$``
  and takes the first three as C, R, A. All three keys are required, else the attempt failed.
* ``parser="strict"`` (our corrected reading) also accepts the full-width colon the first
  upload accepted, a "(0-2)" label before the colon, bold anywhere around the colon or the value
  ("**Realism:** 1", which the official regex misses), reads a whole
  number and rejects anything outside 0..2 (so a WiScore can never exceed 1).
* Verified parser reproduces vllm_eval.py: strip ``<think>...</think>`` then stray
  ``</think>``, then ``re.search`` (first match) of ``\\*{0,2}Score\\*{0,2}\\s*:?\\s*([01])\\b``
  case-insensitively; fallback: exactly one bare ``0``/``1`` line.
* Failure policy: ``failure_policy="zero"`` (ours, default) scores an image whose judge gave no
  parseable reply after its retries as 0 and reports it by id; ``"skip"`` is the official
  behaviour: the image is left out of its category mean and Overall is refused unless every
  id of the protocol is present and scored.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..errors import DataError
from .official_math import left_mean, left_sum

PROTOCOLS = ("legacy", "verified")

#: the judge each protocol was published with; anything else is a different metric
PINNED_JUDGES: dict[str, str] = {
    "legacy": "gpt-4o-2024-05-13",
    "verified": "Qwen3.5-35B-A3B",
}

#: what the tables call the metric when the pinned judge produced it
METRIC_NAMES: dict[str, str] = {"legacy": "WiScore", "verified": "WISE-Verified"}

CATEGORIES = ("culture", "time", "space", "biology", "physics", "chemistry")

#: inclusive prompt_id ranges, as the official calculators group (see category_of)
ID_RANGES: dict[str, dict[str, tuple[int, int]]] = {
    "legacy": {
        "culture": (1, 400),
        "time": (401, 567),
        "space": (568, 700),
        "biology": (701, 800),
        "physics": (801, 900),
        "chemistry": (901, 1000),
    },
    "verified": {
        "culture": (1, 400),
        "time": (401, 520),
        "space": (521, 640),
        "biology": (641, 760),
        "physics": (761, 880),
        "chemistry": (881, 1000),
    },
}

#: the official Overall weights (n_category / 1000 on the full set)
OFFICIAL_WEIGHTS: dict[str, dict[str, float]] = {
    "legacy": {"culture": 0.4, "time": 0.167, "space": 0.133, "biology": 0.1, "physics": 0.1, "chemistry": 0.1},
    "verified": {"culture": 0.4, "time": 0.12, "space": 0.12, "biology": 0.12, "physics": 0.12, "chemistry": 0.12},
}

#: images per category on a full run (the weights above times 1000)
OFFICIAL_COUNTS: dict[str, dict[str, int]] = {
    p: {c: hi - lo + 1 for c, (lo, hi) in ranges.items()} for p, ranges in ID_RANGES.items()
}

#: the data files' "Category" field, mapped to our category names (used as a cross-check)
CATEGORY_FIELD: dict[str, str] = {
    "Cultural knowledge": "culture",
    "time": "time",
    "Space": "space",
    "Biology": "biology",
    "Physical Knowledge": "physics",
    "Chemistry": "chemistry",
}

PARSERS = ("official", "strict")
FAILURE_POLICIES = ("zero", "skip")

_LEGACY_KEYS = ("consistency", "realism", "aesthetic_quality")
_LEGACY_OFFICIAL = re.compile(r"\*{0,2}(Consistency|Realism|Aesthetic Quality)\*{0,2}\s*[:]?\s*(\d)", re.IGNORECASE)
_LEGACY_STRICT = re.compile(
    r"(Consistency|Realism|Aesthetic Quality)[\s*]*(?:\(\s*0\s*[-–]\s*2\s*\))?[\s*]*[:：]?[\s*]*([0-9]+)(?![0-9.])",
    re.IGNORECASE,
)
_LEGACY_BARE = re.compile(r"(?m)^\s*([0-2])\s*$")
_VERIFIED_OFFICIAL = re.compile(r"\*{0,2}Score\*{0,2}\s*[:]?\s*([01])\b", re.IGNORECASE)
_VERIFIED_STRICT = re.compile(r"Score[\s*]*[:：]?[\s*]*([0-9]+)(?![0-9.])", re.IGNORECASE)
_VERIFIED_BARE = re.compile(r"(?m)^\s*([01])\s*$")
_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_THINK_CLOSE = re.compile(r"</think>\s*")


def _check(name: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"WISE option {name}: expected one of {', '.join(allowed)}, found {value!r}")
    return value


def protocol_of(options: dict[str, Any]) -> str:
    return _check("protocol", str(options.get("protocol", "legacy")), PROTOCOLS)


# --------------------------------------------------------------------------------------------
# categories


def category_of(row: dict[str, Any], protocol: str) -> str:
    """The official category of a WISE data row, by prompt_id range.

    The official calculators group by id range (natural science, lmms-eval, WISE_Verified) or,
    for time/space in the 2025 scripts, by Subcategory; on the legacy data both give the same
    split, and the row's own ``Category`` field must agree with the range: a disagreement means
    the rows of one protocol were loaded under the other, which is refused.
    """
    _check("protocol", protocol, PROTOCOLS)
    try:
        pid = int(row["prompt_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"WISE row: expected an integer 'prompt_id', found {row.get('prompt_id')!r}") from exc
    found = None
    for cat, (lo, hi) in ID_RANGES[protocol].items():
        if lo <= pid <= hi:
            found = cat
            break
    if found is None:
        raise DataError(f"WISE {protocol} row: expected prompt_id in 1..1000, found {pid}")
    field = row.get("Category")
    if field is not None and CATEGORY_FIELD.get(field) != found:
        raise DataError(
            f"WISE {protocol} prompt_id {pid}: id range says category {found!r} but the row's Category is "
            f"{field!r}; the data file does not belong to the {protocol} protocol (legacy and Verified cut "
            "the id ranges differently)"
        )
    return found


# --------------------------------------------------------------------------------------------
# parsing


def strip_think(text: str) -> str:
    """vllm_eval.py's clean-up: drop <think> blocks, then a stray </think>, then strip."""
    return _THINK_CLOSE.sub("", _THINK_BLOCK.sub("", text)).strip()


def parse_legacy(text: str, parser: str = "official") -> dict[str, Any]:
    """-> {"ok", "scores": {consistency, realism, aesthetic_quality}, "route", "problem"}."""
    _check("parser", parser, PARSERS)
    pattern = _LEGACY_OFFICIAL if parser == "official" else _LEGACY_STRICT
    found: dict[str, float] = {}
    out_of_range: list[str] = []
    for key, value in pattern.findall(text):
        name = key.lower().replace(" ", "_")
        number = float(value)  # official: float() of one Unicode digit; strict: ASCII digits only
        if parser == "strict" and not 0 <= number <= 2:
            out_of_range.append(f"{name}={value}")
            found.pop(name, None)
            continue
        found[name] = number  # later matches win, as in the official dict update
    route = "keys"
    if not found and not out_of_range:
        nums = _LEGACY_BARE.findall(text)
        if len(nums) >= 3:
            found = dict(zip(_LEGACY_KEYS, (float(n) for n in nums[:3])))
            route = "bare_lines"
    missing = [k for k in _LEGACY_KEYS if k not in found]
    if missing:
        problem = f"no score for {', '.join(missing)}"
        if out_of_range:
            problem += f" (out of range 0-2: {', '.join(out_of_range)})"
        return {"ok": False, "scores": found, "route": route, "problem": problem}
    scores = {k: found[k] for k in _LEGACY_KEYS}
    result: dict[str, Any] = {"ok": True, "scores": scores, "route": route, "problem": None}
    if any(not 0 <= v <= 2 for v in scores.values()):
        # the official parser reads "Realism: 5" as 5; kept in official mode, flagged
        result["out_of_range"] = True
    return result


def parse_verified(text: str, parser: str = "official") -> dict[str, Any]:
    """-> {"ok", "scores": {"score": 0/1}, "route", "problem"} after stripping <think>."""
    _check("parser", parser, PARSERS)
    clean = strip_think(text)
    if parser == "official":
        match = _VERIFIED_OFFICIAL.search(clean)
        if match:
            return {"ok": True, "scores": {"score": float(match.group(1))}, "route": "key", "problem": None}
    else:
        values = _VERIFIED_STRICT.findall(clean)
        if values:
            value = float(values[0])
            if value in (0.0, 1.0):
                return {"ok": True, "scores": {"score": value}, "route": "key", "problem": None}
            return {"ok": False, "scores": {}, "route": "key", "problem": f"Score {values[0]} is not 0 or 1"}
    nums = _VERIFIED_BARE.findall(clean)
    if len(nums) == 1:
        return {"ok": True, "scores": {"score": float(nums[0])}, "route": "bare_line", "problem": None}
    return {"ok": False, "scores": {}, "route": None, "problem": "no 'Score: 0/1' line and not exactly one bare 0/1 line"}


def parse_reply(protocol: str, text: str, parser: str = "official") -> dict[str, Any]:
    _check("protocol", protocol, PROTOCOLS)
    if not isinstance(text, str):
        return {"ok": False, "scores": {}, "route": None, "problem": f"reply is {type(text).__name__}, not text"}
    return parse_legacy(text, parser) if protocol == "legacy" else parse_verified(text, parser)


def wiscore(consistency: float, realism: float, aesthetic_quality: float) -> float:
    """Normalized WiScore, in [0, 1] for scores in 0..2 (the /2 is in the code since 2025-05)."""
    return (0.7 * consistency + 0.2 * realism + 0.1 * aesthetic_quality) / 2


# --------------------------------------------------------------------------------------------
# judge identity


def is_pinned_judge(protocol: str, model: str | None, model_returned: str | None = None) -> bool:
    """True when both the requested and (if known) the served model are the protocol's judge.

    Legacy needs the exact dated snapshot (an undated "gpt-4o" alias moved Overall by 0.08);
    Verified matches the repository-less name, so "Qwen/Qwen3.5-35B-A3B" served by vLLM counts.
    """
    pinned = PINNED_JUDGES[protocol]

    def same(name: str | None) -> bool:
        if not name:
            return False
        if protocol == "legacy":
            return name == pinned
        return name.rsplit("/", 1)[-1].lower() == pinned.lower()

    return same(model) and (model_returned is None or same(model_returned))


def judge_label(judge: dict[str, Any] | None) -> str:
    """The judge's name as shown in tables: the served name when the server reported one."""
    if not judge:
        return "unknown"
    return str(judge.get("model_returned") or judge.get("model") or "unknown")


def metric_name(protocol: str, judge: dict[str, Any] | None) -> str:
    """"WiScore" for the pinned judge, "WiScore[judge=<id>]" for any other (a different metric)."""
    base = METRIC_NAMES[protocol]
    if judge and not judge.get("tiny") and is_pinned_judge(protocol, judge.get("model"), judge.get("model_returned")):
        return base
    return f"{base}[judge={judge_label(judge)}]"


# --------------------------------------------------------------------------------------------
# decide / aggregate


def decide(item: Any, raw: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """One image: parse the stored final reply with ``options["parser"]`` and score it.

    ``failed`` is True when the judge gave no reply (``raw["error"]``) or its final reply does not
    parse; the score is then 0 (its treatment in the aggregate follows ``failure_policy``).
    """
    protocol = protocol_of(options)
    parser = _check("parser", str(options.get("parser", "official")), PARSERS)
    judge = raw.get("judge") or {}
    decision: dict[str, Any] = {
        "protocol": protocol,
        "parser": parser,
        "judge": judge_label(judge),
        "metric": metric_name(protocol, judge),
        "pinned_judge": metric_name(protocol, judge) == METRIC_NAMES[protocol],
        "attempts": len(raw.get("attempts") or []),
        "cache_hit": bool(raw.get("cache_hit", False)),
    }
    if raw.get("protocol") not in (None, protocol):
        raise DataError(
            f"WISE raw output was judged under protocol {raw.get('protocol')!r} but the suite asks for "
            f"{protocol!r}; re-judge instead of re-scoring"
        )
    reply = raw.get("reply")
    parsed = parse_reply(protocol, reply, parser) if reply is not None else None
    if parsed is None or not parsed["ok"]:
        reason = raw.get("error") or (parsed["problem"] if parsed else "no judge reply")
        decision.update(score=0.0, failed=True, reason=str(reason))
        if protocol == "legacy":
            decision.update(consistency=0.0, realism=0.0, aesthetic_quality=0.0)
        return decision
    scores = parsed["scores"]
    if protocol == "legacy":
        decision.update(
            consistency=scores["consistency"],
            realism=scores["realism"],
            aesthetic_quality=scores["aesthetic_quality"],
            score=wiscore(scores["consistency"], scores["realism"], scores["aesthetic_quality"]),
        )
        if parsed.get("out_of_range"):
            decision["out_of_range"] = True
    else:
        decision["score"] = scores["score"]
    decision.update(failed=False, route=parsed["route"])
    return decision


def failed_ids(rows: list[dict[str, Any]]) -> list[str]:
    """Prompt ids whose image scored nothing: the run prints these, never hides them."""
    return sorted((str(r["prompt_id"]) for r in rows if r["decision"].get("failed")), key=_id_sort_key)


def _id_sort_key(pid: str) -> tuple[int, int, str]:
    return (0, int(pid), "") if pid.isdigit() else (1, 0, pid)


def aggregate(rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """Per-category mean score and the Overall, in the official calculator's float order.

    Category = ``sum(scores) / len(scores)`` left to right in prompt-id order (Calculate.py).
    Overall: when every category holds its full official count of images, the official formula
    ``0.4 * Culture + 0.167 * Time + 0.133 * Space + 0.1 * Biology + 0.1 * Physics + 0.1 *
    Chemistry`` (legacy; Verified 0.4 and 0.12 x 5), evaluated left to right exactly as printed
    upstream; its weights are n_category/1000, so it is the count-weighted mean up to the last
    bit. On a partial run the fixed weights would mis-weight, so ``overall`` is then the
    count-weighted mean (the sum of all scores over their number); ``overall_official_weights``
    (the formula whenever all six categories have images) shows the difference instead of hiding
    it. Every value is a float except ``metric`` (a label string).
    """
    protocol = protocol_of(options)
    policy = _check("failure_policy", str(options.get("failure_policy", "zero")), FAILURE_POLICIES)
    per_cat: dict[str, list[float]] = {c: [] for c in CATEGORIES}
    seen: set[int] = set()
    n_failed = 0
    metrics: set[str] = set()
    for row in sorted(rows, key=lambda r: _id_sort_key(str(r["prompt_id"]))):  # the official sums run in id order
        decision = row["decision"]
        cat = row.get("category") or category_of(row.get("metadata") or {"prompt_id": row["prompt_id"]}, protocol)
        if cat not in per_cat:
            raise DataError(f"WISE row {row['prompt_id']}: expected a category in {CATEGORIES}, found {cat!r}")
        metrics.add(decision.get("metric", METRIC_NAMES[protocol]))
        if decision.get("failed"):
            n_failed += 1
            if policy == "skip":
                continue  # official: the image is skipped, not scored 0
        per_cat[cat].append(float(decision["score"]))
        if str(row["prompt_id"]).isdigit():
            seen.add(int(row["prompt_id"]))
    out: dict[str, Any] = {}
    weights = OFFICIAL_WEIGHTS[protocol]
    total = sum(len(v) for v in per_cat.values())
    for cat in CATEGORIES:
        if per_cat[cat]:
            out[cat] = left_mean(per_cat[cat])  # official: sum(scores) / len(scores)
        out[f"n_{cat}"] = float(len(per_cat[cat]))
    if total:
        if all(per_cat[c] for c in CATEGORIES):
            # the official expression, term by term left to right: ((0.4*c + 0.167*t) + 0.133*s) + ...
            official = 0.0
            for i, c in enumerate(CATEGORIES):
                term = weights[c] * out[c]
                official = term if i == 0 else official + term
            out["overall_official_weights"] = official
        full = all(len(per_cat[c]) == OFFICIAL_COUNTS[protocol][c] for c in CATEGORIES)
        out["overall"] = out["overall_official_weights"] if full else left_sum([x for c in CATEGORIES for x in per_cat[c]]) / total
    complete = seen >= set(range(1, 1001))
    if policy == "skip" and not complete:
        # official calculators refuse an Overall unless every id 1-1000 was scored
        out.pop("overall", None)
        out.pop("overall_official_weights", None)
        out["overall_refused_missing_ids"] = float(len(set(range(1, 1001)) - seen))
    out["n_images"] = float(len(rows))
    out["n_failed"] = float(n_failed)
    out["complete"] = 1.0 if complete else 0.0
    if len(metrics) <= 1:
        out["metric"] = metrics.pop() if metrics else METRIC_NAMES[protocol]
    else:  # rows judged by different judges are not one metric: say so
        out["metric"] = f"{METRIC_NAMES[protocol]}[judge=mixed:{'|'.join(sorted(metrics))}]"
    return out
