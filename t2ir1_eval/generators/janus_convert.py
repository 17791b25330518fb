"""Original DeepSeek Janus checkpoints (``multi_modality``) on transformers' native Janus classes.

``CaraJ/T2I-R1`` (safetensors) and ``deepseek-ai/Janus-Pro-7B`` (``.bin`` shards) are saved by
DeepSeek's ``MultiModalityCausalLM``. Their keys are renamed at load time to the layout of
``JanusForConditionalGeneration`` (the same renames as transformers'
``convert_janus_weights_to_hf.py``, which is not shipped in the wheel and reads ``.bin`` only),
the fused SigLIP ``qkv`` is split, and the config is rebuilt from the original ``config.json``
plus the tensor shapes (the original config only names its VQ and SigLIP: ``VQ-16``,
``siglip_large_patch16_384``). ``convert_checkpoint`` writes a transformers-format copy.

Differences from the official converter, on purpose: ``tie_word_embeddings=False`` (original
Janus has its own ``lm_head``; tying it silently changes the text logits, i.e. T2I-R1's
semantic CoT), and every key is checked against the model (name and shape) before loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..errors import BackendUnavailable, ConfigError
# the key tables and config translation live below the loader; re-exported for callers of this module
from ..models.janus_layout import (  # noqa: F401
    BOI, BOS, IMAGE_TOKEN, PAD, SIGLIP_PRESETS, is_deepseek_config, janus_config_from_original, map_key,
    map_state_dict, map_tensor, set_image_generation_config, to_original_layout,
)

# ----------------------------------------------------------------------------- reading


def checkpoint_files(folder: Path) -> list[Path]:
    """Weight files of an original checkpoint: safetensors (T2I-R1) or .bin shards (Janus-Pro)."""
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.exists():
            names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            return [folder / n for n in names]
    for single in ("model.safetensors", "pytorch_model.bin"):
        if (folder / single).exists():
            return [folder / single]
    found = sorted(p.name for p in folder.iterdir())
    raise ConfigError(
        f"no weights in {folder}: expected model.safetensors[.index.json] or pytorch_model.bin[.index.json], "
        f"found {found}"
    )


def load_original_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for f in checkpoint_files(folder):
        if f.suffix == ".safetensors":
            from safetensors.torch import load_file

            state.update(load_file(str(f)))
        else:
            # mmap keeps a 15 GB checkpoint out of RAM until each tensor is copied
            state.update(torch.load(f, map_location="cpu", weights_only=True, mmap=True))
    return state


def _check_against_model(mapped: dict[str, torch.Tensor], config: Any, source: str) -> None:
    """Fail with names and shapes before transformers would fail (or silently re-initialise)."""
    from accelerate import init_empty_weights
    from transformers import JanusForConditionalGeneration

    with init_empty_weights():
        skeleton = JanusForConditionalGeneration(config)
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    missing = sorted(set(expected) - set(mapped))
    unexpected = sorted(set(mapped) - set(expected))
    wrong = sorted(k for k in set(expected) & set(mapped) if tuple(mapped[k].shape) != expected[k])
    if missing or unexpected or wrong:
        lines = [f"{source}: the original Janus checkpoint does not fit JanusForConditionalGeneration"]
        if missing:
            lines.append(f"  missing after key mapping ({len(missing)}): {missing[:8]}")
        if unexpected:
            lines.append(f"  not used by the model ({len(unexpected)}): {unexpected[:8]}")
        for k in wrong[:8]:
            lines.append(f"  {k}: expected shape {expected[k]}, found {tuple(mapped[k].shape)}")
        raise ConfigError("\n".join(lines))


def load_original_checkpoint(folder: str | Path, dtype: torch.dtype = torch.float32, device: str = "cpu") -> tuple[Any, Any]:
    """(model, tokenizer) from a local folder holding an original DeepSeek Janus checkpoint."""
    from transformers import AutoTokenizer, JanusForConditionalGeneration

    folder = Path(folder)
    cfg_path = folder / "config.json"
    config = json.loads(cfg_path.read_text())
    if not is_deepseek_config(config):
        raise ConfigError(f"{cfg_path}: expected model_type 'multi_modality' (DeepSeek Janus), found {config.get('model_type')!r}")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    check_tokenizer(tokenizer, str(folder))
    original = load_original_state_dict(folder)
    shapes = {k: tuple(v.shape) for k, v in original.items()}
    jconfig = janus_config_from_original(config, shapes, tokenizer, source=str(cfg_path))
    mapped = map_state_dict(original)
    del original
    _check_against_model(mapped, jconfig, str(folder))
    model = JanusForConditionalGeneration.from_pretrained(
        None, config=jconfig, state_dict=mapped, dtype=dtype, device_map=device if device != "cpu" else None
    )
    model.eval()
    return model, tokenizer


def check_tokenizer(tokenizer: Any, source: str) -> None:
    """The ids the recipes rely on must exist (and not fall back to <unk>)."""
    problems = []
    if tokenizer.bos_token_id is None:
        problems.append("no BOS token")
    for tok in (PAD, BOI):
        tid = tokenizer.convert_tokens_to_ids(tok)
        if tid is None or (tokenizer.unk_token_id is not None and tid == tokenizer.unk_token_id):
            problems.append(f"no {tok!r} token")
    if problems:
        raise ConfigError(f"{source}: tokenizer unusable for Janus generation: {', '.join(problems)}")


def convert_checkpoint(src_dir: str | Path, dst_dir: str | Path, dtype: str = "bfloat16") -> Path:
    """Write a transformers-format (``model_type: janus``) copy of an original checkpoint."""
    dst = Path(dst_dir)
    torch_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    model, tokenizer = load_original_checkpoint(src_dir, dtype=torch_dtype)
    set_image_generation_config(model, tokenizer)
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(dst))
    tokenizer.save_pretrained(str(dst))
    _save_processor(Path(src_dir), dst, tokenizer)
    return dst


def _save_processor(src: Path, dst: Path, tokenizer: Any) -> None:
    """A JanusProcessor beside the weights, so ``AutoProcessor`` works on the copy as on the hub's."""
    try:
        from transformers import JanusProcessor
        from transformers.models.janus.image_processing_pil_janus import JanusImageProcessorPil
    except ImportError:  # older transformers: the tokenizer alone is enough for generation
        return
    kwargs: dict[str, Any] = {}
    pre = src / "preprocessor_config.json"
    if pre.exists():
        p = json.loads(pre.read_text())
        for k in ("do_normalize", "image_mean", "image_std", "min_size", "rescale_factor"):
            if k in p:
                kwargs[k] = p[k]
        if "image_size" in p:
            kwargs["size"] = {"height": p["image_size"], "width": p["image_size"]}
    try:
        JanusProcessor(image_processor=JanusImageProcessorPil(**kwargs), tokenizer=tokenizer).save_pretrained(str(dst))
    except Exception as e:  # processor extras are a convenience, never a reason to lose a conversion
        (dst / "PROCESSOR_NOT_SAVED.txt").write_text(f"JanusProcessor could not be saved: {e}\n")


