"""CLIPScore for T2I-CompBench non-spatial (and the "action" part of 3-in-1).

Official recipe (CLIPScore_eval/CLIP_similarity.py): OpenAI CLIP ViT-B/32 with its own
preprocess (Resize 224 bicubic on the short side, CenterCrop 224, CLIP normalisation) and
``clip.tokenize(prompt)``; the score is the raw cosine of the L2-normalised embeddings (about
0.3; no x2.5, no x100, no clipping). Complex mode (3-in-1) first removes every token spaCy tags
``ADJ`` and joins the rest with spaces. Here: transformers ``CLIPModel``
(``openai/clip-vit-base-patch32``, the same OpenAI weights) via ``t2ir1_eval.models.clip``,
with torchvision's resize/crop arithmetic reproduced on PIL.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...context import ScorerContext
from ...types import Sample
from ..base import Scorer
from . import nlp
from .common import CLIP_MEAN, CLIP_STD, center_crop, load_rgb, prompt_for, resize_short_side, to_chw

MODEL_ID = "openai/clip-vit-base-patch32"


class ClipScoreScorer(Scorer):
    name = "clipscore"
    version = "1"
    batch_size = 32

    def __init__(
        self,
        context: ScorerContext,
        model_id: str = MODEL_ID,
        revision: str | None = None,
        complex: bool = False,
        spacy_model: str | None = None,
        prompt_source: str = "filename",
        dtype: str | None = None,
        device: str | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.context = context
        self.model_id = model_id
        self.revision = revision
        self.complex = bool(complex)
        self.spacy_model = spacy_model
        self.prompt_source = prompt_source
        self.device_name = device or context.device
        # upstream: clip.load() keeps fp16 weights on CUDA, fp32 on CPU
        self.dtype_name = dtype or ("float16" if self.device_name.startswith("cuda") else "float32")
        if batch_size:
            self.batch_size = int(batch_size)
        self._bundle: Any = None
        self._nlp: Any = None

    def _load(self) -> None:
        if self._bundle is not None:
            return
        from ...models.clip import load_clip

        self._bundle = load_clip(self.model_id, device=self.device_name, dtype=self.dtype_name, revision=self.revision)
        self._nlp = nlp.load_spacy(self.spacy_model) if self.complex else None

    def text_for(self, sample: Sample) -> str:
        prompt = prompt_for(sample, self.prompt_source)
        return nlp.clip_text(self._nlp(prompt), True) if self.complex else prompt

    def pixel_values(self, images: list[Any]) -> Any:
        import torch

        n_px = self._bundle.image_size
        arr = np.stack([to_chw(center_crop(resize_short_side(im, n_px, resample="bicubic"), n_px), CLIP_MEAN, CLIP_STD)
                        for im in images])
        return torch.from_numpy(arr)

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        self._load()
        out: list[dict[str, Any]] = []
        texts, images, slots = [], [], []
        for s in samples:
            try:
                text = self.text_for(s)
                img = load_rgb(s.path)
            except Exception as exc:
                out.append({"error": f"{type(exc).__name__}: {exc}"})
                continue
            slots.append(len(out))
            out.append({"text": text, "mode": "complex" if self.complex else "simple"})
            texts.append(text)
            images.append(img)
        if texts:
            b = self._bundle
            tf = b.text_features(texts)
            imf = b.image_features(self.pixel_values(images))
            cos = (imf * tf).sum(-1).tolist()
            lengths = [len(ids) for ids in b.tokenizer(texts)["input_ids"]]
            for slot, c, n in zip(slots, cos, lengths):
                out[slot]["cosine"] = float(c)
                if n > b.context_length:  # clip.tokenize would have raised; HF truncates
                    out[slot]["truncated_tokens"] = n
        return out

    def describe(self) -> dict[str, Any]:
        self._load()
        d = {"name": self.name, "version": self.version, **self._bundle.describe(),
             "mode": "complex (ADJ removed)" if self.complex else "simple", "score": "raw cosine",
             "preprocess": f"resize {self._bundle.image_size} bicubic short side + centre crop (torchvision rounding)",
             "prompt_source": self.prompt_source}
        if self._nlp is not None:
            d["spacy"] = nlp.spacy_provenance(self._nlp)
        return d

    def close(self) -> None:
        self._bundle = None
