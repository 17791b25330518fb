"""The run directory: the unit of work, readable by the official evaluators, resumable.

    <run>/config.json                 resolved config; its "identity" must match on resume
    <run>/provenance.json             tool/library versions, device, command (latest invocation)
    <run>/images/...                  the suite's official layout
    <run>/manifest/rank-NNNNN.jsonl   one line per generated image (inputs, seed, CoT, knobs, time)
    <run>/records/<scorer>/rank-NNNNN.jsonl   raw scorer outputs, one line per image file
    <run>/decisions.jsonl             per-image decisions (pure function of records; rebuilt by rescore)
    <run>/summary.json                aggregate table row + provenance + failures
    <run>/tables/                     leaderboards written by `report`

Every stage writes the run directory through this class (the suite's own official files
included: ``write_extras`` / ``write_official`` hand the suite module its folder), so what a
run dir may hold is listed in one place.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
import shutil
from typing import Any, Callable, Iterable

from .errors import ConfigError, ImageError
from .io import append_jsonl, atomic_write_bytes, atomic_write_json, atomic_write_text, dumps, read_json, read_jsonl

log = logging.getLogger(__name__)


class RunStore:
    def __init__(self, root: Path, rank: int = 0) -> None:
        self.root = Path(root)
        self.rank = rank
        self.images = self.root / "images"

    # ------------------------------------------------------------------ config
    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    def claim(self, config: dict[str, Any]) -> None:
        """Write the config on first use; refuse a directory made with a different identity."""
        if self.config_path.exists():
            old = read_json(self.config_path)
            if old.get("identity") != config["identity"]:
                diff = _diff(old.get("identity", {}), config["identity"])
                raise ConfigError(
                    f"{self.root} was made with another config, refusing to mix results. Differences "
                    f"(key: in the directory -> now): {diff}. Use a new --run-dir, or the same options as before."
                )
            return
        atomic_write_json(self.config_path, config)

    def config(self) -> dict[str, Any]:
        if not self.config_path.exists():
            raise ConfigError(f"{self.root} is not a run directory: expected {self.config_path}")
        return read_json(self.config_path)

    @property
    def provenance_path(self) -> Path:
        return self.root / "provenance.json"

    def write_provenance(self, env: dict[str, Any]) -> None:
        atomic_write_json(self.provenance_path, env)

    def provenance(self) -> dict[str, Any]:
        return read_json(self.provenance_path) if self.provenance_path.exists() else {}

    # ------------------------------------------------------------------ images
    def image_path(self, relpath: str) -> Path:
        path = (self.images / relpath).resolve()
        if not path.is_relative_to(self.images.resolve()):
            raise ImageError(f"image path {relpath!r} escapes {self.images}")
        return path

    def save_image(self, relpath: str, image: Any) -> Path:
        """PNG, written atomically (PIL -> bytes -> temp file -> rename)."""
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        path = self.image_path(relpath)
        atomic_write_bytes(path, buf.getvalue())
        return path

    def import_image(self, relpath: str, src: Path) -> Path:
        """Copy an existing image file into the layout (temp file + rename); a no-op when
        ``src`` already is that file (a folder run in place)."""
        dst = self.image_path(relpath)
        if Path(src).resolve() != dst.resolve():
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.tmp")
            shutil.copyfile(src, tmp)
            tmp.replace(dst)
        return dst

    def write_extras(self, writer: Callable[[Path, Any], None], item: Any) -> None:
        """The suite's per-prompt files beside the images (e.g. GenEval's metadata.jsonl)."""
        writer(self.images, item)

    # ------------------------------------------------------------------ manifest
    def manifest_path(self, rank: int | None = None) -> Path:
        return self.root / "manifest" / f"rank-{self.rank if rank is None else rank:05d}.jsonl"

    def append_manifest(self, rows: Iterable[dict[str, Any]]) -> None:
        append_jsonl(self.manifest_path(), rows)

    def manifest(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for p in sorted((self.root / "manifest").glob("rank-*.jsonl")):
            rows.extend(read_jsonl(p))
        return rows

    # ------------------------------------------------------------------ records
    def records_path(self, scorer: str, rank: int | None = None) -> Path:
        return self.root / "records" / scorer / f"rank-{self.rank if rank is None else rank:05d}.jsonl"

    def append_records(self, scorer: str, rows: Iterable[dict[str, Any]]) -> None:
        append_jsonl(self.records_path(scorer), rows)

    def records(self) -> dict[tuple[str, int], dict[str, Any]]:
        """(prompt_id, file_index) -> record, over every scorer and rank; later lines win."""
        out: dict[tuple[str, int], dict[str, Any]] = {}
        for p in sorted((self.root / "records").glob("*/rank-*.jsonl")):
            for row in read_jsonl(p):
                out[(row["prompt_id"], int(row["file_index"]))] = row
        return out

    def scorer_meta_path(self, scorer: str) -> Path:
        return self.root / "records" / scorer / "scorer.json"

    def claim_scorer(self, scorer: str, identity: dict[str, Any]) -> None:
        path = self.scorer_meta_path(scorer)
        if path.exists():
            old = read_json(path)
            if old.get("identity") != identity:
                raise ConfigError(
                    f"{path.parent} holds records of scorer {scorer!r} with another configuration "
                    f"({_diff(old.get('identity', {}), identity)}). Use a new --run-dir, or `t2ir1-eval score --fresh` "
                    f"to discard these records."
                )
            return
        atomic_write_json(path, {"identity": identity})

    def write_scorer_description(self, scorer: str, description: dict[str, Any]) -> None:
        atomic_write_json(self.scorer_meta_path(scorer).with_name("describe.json"), description)

    def scorer_descriptions(self) -> dict[str, dict[str, Any]]:
        """scorer name -> its ``describe()`` as recorded when it scored."""
        return {d.parent.name: read_json(d) for d in sorted((self.root / "records").glob("*/describe.json"))}

    # ------------------------------------------------------------------ results
    @property
    def summary_path(self) -> Path:
        return self.root / "summary.json"

    def write_decisions(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_text(self.root / "decisions.jsonl", "".join(dumps(r) + "\n" for r in rows))

    def write_official(self, writer: Callable[[Path, list[dict[str, Any]]], None], rows: list[dict[str, Any]]) -> None:
        """The benchmark's own result files (e.g. GenEval's results.jsonl), by the suite module."""
        writer(self.root, rows)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.summary_path, summary)

    def summary(self) -> dict[str, Any]:
        return read_json(self.summary_path) if self.summary_path.exists() else {}


def _diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> str:
    parts = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k, "<absent>"), b.get(k, "<absent>")
        if isinstance(va, dict) and isinstance(vb, dict):
            sub = _diff(va, vb, f"{prefix}{k}.")
            if sub:
                parts.append(sub)
        elif va != vb:
            parts.append(f"{prefix}{k}: {json.dumps(va)[:80]} -> {json.dumps(vb)[:80]}")
    return "; ".join(parts)
