"""Name -> plug-in registries that import heavy backends only when asked for.

Entries are ``"package.module:Attr"`` strings, so listing what exists (``t2ir1-eval ls``)
never imports torch models, mmdet or an HTTP client.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, str] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, target: str, help: str = "") -> None:
        if name in self._entries and self._entries[name] != target:
            raise ConfigError(f"{self.kind} {name!r} is registered twice: {self._entries[name]} and {target}")
        self._entries[name] = target
        self._help[name] = help

    def names(self) -> list[str]:
        return sorted(self._entries)

    def help(self, name: str) -> str:
        return self._help.get(name, "")

    def target(self, name: str) -> str:
        if name not in self._entries:
            close = difflib.get_close_matches(name, self._entries, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {', '.join(self.names())}"
            )
        return self._entries[name]

    def load(self, name: str) -> Any:
        """Import and return the registered object (class or factory)."""
        module_name, _, attr = self.target(name).partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)
