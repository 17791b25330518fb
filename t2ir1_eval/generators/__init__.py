"""Generator registry and the model presets behind ``--model``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..registry import Registry, did_you_mean
from .base import Generator

GENERATORS: Registry[type[Generator]] = Registry("generator")
GENERATORS.register("janus", "t2ir1_eval.generators.janus:JanusGenerator",
                    "Janus family (T2I-R1, Janus-Pro) on transformers' native Janus classes")
GENERATORS.register("flux", "t2ir1_eval.generators.flux:FluxGenerator", "FLUX.1 through diffusers' FluxPipeline")
GENERATORS.register("folder", "t2ir1_eval.generators.folder:FolderGenerator",
                    "images that already exist in the suite's official layout (another model's outputs)")


@dataclass(frozen=True)
class ModelPreset:
    generator: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    help: str = ""
    #: the model name used in leaderboards, matching results/references.csv
    display: str = ""


MODELS: dict[str, ModelPreset] = {
    "t2i-r1": ModelPreset("janus", {"model_id": "CaraJ/T2I-R1", "recipe": "t2i-r1"},
                          "T2I-R1 (DeepSeek-format checkpoint, mapped at load), semantic CoT then image tokens", "T2I-R1"),
    "janus-pro-7b": ModelPreset("janus", {"model_id": "deepseek-community/Janus-Pro-7B", "recipe": "janus-pro"},
                                "Janus-Pro-7B, direct prompt (the paper's baseline recipe)", "Janus-Pro-7B"),
    "janus-pro-1b": ModelPreset("janus", {"model_id": "deepseek-community/Janus-Pro-1B", "recipe": "janus-pro"},
                                "Janus-Pro-1B, direct prompt", "Janus-Pro-1B"),
    "flux-dev": ModelPreset("flux", {"model_id": "black-forest-labs/FLUX.1-dev"}, "FLUX.1 [dev], model-card defaults", "FLUX.1-dev"),
    "flux-schnell": ModelPreset("flux", {"model_id": "black-forest-labs/FLUX.1-schnell"},
                                "FLUX.1 [schnell], model-card defaults", "FLUX.1-schnell"),
    # short CoTs: a random model never emits EOS, and 512 tokens of noise only slow smoke runs
    "tiny": ModelPreset("janus", {"model_id": "tiny", "recipe": "t2i-r1", "cot_max_new_tokens": 16},
                        "the Janus code on a tiny random config (offline smoke runs; scores mean nothing)", "tiny (random)"),
    "folder": ModelPreset("folder", {}, "pre-generated images in the official layout (--images DIR)", "folder"),
}


def resolve_model(name: str) -> ModelPreset:
    if name in MODELS:
        return MODELS[name]
    raise ConfigError(f"unknown model {name!r}.{did_you_mean(name, MODELS)} Known models: {', '.join(sorted(MODELS))}")
