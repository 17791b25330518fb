"""FLUX.1 (dev, schnell) baselines through diffusers' ``FluxPipeline``.

Defaults are the model cards' snippets: dev ``guidance_scale=3.5, num_inference_steps=50,
max_sequence_length=512, 1024x1024``; schnell ``guidance_scale=0.0, num_inference_steps=4,
max_sequence_length=256, 1024x1024``; bf16. Each image gets its own
``torch.Generator("cpu").manual_seed(seed)`` (as the cards' ``generator=torch.Generator("cpu")``),
so its initial noise does not depend on the batch or the device.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..errors import BackendUnavailable, ConfigError
from ..registry import TINY_MODELS
from ..types import GenRequest, GenResult
from .base import Generator
from .janus import resolve_device, resolve_dtype

DIFFUSERS_PIN = "diffusers==0.42.1"

#: model-card defaults per checkpoint
MODEL_CARD_DEFAULTS: dict[str, dict[str, Any]] = {
    "black-forest-labs/FLUX.1-dev": {
        "num_inference_steps": 50,
        "guidance_scale": 3.5,
        "max_sequence_length": 512,
        "height": 1024,
        "width": 1024,
    },
    "black-forest-labs/FLUX.1-schnell": {
        "num_inference_steps": 4,
        "guidance_scale": 0.0,
        "max_sequence_length": 256,
        "height": 1024,
        "width": 1024,
    },
}
KNOBS = ("num_inference_steps", "guidance_scale", "max_sequence_length", "height", "width")


def _import_diffusers() -> Any:
    try:
        import diffusers
    except ImportError as e:
        raise BackendUnavailable(
            f"FLUX needs diffusers, which is not installed ({e}). Install it with: pip install {DIFFUSERS_PIN}"
        ) from e
    return diffusers


class FluxGenerator(Generator):
    """``FluxGenerator(model_id, device, dtype, batch_size, revision, **knobs)``; knobs are
    ``num_inference_steps``, ``guidance_scale``, ``max_sequence_length``, ``height``, ``width``.
    ``model_id="tiny"`` builds random tiny components (t2ir1_eval.tiny.flux)."""

    name = "flux"

    def __init__(
        self,
        model_id: str = "black-forest-labs/FLUX.1-dev",
        recipe: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 1,
        revision: str | None = None,
        **knobs: Any,
    ) -> None:
        if recipe not in (None, "model-card"):
            raise ConfigError(f"FLUX has one recipe, 'model-card' (its model card's defaults); got {recipe!r}")
        self.tiny_seed = int(knobs.pop("tiny_seed", 0))
        bad = sorted(set(knobs) - set(KNOBS))
        if bad:
            raise ConfigError(f"unknown FLUX knob(s) {bad}; known knobs: {list(KNOBS)}")
        if model_id == "tiny":
            defaults = dict(TINY_MODELS.load("flux-defaults"))
        elif model_id in MODEL_CARD_DEFAULTS:
            defaults = dict(MODEL_CARD_DEFAULTS[model_id])
        else:  # a local copy or fine-tune: dev's card unless told otherwise
            defaults = dict(MODEL_CARD_DEFAULTS["black-forest-labs/FLUX.1-dev"])
        self.knobs = {**defaults, **knobs}
        self.model_id = model_id
        self.revision = revision
        self.device = resolve_device(device)
        self.torch_dtype = resolve_dtype(dtype, self.device)
        if not str(batch_size).isdigit():
            raise ConfigError(f"the flux generator takes a numeric batch size, found {batch_size!r}")
        self.batch_size = int(batch_size)
        self.image_size = (int(self.knobs["width"]), int(self.knobs["height"]))
        self.pipe: Any = None

    def _load(self) -> None:
        if self.pipe is not None:
            return
        diffusers = _import_diffusers()
        if self.model_id == "tiny":
            pipe = TINY_MODELS.load("flux")(seed=self.tiny_seed)
        else:
            try:
                pipe = diffusers.FluxPipeline.from_pretrained(self.model_id, revision=self.revision, torch_dtype=self.torch_dtype)
            except Exception as e:
                raise BackendUnavailable(
                    f"cannot load {self.model_id!r} (revision {self.revision or 'main'}) with FluxPipeline: "
                    f"{type(e).__name__}: {e}. FLUX.1-dev is gated: accept its licence on the hub and set HF_TOKEN."
                ) from e
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(self.device)  # tiny stays float32; hub weights are loaded in torch_dtype

    def dry_run(self, requests: list[GenRequest]) -> list[dict[str, Any]]:
        return [
            {
                "prompt_id": r.item.prompt_id,
                "sample_index": r.sample_index,
                "seed": r.seed,
                "model_inputs": {"cot": None, "image": r.item.prompt},
            }
            for r in requests
        ]

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        self._load()
        out: list[GenResult] = []
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start : start + self.batch_size]
            t0 = time.time()
            generators = [torch.Generator("cpu").manual_seed(int(r.seed)) for r in batch]
            images = self.pipe(
                prompt=[r.item.prompt for r in batch],
                generator=generators,
                output_type="pil",
                **self.knobs,
            ).images
            seconds = (time.time() - t0) / len(batch)
            for r, img in zip(batch, images):
                out.append(
                    GenResult(
                        image=img.convert("RGB"),
                        info={
                            "model_inputs": {"cot": None, "image": r.item.prompt},
                            "reasoning": None,
                            "seed": r.seed,
                            "knobs": dict(self.knobs),
                            "seconds": round(seconds, 4),
                        },
                    )
                )
        return out

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "generator": self.name,
            "model_id": self.model_id,
            "revision": self.revision,
            "recipe": {"name": "model-card", **self.knobs},
            "image_size": list(self.image_size),
            "dtype": str(self.torch_dtype).replace("torch.", ""),
            "device": self.device,
            "batch_size": self.batch_size,
            "noise": "torch.Generator('cpu').manual_seed(seed) per image",
            "torch": torch.__version__,
        }
        try:
            import diffusers
            import transformers

            d["diffusers"] = diffusers.__version__
            d["transformers"] = transformers.__version__
        except ImportError:
            d["diffusers"] = None
        if self.model_id == "tiny":
            d["comparable"] = False
        return d

    def close(self) -> None:
        self.pipe = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
