"""Benchmark data: find each pinned file, verify it, and say what to do when it is missing.

Resolution order for a file declared in a suite YAML (``path`` relative to a data root):
``--data-dir``, then ``$T2IR1_EVAL_DATA``, then the user cache, then a download from the
pinned upstream URL into the cache. Every file is checked against its sha256 (or git blob
hash) before use, wherever it came from; a mismatch is an error, never a warning.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..io import atomic_write_bytes, git_blob_sha1, sha256_file

log = logging.getLogger(__name__)

ENV_DATA = "T2IR1_EVAL_DATA"
ENV_CACHE = "T2IR1_EVAL_CACHE"
ENV_OFFLINE = "T2IR1_EVAL_OFFLINE"


def default_cache_dir() -> Path:
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "t2ir1-eval")


@dataclass(frozen=True)
class FileSpec:
    key: str
    path: str
    sha256: str | None = None
    git_blob: str | None = None
    url: str | None = None
    derived_from: str | None = None

    @classmethod
    def from_yaml(cls, key: str, d: dict[str, Any]) -> "FileSpec":
        if not d.get("sha256") and not d.get("git_blob"):
            raise DataError(f"data file {key!r} declares no checksum (sha256 or git_blob): every file must be pinned")
        return cls(key, d["path"], d.get("sha256"), d.get("git_blob"), d.get("url"), d.get("derived_from"))

    def checksum(self) -> str:
        return f"sha256:{self.sha256}" if self.sha256 else f"git-blob:{self.git_blob}"

    def verify(self, local: Path) -> None:
        if self.sha256:
            found = sha256_file(local)
            if found != self.sha256:
                raise DataError(
                    f"{local}: sha256 mismatch for {self.key!r}: expected {self.sha256}, found {found}. "
                    f"The file is corrupt or another version; delete it (it will be fetched again from {self.url or 'its source'})"
                    f" or point --data-dir at a correct copy."
                )
        else:
            found = git_blob_sha1(local)
            if found != self.git_blob:
                raise DataError(
                    f"{local}: git blob hash mismatch for {self.key!r}: expected {self.git_blob}, found {found} "
                    f"(`git hash-object {local.name}`). Fetch the pinned file from {self.url}."
                )


class DataResolver:
    """Verified local paths for one suite's data files (results memoised per resolver)."""

    def __init__(self, data_dir: Path | None = None, cache_dir: Path | None = None, offline: bool | None = None) -> None:
        self.roots: list[tuple[str, Path]] = []
        if data_dir:
            self.roots.append(("--data-dir", Path(data_dir)))
        if os.environ.get(ENV_DATA):
            self.roots.append((f"${ENV_DATA}", Path(os.environ[ENV_DATA])))
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir() / "data"
        self.roots.append(("cache", self.cache_dir))
        self.offline = bool(os.environ.get(ENV_OFFLINE)) if offline is None else offline
        self._done: dict[str, Path] = {}
        self.origins: dict[str, str] = {}

    def resolve(self, spec: FileSpec) -> Path:
        if spec.path in self._done:
            return self._done[spec.path]
        for label, root in self.roots:
            candidate = root / spec.path
            if candidate.is_file():
                spec.verify(candidate)
                self._done[spec.path] = candidate
                self.origins[spec.key] = f"{label}: {candidate}"
                return candidate
        path = self._download(spec)
        self._done[spec.path] = path
        return path

    def _download(self, spec: FileSpec) -> Path:
        searched = ", ".join(f"{label} ({root})" for label, root in self.roots)
        if not spec.url:
            raise DataError(
                f"data file {spec.path!r} ({spec.key}) not found in {searched}, and it has no download URL "
                f"({spec.derived_from or 'no upstream file'}). Point --data-dir (or ${ENV_DATA}) at a folder that has it, "
                f"e.g. a copy of the benchmark data with its SOURCES.md."
            )
        if self.offline:
            raise DataError(
                f"data file {spec.path!r} not found in {searched}, and ${ENV_OFFLINE} forbids downloading it from "
                f"{spec.url}. Point --data-dir at a local copy or unset ${ENV_OFFLINE}."
            )
        target = self.cache_dir / spec.path
        log.info("downloading %s from %s", spec.path, spec.url)
        try:
            with urllib.request.urlopen(spec.url, timeout=60) as resp:  # noqa: S310 (pinned https URL)
                data = resp.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DataError(
                f"could not download {spec.path!r} from {spec.url}: {exc}. Without network, point --data-dir "
                f"(or ${ENV_DATA}) at a local copy of the benchmark data (searched: {searched})."
            ) from exc
        tmp = target.with_name(target.name + ".download")
        atomic_write_bytes(tmp, data)
        try:
            spec.verify(tmp)
        except DataError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, target)
        self.origins[spec.key] = f"downloaded: {spec.url}"
        log.info("verified %s (%s), cached at %s", spec.path, spec.checksum(), target)
        return target

    def resolve_prompt_dir(self, rel_dir: str, manifest: dict[str, str], url: str | None) -> Path:
        """A folder of many small files pinned by a sha256 manifest (DPG-Bench's prompts/)."""
        files = [FileSpec(f"{rel_dir}/{name}", f"{rel_dir}/{name}", sha256=digest,
                          url=(url + name) if url else None) for name, digest in manifest.items()]
        paths = [self.resolve(f) for f in files]
        dirs = {p.parent for p in paths}
        if len(dirs) != 1:
            raise DataError(f"{rel_dir}: files resolved from several places ({sorted(map(str, dirs))}); keep one complete copy")
        return dirs.pop()
