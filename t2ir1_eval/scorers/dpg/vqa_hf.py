"""In-process VQA with transformers' BLIP (``BlipForQuestionAnswering``): smoke runs and CI.

NOT the official DPG-Bench VQA model (mPLUG-large via ModelScope, see mplug.py): numbers from
this backend are not comparable to published DPG-Bench scores, and ``describe()`` says so.

Speed: the tile goes through the vision encoder once and its embedding is shared by every
question; the questions are then answered in one padded batch, the padding masked in the
decoder's cross-attention too (``answer_encoded``), so a batched answer is the one-question answer.
"""

from __future__ import annotations

from typing import Any

from ...registry import TINY_MODELS
from ..blip_decoder import greedy_decode

#: the real model a non-tiny run loads (BLIP ViT-B VQA, COCO/VQAv2 fine-tuned)
DEFAULT_MODEL_ID = "Salesforce/blip-vqa-base"


class HfBlipVqa:
    """``answer(tile, questions) -> answers`` (greedy, as BLIP's own generate default)."""

    def __init__(
        self,
        model_id: str | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        max_new_tokens: int = 10,
        seed: int = 0,
        tiny_words: list[str] | None = None,
        tiny_yes_no_bias: float = 6.0,
        tiny_image_size: int = 32,
    ) -> None:
        import torch

        self.model_id = model_id or DEFAULT_MODEL_ID
        self.device = device
        self.max_new_tokens = max_new_tokens
        if self.model_id == "tiny":
            # yes/no bias: random weights would otherwise answer with random word pieces
            self.model, self.processor = TINY_MODELS.load("blip-vqa")(image_size=tiny_image_size, seed=seed, extra_words=tiny_words or (),
                                                         yes_no_bias=tiny_yes_no_bias)
        else:
            from transformers import BlipForQuestionAnswering, BlipProcessor

            self.processor = BlipProcessor.from_pretrained(self.model_id)
            self.model = BlipForQuestionAnswering.from_pretrained(self.model_id, dtype=getattr(torch, dtype))
        self.model.to(device).eval()
        self.dtype = next(self.model.parameters()).dtype

    def describe(self) -> dict[str, Any]:
        import transformers

        return {
            "vqa_model": self.model_id,
            "library": f"transformers {transformers.__version__}",
            "decoding": f"greedy, max_new_tokens={self.max_new_tokens}",
            "decoder_cross_attention_mask": "question padding mask (routed by blip_decoder.greedy_decode)",
            "comparable": False,
            "note": "BLIP VQA stands in for mPLUG-large: not comparable to published DPG-Bench numbers",
        }

    def encode_tile(self, tile: Any) -> Any:
        """The vision encoder's output for one tile, shape [1, patches, hidden]."""
        import torch

        pixels = self.processor.image_processor(images=tile.convert("RGB"), return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            return self.model.vision_model(pixel_values=pixels.to(self.device, self.dtype))[0]

    def answer_encoded(self, image_embeds: Any, questions: list[str]) -> list[str]:
        """Answer every question about one already-encoded tile, in one padded batch.

        The question padding mask reaches the decoder's cross-attention (``blip_decoder``:
        transformers 5.24's own ``generate`` drops it there), so a padded question answers as it
        does alone.
        """
        import torch

        if not questions:
            return []
        text = self.processor.tokenizer(questions, padding="longest", return_tensors="pt").to(self.device)
        embeds = image_embeds.expand(len(questions), -1, -1)
        image_mask = torch.ones(embeds.shape[:-1], dtype=torch.long, device=self.device)
        cfg = self.model.config.text_config
        with torch.inference_mode():
            question_embeds = self.model.text_encoder(
                input_ids=text["input_ids"],
                attention_mask=text["attention_mask"],
                encoder_hidden_states=embeds,
                encoder_attention_mask=image_mask,
                return_dict=False,
            )[0]
            out = greedy_decode(self.model.text_decoder, int(self.model.decoder_start_token_id), question_embeds,
                                text["attention_mask"], self.max_new_tokens, eos_id=int(cfg.sep_token_id),
                                pad_id=int(cfg.pad_token_id))
        return [a.strip() for a in self.processor.tokenizer.batch_decode(out, skip_special_tokens=True)]

    def answer(self, tile: Any, questions: list[str]) -> list[str]:
        return self.answer_encoded(self.encode_tile(tile), questions)

    def answer_one(self, tile: Any, question: str) -> str:
        """One question, the tile encoded again: the unbatched baseline (and the official loop's shape)."""
        return self.answer(tile, [question])[0]

    def close(self) -> None:
        self.model = None
