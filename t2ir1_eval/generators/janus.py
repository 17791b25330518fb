"""Janus-family text-to-image generator (T2I-R1, Janus-Pro) on transformers' native classes.

Loads transformers-format checkpoints (``deepseek-community/Janus-Pro-7B``) as they are and
original DeepSeek-format ones (``CaraJ/T2I-R1``, ``deepseek-ai/Janus-Pro-7B``) by mapping keys at
load time (``janus_convert``). The recipe (``janus_recipes``) decides the model input strings
and every sampling knob; ``janus_sampling`` runs the batched loops. An image depends only on
(prompt, seed, recipe, weights): see ``janus_sampling`` for what batching can and cannot change.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import ConfigError
from ..registry import TINY_MODELS
from ..types import GenRequest, GenResult
from ..models.janus_layout import set_image_generation_config  # noqa: F401  (re-exported)
from .base import Generator
from .janus_recipes import BOI_TOKEN, COT_PLACEHOLDER, JanusRecipe, get_recipe

log = logging.getLogger(__name__)

PAD_TOKEN = "<｜▁pad▁｜>"
REAL_IMAGE_SIZE = (384, 384)


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """``auto``: bf16 on GPU (as the original code casts the model), float32 on CPU."""
    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    names = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "half": "float16", "float": "float32"}
    dt = getattr(torch, names.get(dtype, dtype), None)
    if not isinstance(dt, torch.dtype):
        raise ConfigError(f"unknown dtype {dtype!r}; expected auto, bfloat16, float16 or float32")
    return dt


def to_uint8_images(pixels: torch.Tensor) -> list[Image.Image]:
    """DeepSeek's conversion: float32, ``clip((x + 1) / 2 * 255, 0, 255)``, then assignment
    into a uint8 array, which truncates (no rounding). ``pixels`` is [N, H, W, 3]."""
    arr = pixels.detach().float().cpu().numpy()
    arr = np.clip((arr + 1) / 2 * 255, 0, 255).astype(np.uint8)
    return [Image.fromarray(a, mode="RGB") for a in arr]


def to_uint8_array(pixels: torch.Tensor) -> torch.Tensor:
    """``to_uint8_images``' arithmetic on the tensor's own device (same float32 ops, same
    truncation toward zero), so only uint8 crosses to the host. [N, H, W, 3] in and out."""
    return ((pixels.detach().float() + 1) / 2 * 255).clamp_(0, 255).to(torch.uint8)


class JanusGenerator(Generator):
    """``JanusGenerator(model_id, recipe, device, dtype, batch_size, revision, **knobs)``.

    ``model_id="tiny"`` builds the tiny random model (t2ir1_eval.tiny.janus); a local folder
    or a hub id is loaded in whichever format it is. ``knobs`` override recipe fields
    (``cfg_weight``, ``image_temperature``, ``image_top_k``, ``cot_max_new_tokens`` ...); the
    loop's own knobs are ``loop`` ("static" | "eager": the static-shape step of
    ``janus_static`` or the eager reference loop), ``compile`` ("auto" | "none" | "graphs" |
    "inductor"; auto = CUDA graphs on CUDA, none elsewhere), ``cfg_dtype`` ("model" | "float32",
    see ``janus_sampling.cfg_logits``), ``cache`` ("static" | "dynamic"; dynamic implies the
    eager loop) and ``decode_chunk`` (images per VQ-decoder call). ``batch_size="auto"`` picks
    the largest batch that fits in free GPU memory (``janus_memory``).
    """

    name = "janus"

    def __init__(
        self,
        model_id: str = "deepseek-community/Janus-Pro-7B",
        recipe: str = "janus-pro",
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int | str = 4,
        revision: str | None = None,
        **knobs: Any,
    ) -> None:
        from .janus_sampling import CFG_DTYPES
        from .janus_static import resolve_compile

        self.cache = str(knobs.pop("cache", "static"))
        self.loop = "eager" if self.cache == "dynamic" else str(knobs.pop("loop", "static"))
        knobs.pop("loop", None)
        if self.loop not in ("static", "eager"):
            raise ConfigError(f"loop={self.loop!r}: expected static (the static-shape step) or eager (the reference loop)")
        self.cfg_dtype = str(knobs.pop("cfg_dtype", "model"))
        if self.cfg_dtype not in CFG_DTYPES:
            raise ConfigError(f"cfg_dtype={self.cfg_dtype!r}: expected model (as DeepSeek/T2I-R1) or float32")
        self.decode_chunk = int(knobs.pop("decode_chunk", 16))
        if self.decode_chunk < 1:
            raise ConfigError(f"decode_chunk must be >= 1 (images per VQ-decoder call), got {self.decode_chunk}")
        compile_opt = str(knobs.pop("compile", "auto"))
        self.tiny_seed = int(knobs.pop("tiny_seed", 0))
        self.model_id = model_id
        self.revision = revision
        self.recipe: JanusRecipe = get_recipe(recipe, **knobs)
        self.device = resolve_device(device)
        self.torch_dtype = resolve_dtype(dtype, self.device)
        self.compile = resolve_compile(compile_opt, self.device) if self.loop == "static" else "none"
        self.checkpoint_format = "tiny" if model_id == "tiny" else None
        self.image_size = self._tiny_image_size() if model_id == "tiny" else REAL_IMAGE_SIZE
        self.model: Any = None
        self.tokenizer: Any = None
        self.load_seconds: float | None = None
        self._decoder: Any = None
        self.batch_size_auto: dict[str, Any] | None = None
        if str(batch_size).lower() == "auto":
            self._check_auto_device()  # before fetching a config.json for nothing
            self.batch_size = self._auto_batch_size(self._config_dims())
        else:
            try:
                self.batch_size = int(batch_size)
            except (TypeError, ValueError):
                raise ConfigError(f"batch_size must be a positive integer or auto, got {batch_size!r}") from None
            if self.batch_size < 1:
                raise ConfigError(f"batch_size must be >= 1, got {batch_size}")

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_components(
        cls, model: Any, tokenizer: Any, recipe: str = "janus-pro", model_id: str = "in-memory", batch_size: int = 4, **knobs: Any
    ) -> "JanusGenerator":
        """Wrap an already-built model (benchmarks, tests); device and dtype are the model's."""
        p = next(model.parameters())
        auto = str(batch_size).lower() == "auto"
        gen = cls(model_id=model_id, recipe=recipe, device=str(p.device), dtype=str(p.dtype).replace("torch.", ""),
                  batch_size=1 if auto else batch_size, **knobs)
        gen.model, gen.tokenizer = model, tokenizer
        gen.checkpoint_format = "in-memory"
        gen.image_size = gen._model_image_size()
        gen._check_ids()
        if auto:  # the weights are already in memory: only the decode state has to fit
            from .janus_memory import text_dims

            gen.batch_size = gen._auto_batch_size(text_dims(model.config.text_config.to_dict()), loaded=True)
        return gen

    # ------------------------------------------------------------------ batch size

    def _config_dims(self) -> dict[str, int]:
        from .janus_memory import text_dims

        if self.model_id == "tiny":
            s = TINY_MODELS.load("janus-sizes")
            return text_dims({"hidden_size": s["hidden"], "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
                              "num_key_value_heads": s["kv_heads"], "intermediate_size": 4 * s["hidden"], "vocab_size": 400})
        from .janus_convert import resolve_checkpoint

        return text_dims(resolve_checkpoint(self.model_id, self.revision)[1])

    def _check_auto_device(self) -> None:
        if not str(self.device).startswith("cuda"):
            raise ConfigError(f"--batch-size auto sizes the batch from free GPU memory, but the device is {self.device}; "
                              "give a number instead (e.g. --batch-size 4, the default)")

    def _auto_batch_size(self, dims: dict[str, int], loaded: bool = False) -> int:
        from .janus_memory import auto_batch_size

        r = self.recipe
        self._check_auto_device()
        n, basis = auto_batch_size(
            self.device, dims, torch.finfo(self.torch_dtype).bits // 8, weights_loaded_bytes=0 if loaded else None,
            prompt_len=128, image_tokens=r.image_tokens or 576, cot_tokens=r.cot_max_new_tokens if r.uses_cot else 0,
            codebook=16384,
        )
        self.batch_size_auto = {"chosen": n, **basis}
        log.info("--batch-size auto: %d images per batch (%s)", n, basis)
        return n

    @staticmethod
    def _tiny_image_size() -> tuple[int, int]:
        TINY_SIZES = TINY_MODELS.load("janus-sizes")
        side = (TINY_SIZES["vision_image_size"] // TINY_SIZES["vision_patch_size"]) * 2 ** (len(TINY_SIZES["vq_channel_multiplier"]) - 1)
        return (side, side)

    def _model_image_size(self) -> tuple[int, int]:
        cfg = self.model.config
        side = (cfg.vision_config.image_size // cfg.vision_config.patch_size) * 2 ** (len(cfg.vq_config.channel_multiplier) - 1)
        return (side, side)

    def _load(self) -> None:
        if self.model is not None:
            return
        t0 = time.time()
        if self.model_id == "tiny":
            model, tokenizer = TINY_MODELS.load("janus")(seed=self.tiny_seed)
            self.checkpoint_format = "tiny"
        else:
            model, tokenizer, self.checkpoint_format = self._load_checkpoint()
        self.model = model.to(device=self.device, dtype=self.torch_dtype).eval()
        self.tokenizer = tokenizer
        self.image_size = self._model_image_size()
        self._check_ids()
        self.load_seconds = round(time.time() - t0, 2)

    def _load_checkpoint(self) -> tuple[Any, Any, str]:
        from transformers import AutoTokenizer, JanusForConditionalGeneration

        from .janus_convert import download_original, is_deepseek_config, load_original_checkpoint, resolve_checkpoint

        local, config = resolve_checkpoint(self.model_id, self.revision)
        if is_deepseek_config(config):
            folder = local if local is not None else download_original(self.model_id, self.revision)
            model, tokenizer = load_original_checkpoint(folder, dtype=self.torch_dtype)
            return model, tokenizer, "deepseek"
        if config.get("model_type") != "janus":
            raise ConfigError(
                f"{self.model_id}: expected a Janus checkpoint (model_type 'janus' or 'multi_modality'), "
                f"found model_type {config.get('model_type')!r}"
            )
        src = str(local) if local is not None else self.model_id
        model = JanusForConditionalGeneration.from_pretrained(src, revision=self.revision, dtype=self.torch_dtype)
        tokenizer = AutoTokenizer.from_pretrained(src, revision=self.revision)
        if self.recipe.uses_cot and getattr(model.config, "tie_word_embeddings", False):
            log.warning(
                "%s ties lm_head to the input embeddings (tie_word_embeddings=True); original Janus does not, "
                "so the semantic CoT of recipe %s may differ from the original model's",
                self.model_id, self.recipe.name,
            )
        return model, tokenizer, "hf"

    def _check_ids(self) -> None:
        tok = self.tokenizer
        self.bos_id = tok.bos_token_id
        self.eos_id = tok.eos_token_id
        self.pad_id = tok.convert_tokens_to_ids(PAD_TOKEN)
        self.boi_id = tok.convert_tokens_to_ids(BOI_TOKEN)
        bad = [n for n, v in (("BOS", self.bos_id), ("EOS", self.eos_id), (PAD_TOKEN, self.pad_id), (BOI_TOKEN, self.boi_id)) if v is None or v == tok.unk_token_id]
        if bad:
            raise ConfigError(f"{self.model_id}: tokenizer has no id for {bad}; a Janus tokenizer must define them")
        self.num_image_tokens = self.recipe.image_tokens or int(self.model.config.vision_config.num_image_tokens)

    # ------------------------------------------------------------------ inputs

    def encode(self, text: str) -> list[int]:
        """BOS + the text's tokens. BOS is added here, not by the tokenizer: transformers 5.x
        drops it for some byte-level tokenizer.json files (see specs/generation.md §7.3), and
        DeepSeek's LlamaTokenizerFast adds exactly one BOS and no EOS."""
        return [self.bos_id] + list(self.tokenizer(text, add_special_tokens=False).input_ids)

    def dry_run(self, requests: list[GenRequest]) -> list[dict[str, Any]]:
        """The exact model input strings of each stage, without loading any weights (the
        tokenizer prepends BOS to both; ``<begin_of_image>`` closes the image input)."""
        out = []
        for r in requests:
            cot_in = self.recipe.cot_input(r.item.prompt)
            image_in = self.recipe.image_input(r.item.prompt, COT_PLACEHOLDER if self.recipe.uses_cot else None)
            out.append(
                {
                    "prompt_id": r.item.prompt_id,
                    "sample_index": r.sample_index,
                    "seed": r.seed,
                    "model_inputs": {"cot": cot_in, "image": image_in},
                }
            )
        return out

    # ------------------------------------------------------------------ generation

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        self._load()
        results: list[GenResult] = []
        for start in range(0, len(requests), self.batch_size):
            results.extend(self._generate_batch(requests[start : start + self.batch_size]))
        return results

    def _loops(self) -> tuple[Any, Any]:
        """(text loop, image loop): the static-shape decoder's, or the eager reference's."""
        from .janus_sampling import generate_image_tokens, generate_text

        if self.loop == "eager":
            return (lambda *a, **k: generate_text(self.model, *a, **k),
                    lambda *a, **k: generate_image_tokens(self.model, *a, cache=self.cache, **k))
        if self._decoder is None or self._decoder.model is not self.model:
            from .janus_static import StaticDecoder

            self._decoder = StaticDecoder(self.model, compile=self.compile)
        return self._decoder.text, self._decoder.image_tokens

    def _generate_batch(self, batch: list[GenRequest]) -> list[GenResult]:
        from .janus_sampling import draw_uniforms

        text_loop, image_loop = self._loops()
        r = self.recipe
        t0 = time.time()
        n_text = r.cot_max_new_tokens if r.uses_cot else 0
        streams = [draw_uniforms(req.seed, self.num_image_tokens, n_text) for req in batch]
        cot_inputs: list[str | None] = [r.cot_input(req.item.prompt) for req in batch]
        cots: list[str | None] = [None] * len(batch)
        if r.uses_cot:
            outs = text_loop(
                [self.encode(s) for s in cot_inputs],  # type: ignore[arg-type]
                torch.stack([s[1] for s in streams]),
                pad_id=self.pad_id,
                eos_id=self.eos_id,
                temperature=r.cot_temperature,
                top_k=r.cot_top_k,
                top_p=r.cot_top_p,
                max_new_tokens=r.cot_max_new_tokens,
            )
            # as reason_inference.py: batch_decode(skip_special_tokens=True), no stripping
            cots = [self.tokenizer.decode(o, skip_special_tokens=True) for o in outs]
        image_texts = [r.image_text(req.item.prompt, cot) for req, cot in zip(batch, cots)]
        tokens = image_loop(
            [self.encode(t) + [self.boi_id] for t in image_texts],
            torch.stack([s[0] for s in streams]),
            pad_id=self.pad_id,
            cfg_weight=r.cfg_weight,
            temperature=r.image_temperature,
            top_k=r.image_top_k,
            top_p=r.image_top_p,
            num_image_tokens=self.num_image_tokens,
            cfg_dtype=self.cfg_dtype,
        )
        images = self.decode_images(tokens)
        seconds = (time.time() - t0) / len(batch)
        knobs = r.knobs()
        knobs["image_tokens"] = self.num_image_tokens
        knobs["cfg_dtype"] = self.cfg_dtype
        return [
            GenResult(
                image=img,
                info={
                    "model_inputs": {"cot": cot_in, "image": text + BOI_TOKEN},
                    "reasoning": cot,
                    "seed": req.seed,
                    "knobs": knobs,
                    "seconds": round(seconds, 4),
                },
            )
            for req, img, cot_in, text, cot in zip(batch, images, cot_inputs, image_texts, cots)
        ]

    @torch.inference_mode()
    def decode_images(self, tokens: torch.Tensor) -> list[Image.Image]:
        """VQ-decode on the model's device in chunks of ``decode_chunk`` images (bounded
        activation memory at large batches) and convert to uint8 there, so only uint8 pixels
        cross to the host; PIL images come out (PNG encoding is the writer thread's job)."""
        arrays = []
        for start in range(0, tokens.shape[0], self.decode_chunk):
            pixels = self.model.decode_image_tokens(tokens[start : start + self.decode_chunk])
            arrays.append(to_uint8_array(pixels).cpu())
        arr = torch.cat(arrays).numpy()
        return [Image.fromarray(a, mode="RGB") for a in arr]

    # ------------------------------------------------------------------ provenance

    def describe(self) -> dict[str, Any]:
        import transformers

        d: dict[str, Any] = {
            "generator": self.name,
            "model_id": self.model_id,
            "revision": self.revision,
            "checkpoint_format": self.checkpoint_format or "unknown until loaded (hf or deepseek)",
            "recipe": self.recipe.describe(),
            "image_size": list(self.image_size) if self.image_size else None,
            "dtype": str(self.torch_dtype).replace("torch.", ""),
            "device": self.device,
            "batch_size": self.batch_size,
            "kv_cache": self.cache,
            "loop": self.loop,
            "compile": self.compile,
            "cfg_dtype": self.cfg_dtype,
            "decode_chunk": self.decode_chunk,
            "sampler": (
                "inverse-CDF on per-image uniforms from torch.Generator(cpu).manual_seed(seed): image stream first, "
                "then CoT; generation head and CFG in cfg_dtype, warpers and softmax in float32, CDF in float64; "
                "CFG rows [cond; uncond], uncond = BOS + pad*(n-2) + <begin_of_image>"
            ),
            "bos": "prepended by the harness (one BOS per input, as DeepSeek's tokenizer)",
            "image_conversion": "clip((x+1)/2*255, 0, 255) -> uint8 (truncation), PNG",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }
        if self.model_id == "tiny":
            d["comparable"] = False
            d["tiny_seed"] = self.tiny_seed
        if self.batch_size_auto is not None:
            d["batch_size_auto"] = self.batch_size_auto
        if self.load_seconds is not None:
            d["load_seconds"] = self.load_seconds
        return d

    def identity(self) -> dict[str, Any]:
        # the checkpoint format is only known after loading and follows from model_id + revision
        d = super().identity()
        d.pop("checkpoint_format", None)
        # the static and eager loops give identical tokens (tests/test_janus_static.py), so the
        # loop is recorded in describe() but does not block a resume. ``compile`` stays: with
        # CUDA graphs the cache length is bucketed, which may move bf16 rounding on a GPU.
        for k in ("kv_cache", "loop", "decode_chunk", "batch_size_auto"):
            d.pop(k, None)
        return d

    def close(self) -> None:
        self.model = None
        self._decoder = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
