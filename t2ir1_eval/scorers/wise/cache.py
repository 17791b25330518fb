"""Judge replies on disk: one atomically written JSON file per request key.

A file per key (rather than one database) lets concurrent threads, and several ranks or
processes sharing ``cache_dir``, write without locks; a kill mid-write leaves only a temporary
file, never a half-written entry, so a crash loses at most the calls in flight.

The key covers everything that determines the reply: protocol, backend, judge model as
requested, the exact request settings, the sha256 of the image bytes and the exact system and
user texts. The endpoint URL is deliberately not in the key (moving a vLLM server to another
port must not invalidate its replies); two different models served under the same name on two
servers would share entries, so give open judges distinct served names.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from ...io import atomic_write_json, dumps

log = logging.getLogger(__name__)

#: bump when the stored entry's schema changes (old entries are then simply not found)
CACHE_SCHEMA = "wise-judge-cache/1"


def cache_key(
    *,
    protocol: str,
    backend: str,
    model: str,
    params: dict[str, Any],
    image_sha256: str,
    system: str,
    user: str,
) -> str:
    payload = {
        "schema": CACHE_SCHEMA,
        "protocol": protocol,
        "backend": backend,
        "model": model,
        "params": params,
        "image_sha256": image_sha256,
        "system": system,
        "user": user,
    }
    return hashlib.sha256(dumps(payload).encode("utf-8")).hexdigest()


class JudgeCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        try:
            with open(path, encoding="utf-8") as fh:
                entry = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("%s: unreadable judge cache entry ignored (%s); the image is judged again", path, exc)
            return None
        if not isinstance(entry, dict) or entry.get("schema") != CACHE_SCHEMA or entry.get("key") != key:
            log.warning("%s: judge cache entry of another schema or key ignored", path)
            return None
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        atomic_write_json(self.path(key), {**entry, "schema": CACHE_SCHEMA, "key": key})