# ----------------------------------------------------------------------------- resolving


def resolve_checkpoint(model_id: str, revision: str | None) -> tuple[Path | None, dict[str, Any]]:
    """(local folder or None for a hub id, config.json contents); hub errors become
    ``BackendUnavailable`` naming the model and what to do."""
    local = Path(model_id).expanduser()
    if local.is_dir():
        cfg = local / "config.json"
        if not cfg.exists():
            raise ConfigError(f"{local}: expected a config.json in the checkpoint folder, found none")
        return local, json.loads(cfg.read_text())
    try:
        from huggingface_hub import hf_hub_download

        cfg_file = hf_hub_download(model_id, "config.json", revision=revision)
    except Exception as e:
        raise BackendUnavailable(
            f"cannot fetch config.json of {model_id!r} (revision {revision or 'main'}): {type(e).__name__}: {e}. "
            f"Download it first (`huggingface-cli download {model_id}`) or pass a local folder as model_id."
        ) from e
    return None, json.loads(Path(cfg_file).read_text())


def download_original(model_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                model_id,
                revision=revision,
                allow_patterns=["*.json", "*.safetensors", "*.bin", "*.model", "*.txt"],
            )
        )
    except Exception as e:
        raise BackendUnavailable(f"cannot download {model_id!r} (revision {revision or 'main'}): {e}") from e
