"""Name -> plug-in registries that import heavy backends only when asked for.

Entries are ``"package.module:Attr"`` strings, so listing what exists (``t2ir1-eval ls``)
never imports torch models, mmdet or an HTTP client.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Generic, Iterable, TypeVar

from .errors import ConfigError

T = TypeVar("T")


def did_you_mean(name: str, known: Iterable[str], canonical: dict[str, str] | None = None) -> str:
    """`` Did you mean 'x'?`` for the closest known name (mapped through ``canonical`` when that
    is an alias), or "" when nothing is close: the hint every unknown-name error carries."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    if not close:
        return ""
    return f" Did you mean {(canonical or {}).get(close[0], close[0])!r}?"


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
            raise ConfigError(
                f"unknown {self.kind} {name!r}.{did_you_mean(name, self._entries)} Known {self.kind}s: {', '.join(self.names())}"
            )
        return self._entries[name]

    def load(self, name: str) -> Any:
        """Import and return the registered object (class or factory)."""
        module_name, _, attr = self.target(name).partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)


#: Tiny random-weight models (``t2ir1_eval.tiny``: test and smoke-run equipment) behind every
#: ``model_id="tiny"``. This is the only door from production code into ``tiny/``: loaders ask for
#: a name here and never import ``t2ir1_eval.tiny`` themselves (tests/test_import_graph.py checks).
TINY_MODELS: Registry[Any] = Registry("tiny model")
TINY_MODELS.register("janus", "t2ir1_eval.tiny.janus:build_tiny_janus", "Janus (Llama + SigLIP + VQ-16), random")
TINY_MODELS.register("janus-sizes", "t2ir1_eval.tiny.janus:TINY_SIZES", "the tiny Janus's sizes (image size before loading)")
TINY_MODELS.register("flux", "t2ir1_eval.tiny.flux:build_tiny_flux", "FluxPipeline with random tiny components")
TINY_MODELS.register("flux-defaults", "t2ir1_eval.tiny.flux:TINY_FLUX_DEFAULTS", "sampling defaults of the tiny FLUX")
TINY_MODELS.register("clip", "t2ir1_eval.tiny.clip:tiny_clip", "CLIP, random tiny")
TINY_MODELS.register("clip-random", "t2ir1_eval.tiny.clip:random_clip", "CLIP of a real shape, random weights")
TINY_MODELS.register("blip-vqa", "t2ir1_eval.tiny.blip:tiny_blip_vqa", "BLIP VQA, random tiny")
TINY_MODELS.register("dpt-hybrid", "t2ir1_eval.tiny.dpt:tiny_dpt_hybrid", "DPT-hybrid depth, random tiny")
TINY_MODELS.register("mask2former", "t2ir1_eval.tiny.mask2former:tiny_mask2former", "Mask2Former Swin, random tiny")
TINY_MODELS.register("llava", "t2ir1_eval.tiny.llava:build_tiny_llava", "LLaVA judge (CLIP + Llama), random tiny")
