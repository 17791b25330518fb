"""Find another model's images in a folder the way each suite's official evaluator finds them.

Users bring folders written by the benchmarks' own generation scripts, so every file name the
official evaluator accepts is accepted here, ordered as it orders them (docs: shared specs
geneval.md A.2, t2i_compbench.md A.3, wise.md B.3, dpg_bench.md "Image layout"); what it would
refuse or silently skip is refused or warned about here, naming the files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ImageError
from ..types import PromptItem

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: files the official layouts keep beside the images on purpose (never warned about)
KNOWN_EXTRAS = {"geneval": {"metadata.jsonl", "grid.png"}}


@dataclass
class FolderIndex:
    #: our run's relpath (the suite's canonical layout) -> the user's file
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def _few(names: list[str], n: int = 8) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def index_folder(suite: object, items: list[PromptItem], root: Path) -> FolderIndex:
    """Map every (item, file index) of ``items`` to the user's file under ``root``."""
    name = getattr(suite, "name", "")
    finder = {"geneval": _geneval, "t2i-compbench": _compbench, "wise": _wise, "dpg-bench": _dpg}.get(name, _exact)
    index = finder(suite, items, Path(root))
    _check_png_bytes(index)
    return index


def _check_png_bytes(index: FolderIndex) -> None:
    bad = []
    for path in index.files.values():
        if path.suffix.lower() == ".png":
            with open(path, "rb") as fh:
                if fh.read(8) != PNG_MAGIC:
                    bad.append(str(path))
    if bad:
        index.warnings.append(f"{len(bad)} file(s) named .png do not hold PNG bytes (the official evaluators open them "
                              f"anyway, so they are scored; re-save them as PNG to be safe): {_few(bad)}")


def _exact(suite: object, items: list[PromptItem], root: Path) -> FolderIndex:
    """A suite without its own rule: exactly the layout its YAML declares."""
    index = FolderIndex()
    for it in items:
        for f in range(suite.files_per_prompt):  # type: ignore[attr-defined]
            rel = suite.relpath(it, f)  # type: ignore[attr-defined]
            if (root / rel).is_file():
                index.files[rel] = root / rel
    return index


# ----------------------------------------------------------------------------- GenEval
_GENEVAL_SAMPLE = re.compile(r"\d+\.png")  # evaluate_images.py: re.match, so a prefix match is enough


def _geneval(suite: object, items: list[PromptItem], root: Path) -> FolderIndex:
    """``<root>/<digits>/samples/<digits>.png``: folder = metadata line index (any zero padding,
    e.g. generation.py's 5 digits), sample names as ``re.match(r"\\d+\\.png")``, in numeric order."""
    import json

    index = FolderIndex()
    folders: dict[int, list[str]] = {}
    skipped = []
    for entry in _listdir(root):
        if (root / entry).is_dir() and entry.isdigit():
            folders.setdefault(int(entry), []).append(entry)
        else:
            skipped.append(entry)
    if skipped:
        index.warnings.append(f"{root}: {len(skipped)} entr(ies) are not prompt folders (GenEval reads only all-digit "
                              f"folders) and are ignored: {_few(sorted(skipped))}")
    per_prompt = suite.files_per_prompt  # type: ignore[attr-defined]
    for it in items:
        n = int(it.prompt_id)
        found = folders.get(n, [])
        if len(found) > 1:
            raise ImageError(f"{root}: folders {sorted(found)} both name prompt {n} ({it.prompt!r}); GenEval would score "
                             f"both. Keep one of them")
        if not found:
            continue
        folder = root / found[0]
        meta = folder / "metadata.jsonl"
        if meta.is_file():
            try:
                theirs = json.loads(meta.read_text(encoding="utf-8")).get("prompt")
            except (json.JSONDecodeError, AttributeError):
                theirs = None
            if theirs is not None and theirs != it.prompt:
                raise ImageError(f"{meta}: holds prompt {theirs!r}, expected {it.prompt!r} (line {n} of GenEval's "
                                 f"evaluation_metadata.jsonl). GenEval scores each folder against its own metadata.jsonl; "
                                 f"number the folders by metadata line")
        names = _listdir(folder / "samples")
        samples = sorted((nm for nm in names if _GENEVAL_SAMPLE.match(nm)), key=lambda s: (int(re.match(r"\d+", s).group()), s))
        others = sorted(nm for nm in names if not _GENEVAL_SAMPLE.match(nm) and nm not in KNOWN_EXTRAS["geneval"])
        if others:
            index.warnings.append(f"{folder / 'samples'}: ignored (not <digits>.png, which GenEval reads): {_few(others)}")
        if len(samples) > per_prompt:
            index.warnings.append(f"{folder / 'samples'}: {len(samples)} samples, the protocol scores {per_prompt}; "
                                  f"using the first {per_prompt} in numeric order, ignoring {_few(samples[per_prompt:])}")
        for f, nm in enumerate(samples[:per_prompt]):
            index.files[suite.relpath(it, f)] = folder / "samples" / nm  # type: ignore[attr-defined]
    return index


