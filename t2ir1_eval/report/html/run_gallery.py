"""A large run's gallery cut into pages: one gallery per category, a fixed number of cards a page.

Pure planning (which card goes to which file); pages.py renders the plan. File names never clash:
a category's name keeps only letters, digits and '-', so the '_pN' page suffix is unambiguous.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

STATUSES = ("pass", "fail", "error", "scored")


@dataclass
class GalleryPage:
    file: str  # name inside the run's gallery folder
    number: int  # 1-based
    cards: list[dict[str, Any]]
    first: int  # 1-based index of its first card within the category


@dataclass
class CategoryGallery:
    category: str
    display: str
    file_slug: str
    counts: dict[str, int]  # per outcome (STATUSES)
    pages: list[GalleryPage] = field(default_factory=list)

    @property
    def n(self) -> int:
        return sum(len(p.cards) for p in self.pages)


def category_slugs(categories: list[str]) -> dict[str, str]:
    """A file-name-safe, unique (also on case-insensitive file systems) slug per category."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for c in categories:
        base = re.sub(r"[^A-Za-z0-9-]+", "-", c).strip("-") or "category"
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            name = f"{base}-{k}"
        taken.add(name.lower())
        out[c] = name
    return out


def page_file(file_slug: str, number: int) -> str:
    return f"{file_slug}.html" if number == 1 else f"{file_slug}_p{number}.html"


def plan_gallery(cards: list[dict[str, Any]], categories: list[str], display: Callable[[str], str],
                 page_size: int) -> list[CategoryGallery]:
    """Per category (in the given order) its cards in pages of at most ``page_size``."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    slugs = category_slugs(categories)
    out = []
    for c in categories:
        mine = [x for x in cards if x["im"].category == c]
        counts = Counter(x["status"] for x in mine)
        g = CategoryGallery(category=c, display=display(c), file_slug=slugs[c], counts={s: counts.get(s, 0) for s in STATUSES})
        for i in range(0, len(mine), page_size):
            n = i // page_size + 1
            g.pages.append(GalleryPage(file=page_file(slugs[c], n), number=n, cards=mine[i:i + page_size], first=i + 1))
        out.append(g)
    return out
