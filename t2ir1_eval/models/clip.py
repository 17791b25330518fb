"""A small CLIP wrapper shared by the scorers: load once, batched normalised features.

Used by GenEval (colour classification with ViT-L/14, OpenAI weights) and by T2I-CompBench
(CLIPScore with ViT-B/32). ``model_id="tiny"`` builds a random-weight CLIP from the real
architecture's config, offline (see ``t2ir1_eval/tiny/clip.py``).

Only transformers is needed (no open_clip, no torchvision): the hub ids ``openai/clip-vit-*``
carry the same OpenAI weights as open_clip's ``pretrained="openai"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from ..registry import TINY_MODELS

#: OpenAI CLIP normalisation (open_clip's OPENAI_DATASET_MEAN/STD, HF's CLIP processor defaults)
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def _features(out: Any) -> torch.Tensor:
    """transformers 5.x returns a ModelOutput (``.pooler_output`` is the projection), 4.x a tensor."""
    if isinstance(out, torch.Tensor):
        return out
    pooled = getattr(out, "pooler_output", None)
    if pooled is None:
        raise TypeError(f"expected a tensor or an output with .pooler_output from CLIP, found {type(out).__name__}")
    return pooled


@dataclass
class ClipBundle:
    """A CLIP model plus its tokenizer and image processor, on one device."""

    model_id: str
    model: Any  # transformers.CLIPModel
    tokenizer: Any  # a PreTrainedTokenizer(Fast)
    image_processor: Any  # CLIPImageProcessor(Pil); unused when the caller brings pixel tensors
    device: torch.device
    dtype: torch.dtype

    @property
    def image_size(self) -> int:
        return int(self.model.config.vision_config.image_size)

    @property
    def context_length(self) -> int:
        return int(self.model.config.text_config.max_position_embeddings)

    @torch.no_grad()
    def text_features(self, texts: Sequence[str], batch_size: int = 256, normalize: bool = True,
                      autocast: bool = False) -> torch.Tensor:
        """[n, d] projected text embeddings (L2-normalised by default), float32."""
        chunks = []
        for i in range(0, len(texts), batch_size):
            tok = self.tokenizer(list(texts[i:i + batch_size]), padding="max_length", truncation=True,
                                 max_length=self.context_length, return_tensors="pt")
            tok = {k: v.to(self.device) for k, v in tok.items() if k in ("input_ids", "attention_mask")}
            with self._autocast(autocast):
                f = _features(self.model.get_text_features(**tok))
            chunks.append(f.float())
        feats = torch.cat(chunks) if chunks else torch.empty(0, self.model.config.projection_dim, device=self.device)
        return torch.nn.functional.normalize(feats, dim=-1) if normalize else feats

    @torch.no_grad()
    def image_features(self, pixel_values: torch.Tensor, batch_size: int = 64, normalize: bool = True,
                       autocast: bool = False) -> torch.Tensor:
        """[n, d] projected image embeddings of preprocessed pixels [n, 3, S, S], float32."""
        chunks = []
        for i in range(0, pixel_values.shape[0], batch_size):
            px = pixel_values[i:i + batch_size].to(self.device, self.dtype)
            with self._autocast(autocast):
                f = _features(self.model.get_image_features(pixel_values=px))
            chunks.append(f.float())
        feats = torch.cat(chunks) if chunks else torch.empty(0, self.model.config.projection_dim, device=self.device)
        return torch.nn.functional.normalize(feats, dim=-1) if normalize else feats

    def preprocess(self, images: Sequence[Any]) -> torch.Tensor:
        """Pixels via the model's own HF image processor (CLIPScore-style callers)."""
        return self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]

    @torch.no_grad()
    def pil_image_features(self, images: Sequence[Any], batch_size: int = 64, normalize: bool = True) -> torch.Tensor:
        out = []
        for i in range(0, len(images), batch_size):
            out.append(self.image_features(self.preprocess(images[i:i + batch_size]), batch_size, normalize))
        if not out:
            return torch.empty(0, self.model.config.projection_dim, device=self.device)
        return torch.cat(out)

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp().item())

    def _autocast(self, enabled: bool):
        # CUDA autocast in fp16 mirrors clip_benchmark's default; a no-op elsewhere.
        if enabled and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return _NullContext()

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "revision": getattr(self.model.config, "_commit_hash", None),
            "dtype": str(self.dtype).replace("torch.", ""),
            "comparable": self.model_id != "tiny" and not self.model_id.startswith("random:"),
        }


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _dtype(name: str | torch.dtype) -> torch.dtype:
    if isinstance(name, torch.dtype):
        return name
    table = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
             "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if name not in table:
        raise ValueError(f"unknown dtype {name!r}: expected one of {sorted(table)}")
    return table[name]


def load_clip(model_id: str, device: str | torch.device = "cpu", dtype: str | torch.dtype = "float32",
              cache_dir: str | None = None, revision: str | None = None,
              tiny_builder: Callable[[], tuple[Any, Any, Any]] | None = None) -> ClipBundle:
    """Load ``CLIPModel`` + tokenizer + image processor by hub id / local path, ``"tiny"``, or
    ``"random:<arch>"`` (a real architecture with random weights, for speed runs).

    Real ids (``openai/clip-vit-large-patch14``, ``openai/clip-vit-base-patch32``) use
    ``from_pretrained``; the image processor is the PIL backend (no torchvision here).
    """
    device = torch.device(device)
    torch_dtype = _dtype(dtype)
    if model_id == "tiny":
        model, tokenizer, processor = (tiny_builder or TINY_MODELS.load("clip"))()
    elif model_id.startswith("random:"):  # e.g. "random:vit-large-patch14": real shape, random weights
        model, tokenizer, processor = TINY_MODELS.load("clip-random")(model_id.split(":", 1)[1])
    else:
        from transformers import CLIPModel, CLIPTokenizerFast

        try:
            from transformers import CLIPImageProcessorPil as _Proc  # no torchvision: avoid the fallback warning
        except ImportError:  # older transformers
            from transformers import CLIPImageProcessor as _Proc
        kw: dict[str, Any] = {"cache_dir": cache_dir, "revision": revision}
        try:
            model = CLIPModel.from_pretrained(model_id, dtype=torch_dtype, **kw)
            tokenizer = CLIPTokenizerFast.from_pretrained(model_id, **kw)
            processor = _Proc.from_pretrained(model_id, **kw)
        except OSError as exc:
            from ..errors import BackendUnavailable

            raise BackendUnavailable(
                f"could not load CLIP {model_id!r}: expected a hub id reachable from here or a local folder with "
                f"config.json + weights + tokenizer files, found: {exc}. Download it once with "
                f"`huggingface-cli download {model_id}` on a machine with internet, or use model_id='tiny' for tests."
            ) from exc
    model = model.to(device=device, dtype=torch_dtype).eval()
    return ClipBundle(model_id=model_id, model=model, tokenizer=tokenizer, image_processor=processor,
                      device=device, dtype=torch_dtype)
