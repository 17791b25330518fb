"""BLIP-VQA for T2I-CompBench attribute binding (colour, shape, texture; part of 3-in-1).

Official recipe (BLIPvqa_eval): BLIP ViT-B VQA capfilt-large at 480 px, bicubic square resize,
CLIP normalisation; one question per spaCy noun chunk (``"<chunk>?"``, cleaned); the question's
first token replaced by ``[ENC]``; one decoder step from ``[DEC]``; softmax over the vocabulary;
``p = P(yes) / (P(yes) + P(no))``. Raw output per image: the phrases, the questions asked and
P(yes)/P(no)/p per phrase; the rules (``t2ir1_eval.rules.t2i_compbench``) round and multiply.

Weights (``model_id``): ``"original"`` (default) is Salesforce's release file
``model_base_vqa_capfilt_large.pth``, the one the official scorer runs, read through
``blip_convert`` into transformers' BLIP modules with its own 480-px (901-entry) position table
and BLIP's LayerNorm eps 1e-6. ``Salesforce/blip-vqa-capfilt-large`` (hub, converted at 384 px,
eps 1e-5) still loads, its table re-interpolated to 480 px, labelled not comparable.

All phrases of all images of a batch go through the text encoder together, ``question_batch`` at
a time (sorted by length, so padding stays short), each image's vision features computed once.
The decoder step is run layer by layer here because transformers 5.24 drops the decoder's
cross-attention mask (``decoder_first_step``); with the mask routed, padded and unpadded
questions give the same answers.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ...context import ScorerContext
from ...errors import BackendUnavailable
from ...registry import TINY_MODELS
from ...types import Sample
from ..base import Scorer
from ..blip_decoder import decoder_logits
from . import nlp
from .common import CLIP_MEAN, CLIP_STD, load_rgb, prompt_for, to_chw

log = logging.getLogger(__name__)

MODEL_ID = "original"
#: transformers-format conversion at 384 px: a labelled, non-comparable fallback
HUB_MODEL_ID = "Salesforce/blip-vqa-capfilt-large"
#: ids in BLIP's bert-base-uncased tokenizer (the official code hard-codes them)
OFFICIAL_IDS = {"dec": 30522, "enc": 30523, "yes": 2748, "no": 2053}
QUESTION_MAX_TOKENS = 35


class BlipVqaScorer(Scorer):
    name = "blip-vqa"
    version = "1"
    batch_size = 16

    def __init__(
        self,
        context: ScorerContext,
        model_id: str = MODEL_ID,
        revision: str | None = None,
        image_size: int = 480,
        np_num: int = 8,
        spacy_model: str | None = None,
        prompt_source: str = "filename",
        question_batch: int = 64,
        image_batch: int = 8,
        dtype: str = "float32",
        device: str | None = None,
        seed: int = 0,
        batch_size: int | None = None,
        tokenizer: str | None = None,
        med_config: str | None = None,
        vit_heads: int | None = None,
    ) -> None:
        self.context = context
        self.tokenizer_source = tokenizer
        self.med_config = med_config
        self.vit_heads = int(vit_heads) if vit_heads is not None else None
        self.weights_info: dict[str, Any] = {}
        self.model_id = model_id
        self.revision = revision
        self.image_size = int(image_size)
        self.np_num = int(np_num)
        self.spacy_model = spacy_model
        self.prompt_source = prompt_source
        self.question_batch = int(question_batch)
        self.image_batch = int(image_batch)
        self.dtype_name = dtype
        self.device_name = device or context.device
        self.seed = seed
        if batch_size:
            self.batch_size = int(batch_size)
        self._model: Any = None
        self._tokenizer: Any = None
        self.ids: dict[str, int] = {}

    # ------------------------------------------------------------------------------ loading
    def _load(self) -> None:
        if self._model is not None:
            return
        import torch

        if self.model_id == "tiny":
            # patch 16 on a 32-px table: 480 px means a 2x2 -> 30x30 interpolation, like 384 -> 480
            model, processor = TINY_MODELS.load("blip-vqa")(image_size=32, patch_size=16, seed=self.seed)
            tokenizer = processor.tokenizer
            self.weights_info = {"weights": "random (tiny)", "comparable": False}
        else:
            from . import blip_weights

            model, tokenizer, self.weights_info = blip_weights.load(
                self.model_id, self.revision, self.context, tokenizer=self.tokenizer_source,
                med_config=self.med_config, vit_heads=self.vit_heads, image_size=self.image_size)
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[self.dtype_name]
        self._model = model.to(device=self.device_name, dtype=dtype).eval()
        self._tokenizer = tokenizer
        self.ids = self._token_ids(model, tokenizer)
        self._nlp = nlp.load_spacy(self.spacy_model)

    @staticmethod
    def _token_ids(model: Any, tokenizer: Any) -> dict[str, int]:
        unk = tokenizer.unk_token_id
        ids = {"dec": int(model.config.text_config.bos_token_id)}
        for key, token in (("yes", "yes"), ("no", "no"), ("enc", "[ENC]")):
            tid = tokenizer.convert_tokens_to_ids(token)
            ids[key] = int(tid) if tid is not None and tid != unk else -1
        if ids["enc"] < 0:
            # BLIP adds [ENC] right after [DEC]; HF tokenizers may not list it, the embedding table has it
            if model.config.text_config.vocab_size == ids["dec"] + 2:
                ids["enc"] = ids["dec"] + 1
            else:
                raise BackendUnavailable(f"BLIP tokenizer has no [ENC] token and the text vocabulary "
                                         f"({model.config.text_config.vocab_size}) is not [DEC]+2: cannot build questions")
        if ids["yes"] < 0 or ids["no"] < 0:
            raise BackendUnavailable(f"BLIP tokenizer: expected 'yes' and 'no' to be single tokens, found ids {ids}")
        return ids

    # ------------------------------------------------------------------------------ scoring
    def questions_for(self, sample: Sample) -> tuple[str, list[str], list[str]]:
        prompt = prompt_for(sample, self.prompt_source)
        phrases, questions = nlp.blip_questions(self._nlp(prompt), self.np_num)
        return prompt, phrases, questions

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        self._load()
        out: list[dict[str, Any]] = [{} for _ in samples]
        images, pairs = [], []  # pairs: (image slot, sample position, question)
        for pos, s in enumerate(samples):
            try:
                prompt, phrases, questions = self.questions_for(s)
                img = load_rgb(s.path)
            except Exception as exc:  # one bad file must not sink the batch
                out[pos] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            out[pos] = {"prompt": prompt, "phrases": phrases, "questions": questions, "np_num": self.np_num,
                        "p_yes": [], "p_no": [], "p": []}
            slot = len(images)
            images.append(img)
            pairs += [(slot, pos, q) for q in questions]
        if pairs:
            for pos, (py, pn, p) in zip([pp for _, pp, _ in pairs], self._probabilities(images, pairs)):
                out[pos]["p_yes"].append(py)
                out[pos]["p_no"].append(pn)
                out[pos]["p"].append(p)
        return out

    def pixel_values(self, images: list[Any]) -> Any:
        """Resize((S, S), bicubic) + ToTensor + CLIP Normalize, as BLIP's test transform."""
        import torch
        from PIL import Image

        arr = np.stack([to_chw(im.resize((self.image_size, self.image_size), Image.Resampling.BICUBIC),
                               CLIP_MEAN, CLIP_STD) for im in images])
        return torch.from_numpy(arr)

    def _probabilities(self, images: list[Any], pairs: list[tuple[int, int, str]]) -> list[tuple[float, float, float]]:
        import torch

        model, dev = self._model, self.device_name
        dtype = next(model.parameters()).dtype
        interpolate = self.image_size != int(model.config.vision_config.image_size)
        results: list[tuple[float, float, float]] = []
        with torch.no_grad():
            feats = []
            for i in range(0, len(images), self.image_batch):
                px = self.pixel_values(images[i:i + self.image_batch]).to(dev, dtype)
                feats.append(model.vision_model(pixel_values=px, interpolate_pos_encoding=interpolate).last_hidden_state)
            image_states = torch.cat(feats)
            # sorted by token length so each chunk pads little; the padding is masked in the
            # encoder's self-attention and (decoder_first_step) in the decoder's cross-attention
            lengths = [len(ids) for ids in self._tokenizer([q for _, _, q in pairs], truncation=True,
                                                           max_length=QUESTION_MAX_TOKENS)["input_ids"]]
            order = sorted(range(len(pairs)), key=lambda k: lengths[k])
            by_pair: dict[int, tuple[float, float, float]] = {}
            chunks = [order[i:i + self.question_batch] for i in range(0, len(order), self.question_batch)]
            for chunk_ids in chunks:
                chunk = [pairs[k] for k in chunk_ids]
                tok = self._tokenizer([q for _, _, q in chunk], padding="longest", truncation=True,
                                      max_length=QUESTION_MAX_TOKENS, return_tensors="pt")
                ids = tok["input_ids"].clone()
                ids[:, 0] = self.ids["enc"]
                ids, mask = ids.to(dev), tok["attention_mask"].to(dev)
                states = image_states[torch.tensor([slot for slot, _, _ in chunk], device=dev)]
                image_mask = torch.ones(states.shape[:-1], dtype=torch.long, device=dev)
                q = model.text_encoder(input_ids=ids, attention_mask=mask, encoder_hidden_states=states,
                                       encoder_attention_mask=image_mask).last_hidden_state
                start = torch.full((len(chunk), 1), self.ids["dec"], dtype=torch.long, device=dev)
                logits = decoder_first_step(model.text_decoder, start, q, mask)
                prob = torch.softmax(logits.float(), dim=1)
                py, pn = prob[:, self.ids["yes"]], prob[:, self.ids["no"]]
                p = py / (py + pn)  # float32, as upstream
                for k, a, b, c in zip(chunk_ids, py.tolist(), pn.tolist(), p.tolist()):
                    by_pair[k] = (float(a), float(b), float(c))
            results = [by_pair[k] for k in range(len(pairs))]
        return results

    def describe(self) -> dict[str, Any]:
        self._load()
        cfg = self._model.config
        return {
            "name": self.name,
            "version": self.version,
            "model_id": self.model_id,
            "revision": self.revision or getattr(cfg, "_commit_hash", None),
            **self.weights_info,
            "image_size": self.image_size,
            "resize": "square, PIL bicubic",
            "position_embeddings": (f"interpolated {cfg.vision_config.image_size}->{self.image_size} px (bicubic)"
                                    if self.image_size != cfg.vision_config.image_size
                                    else f"native {cfg.vision_config.image_size} px"),
            "vision_layer_norm_eps": cfg.vision_config.layer_norm_eps,
            "decoder_cross_attention_mask": "question padding mask (routed by decoder_first_step)",
            "token_ids": self.ids,
            "token_ids_match_official": self.ids == OFFICIAL_IDS if self.model_id != "tiny" else None,
            "np_num": self.np_num,
            "question_max_tokens": QUESTION_MAX_TOKENS,
            "dtype": self.dtype_name,
            "prompt_source": self.prompt_source,
            "spacy": nlp.spacy_provenance(self._nlp),
        }

    def close(self) -> None:
        self._model = None


def decoder_first_step(decoder: Any, start: Any, question_states: Any, question_mask: Any) -> Any:
    """Logits of BLIP's text decoder at its first step, the question padding masked.

    transformers 5.24 drops the decoder's cross-attention mask (see ``blip_decoder``), so the
    layers are run there with the mask routed. One token from ``[DEC]``: its causal
    self-attention sees only itself and needs no mask.
    """
    return decoder_logits(decoder, start, question_states, question_mask)[:, 0, :]
