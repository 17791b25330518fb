"""The badges of a leaderboard row: what a reader must know before comparing it.

One source for every rendering: the markdown/CSV/JSON/Parquet tables print a badge's text, the
HTML pages print the same text with ``kind`` as its CSS class and ``why`` as its tooltip.
"""

from __future__ import annotations

from typing import Any

from ..suites.spec import Suite


class Badge(str):
    """A badge's text (``smoke``, ``partial 16/2400``, ``judge=…``, ``corrected: opt=val``, ``failed n/N``,
    ``unverified: column``), with its ``kind`` and a longer ``why``.

    A ``str`` so the tables (and anyone reading ``row["badges"]``) keep handling plain texts.
    """

    kind: str
    why: str

    def __new__(cls, text: str, kind: str, why: str) -> "Badge":
        self = super().__new__(cls, text)
        self.kind, self.why = kind, why
        return self

    def __reduce__(self) -> tuple[Any, tuple[str, str, str]]:  # copy and pickle keep kind and why
        return Badge, (str(self), self.kind, self.why)


def partial_of(suite: Suite, summary: dict[str, Any]) -> tuple[int, int] | None:
    """(prompts the run covers, prompts of the whole suite) for a partial run, else None.

    summary.json's ``partial`` (written by finalise against the suite's prompts as loaded) is the
    record; a summary written before that field existed is compared with the suite's size.
    """
    if "partial" in summary:
        p = summary["partial"]
        return (int(p["n_prompts"]), int(p["of_prompts"])) if p else None
    n, expected = summary.get("n_prompts"), suite.expected_prompts
    if n is not None and expected and n < expected:
        return int(n), int(expected)
    return None


def run_badges(suite: Suite, summary: dict[str, Any]) -> list[Badge]:
    """Badges of one of our runs: smoke, partial, judge, corrected mode, failures (in that order)."""
    badges = []
    if not summary.get("comparable", True):
        badges.append(Badge("smoke", "smoke", "not comparable to published numbers (tiny model, unpinned scorer or "
                                              "fallback data)"))
    partial = partial_of(suite, summary)
    if partial:
        # a --limit/--category run never sits unmarked beside published rows
        badges.append(Badge(f"partial {partial[0]}/{partial[1]}", "partial",
                            f"{partial[0]} of the suite's {partial[1]} prompts"))
    metric = summary.get("metric")
    if isinstance(metric, str) and "judge=" in metric:
        # A judge other than the protocol's pinned one is a different metric: say so on the row.
        badges.append(Badge("judge=" + metric.split("judge=", 1)[1].rstrip("]"), "judge",
                            f"metric {metric}: a judge other than the protocol's pinned one"))
    opts = summary.get("provenance", {}).get("options") or {}
    changed = [f"{k}={v}" for k, v in opts.items() if k in suite.options_spec and v != suite.options_spec[k].default]
    if changed:
        badges.append(Badge("corrected: " + ",".join(changed), "corrected",
                            "rule options differ from the official defaults: " + ", ".join(changed)))
    if summary.get("n_failed"):
        n, of = summary["n_failed"], summary.get("n_images", "?")
        badges.append(Badge(f"failed {n}/{of}", "failed",
                            f"{n} of {of} images the scorer could not judge (scored as the protocol says)"))
    return badges


def published_badges(shaky_columns: list[str]) -> list[Badge]:
    """A published row whose values for some columns rest on an unverified source."""
    if not shaky_columns:
        return []
    cols = ", ".join(shaky_columns)
    return [Badge(f"unverified: {cols}", "unverified", f"the published value of {cols} is not verified against its source")]


def common_badges(groups: list[list[Badge]]) -> list[Badge]:
    """The badges every member carries (by text), in the first member's order: a row summing several runs."""
    if not groups:
        return []
    rest = [set(g) for g in groups[1:]]
    return [b for b in groups[0] if all(b in s for s in rest)]