# ----------------------------------------------------------------------------- T2I-CompBench
_COMPBENCH = re.compile(r"([^_]+)_(\d+)\.png")


def _compbench(suite: object, items: list[PromptItem], root: Path) -> FolderIndex:
    """``<root>/<category>/samples/{prompt}_{idx}.png``, idx any zero padding: the evaluators take the
    prompt from the text before '_' and order files by int(idx); the 3-in-1 script then aligns them by
    position, 10 per prompt in file order. So the k-th file in idx order belongs to row k // 10."""
    index = FolderIndex()
    per_prompt = suite.files_per_prompt  # type: ignore[attr-defined]
    by_cat: dict[str, list[PromptItem]] = {}
    for it in items:
        by_cat.setdefault(it.category, []).append(it)
    strays = sorted(nm for nm in _listdir(root) if nm not in suite.categories)  # type: ignore[attr-defined]
    if strays:
        index.warnings.append(f"{root}: ignored (not a category folder; expected {', '.join(suite.categories)}): "  # type: ignore[attr-defined]
                              f"{_few(strays)}")
    for category, cat_items in by_cat.items():
        folder = root / category / "samples"
        names = _listdir(folder)
        good = sorted((nm for nm in names if _COMPBENCH.fullmatch(nm)), key=lambda s: (int(_COMPBENCH.fullmatch(s).group(2)), s))
        others = sorted(nm for nm in names if not _COMPBENCH.fullmatch(nm))
        if others:
            index.warnings.append(f"{folder}: ignored (not {{prompt}}_{{index}}.png, which the T2I-CompBench evaluators "
                                  f"read): {_few(others)}")
        for it in cat_items:
            row = it.metadata["row"]
            for k in range(per_prompt):
                pos = row * per_prompt + k
                if pos >= len(good):
                    continue
                nm = good[pos]
                prompt = _COMPBENCH.fullmatch(nm).group(1)
                if prompt != it.prompt:
                    raise ImageError(
                        f"{folder / nm}: file {pos + 1} in index order names prompt {prompt!r}, expected {it.prompt!r} "
                        f"(row {row} of {category}_val, image {k}). The official evaluators order files by the number "
                        f"after '_' and the 3-in-1 score aligns them by position, {per_prompt} per prompt in file order: "
                        f"number them row*{per_prompt}+k")
                index.files[suite.relpath(it, k)] = folder / nm  # type: ignore[attr-defined]
    return index


# ----------------------------------------------------------------------------- WISE
def _wise(suite: object, items: list[PromptItem], root: Path) -> FolderIndex:
    """``<root>/{prompt_id}.png`` exactly (gpt_eval.py joins that name)."""
    index = FolderIndex()
    for it in items:
        path = root / f"{it.prompt_id}.png"
        if path.is_file():
            index.files[suite.relpath(it, 0)] = path  # type: ignore[attr-defined]
    others = sorted(nm for nm in _listdir(root) if not re.fullmatch(r"\d+\.png", nm))
    if others:
        index.warnings.append(f"{root}: ignored (WISE reads only <prompt_id>.png): {_few(others)}")
    return index


# ----------------------------------------------------------------------------- DPG-Bench
def _dpg(suite: object, items: list[PromptItem], root: Path) -> FolderIndex:
    """``<root>/<item_id>.<any ext>``: compute_dpg_bench.py keys every entry by ``name.split('.')[0]``
    and opens it with PIL, so .jpg (and any other format PIL reads) is accepted."""
    index = FolderIndex()
    by_key: dict[str, list[str]] = {}
    for nm in _listdir(root):
        if (root / nm).is_file():
            by_key.setdefault(nm.split(".")[0], []).append(nm)
    ids = {it.prompt_id for it in items}
    for it in items:
        found = sorted(by_key.get(it.prompt_id, []))
        if len(found) > 1:
            raise ImageError(f"{root}: {found} all name item {it.prompt_id}; compute_dpg_bench.py would score each of them "
                             f"(counting the prompt twice). Keep one")
        if found:
            index.files[suite.relpath(it, 0)] = root / found[0]  # type: ignore[attr-defined]
    others = sorted(nm for key, names in by_key.items() if key not in ids and not re.fullmatch(r"[A-Za-z_]*\d+", key)
                    for nm in names)
    if others:
        index.warnings.append(f"{root}: not DPG-Bench item files (compute_dpg_bench.py would fail on them and drop them): "
                              f"{_few(others)}")
    return index
