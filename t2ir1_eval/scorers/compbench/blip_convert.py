"""Salesforce's original BLIP VQA checkpoint -> transformers ``BlipForQuestionAnswering``.

T2I-CompBench scores with ``model_base_vqa_capfilt_large.pth`` at 480 px. That file was
fine-tuned at 480 px: its ViT position table has 901 entries (30x30 + 1), so BLIP's
``load_checkpoint`` interpolates nothing. The hub conversion ``Salesforce/blip-vqa-capfilt-large``
was made at 384 px (577 entries, BLIP's own interpolation of the 901 table) and keeps
transformers' LayerNorm eps 1e-5 where BLIP's ViT uses 1e-6: neither can be undone at load time,
so this module reads the original file instead.

The file is ``{'model': state_dict, ...}`` (``torch.save`` of BLIP_VQA): ``visual_encoder.*``
(timm-style ViT, models/vit.py), ``text_encoder.*`` (BertModel with cross-attention, models/med.py)
and ``text_decoder.*`` (BertLMHeadModel). The text keys already have transformers' BLIP names;
the ViT keys are renamed (the same renames as transformers' ``convert_blip_original_pytorch_to_hf.py``).
Sizes come from the tensors (width, depth, patch, positions, vocabulary, MLP widths), the text
head count and eps from BLIP's ``med_config.json`` beside the checkpoint when present, and the
ViT head count - which no shape shows - from BLIP's ViT-B/L convention (768 -> 12, 1024 -> 16)
unless ``vit_heads`` overrides it. Every mapped key is checked against the model by name and
shape before loading.

Usage: ``t2ir1-eval convert blip-vqa SRC.pth DST_DIR [-o tokenizer=...] [-o vit_heads=N]``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import torch

from ...errors import BackendUnavailable, ConfigError
from ...models.state_dict import count_children, require_shape

log = logging.getLogger(__name__)

#: bump when the mapping or the config translation changes (names the cache of converted copies)
CONVERTER_VERSION = "1"
RELEASE_NAME = "model_base_vqa_capfilt_large.pth"
#: named by BLIP's README / configs/vqa.yaml (``pretrained: .../BLIP/models/model*_vqa.pth``)
RELEASE_URL = f"https://storage.googleapis.com/sfr-vision-language-research/BLIP/models/{RELEASE_NAME}"
#: Salesforce publishes no checksum for it: we record the sha256 of the file each run used
RELEASE_SHA256: str | None = None
#: BLIP's create_vit: 'base' = ViT-B/16 (768 wide, 12 heads), 'large' = ViT-L/16 (1024 wide, 16 heads)
VIT_HEADS_BY_WIDTH = {768: 12, 1024: 16}
VIT_LAYER_NORM_EPS = 1e-6  # models/vit.py: partial(nn.LayerNorm, eps=1e-6)
#: BLIP's configs/med_config.json (bert-base + [DEC], [ENC]); used for what the tensors cannot show
MED_CONFIG_DEFAULTS = {"num_attention_heads": 12, "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
DEC, ENC = "[DEC]", "[ENC]"

_VISION_RENAMES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^visual_encoder\.cls_token$"), "vision_model.embeddings.class_embedding"),
    (re.compile(r"^visual_encoder\.pos_embed$"), "vision_model.embeddings.position_embedding"),
    (re.compile(r"^visual_encoder\.patch_embed\.proj\.(weight|bias)$"), r"vision_model.embeddings.patch_embedding.\1"),
    (re.compile(r"^visual_encoder\.blocks\.(\d+)\.norm1\.(weight|bias)$"), r"vision_model.encoder.layers.\1.layer_norm1.\2"),
    (re.compile(r"^visual_encoder\.blocks\.(\d+)\.norm2\.(weight|bias)$"), r"vision_model.encoder.layers.\1.layer_norm2.\2"),
    (re.compile(r"^visual_encoder\.blocks\.(\d+)\.attn\.qkv\.(weight|bias)$"), r"vision_model.encoder.layers.\1.self_attn.qkv.\2"),
    (re.compile(r"^visual_encoder\.blocks\.(\d+)\.attn\.proj\.(weight|bias)$"),
     r"vision_model.encoder.layers.\1.self_attn.projection.\2"),
    (re.compile(r"^visual_encoder\.blocks\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)$"), r"vision_model.encoder.layers.\1.mlp.\2.\3"),
    (re.compile(r"^visual_encoder\.norm\.(weight|bias)$"), r"vision_model.post_layernorm.\1"),
]
# BERT halves: med.py and transformers' BlipText* share the module names
_TEXT = re.compile(r"^(text_encoder|text_decoder)\.")
#: source keys with no target: the BERT position_ids buffers (transformers recomputes them)
_IGNORED = re.compile(r"\.position_ids$")


def map_key(key: str) -> str | None:
    """The transformers key for an original BLIP VQA key; None for a buffer we drop.
    Raises KeyError for a key this mapping does not know."""
    if _IGNORED.search(key):
        return None
    for pattern, repl in _VISION_RENAMES:
        if pattern.match(key):
            return pattern.sub(repl, key)
    if _TEXT.match(key):
        return key
    raise KeyError(key)


def load_original_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of an original BLIP checkpoint (``{'model': state_dict}`` or a bare state dict).

    Read with ``weights_only=True`` only: a release checkpoint is plain tensors plus plain config
    values; anything needing the full unpickler is refused rather than executed.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"BLIP checkpoint {path} does not exist (expected {RELEASE_NAME} from {RELEASE_URL})")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        # torch's own text suggests turning weights-only loading off; keep only the line that names the culprit
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        why = next((ln for ln in lines if "Unsupported global" in ln), lines[0] if lines else type(exc).__name__)
        raise ConfigError(
            f"{path}: could not read it as a plain tensor checkpoint with torch.load(weights_only=True): {why}. "
            f"Expected BLIP's release file ({RELEASE_URL}); a file that needs the full unpickler is not loaded "
            f"(it could run code). Re-save it as {{'model': state_dict}} of tensors, or download the release file."
        ) from exc
    state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not any(str(k).startswith("visual_encoder.") for k in state):
        found = sorted(map(str, state))[:5] if isinstance(state, dict) else type(ckpt).__name__
        raise ConfigError(f"{path}: expected an original BLIP VQA checkpoint ({{'model': {{'visual_encoder.*', "
                          f"'text_encoder.*', 'text_decoder.*'}}}}), found {found}")
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def convert_state_dict(src: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Transformers-named tensors; raises naming every original key the mapping does not know."""
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in src.items():
        try:
            new = map_key(key)
        except KeyError:
            unknown.append(key)
            continue
        if new is not None:
            out[new] = value
    if unknown:
        raise ConfigError(f"BLIP checkpoint has {len(unknown)} keys with no transformers target (expected BLIP_VQA's "
                          f"visual_encoder / text_encoder / text_decoder), e.g. {unknown[:8]}")
    return out


def _count(prefix: str, keys: list[str]) -> int:
    return count_children(prefix, keys)


def _shape(shapes: dict[str, tuple[int, ...]], key: str, source: str) -> tuple[int, ...]:
    return require_shape(shapes, key, source, "BLIP VQA")


def read_med_config(path: Path | None) -> dict[str, Any]:
    """BLIP's med_config.json (a BertConfig) if given/present, else BLIP's own values."""
    if path is None or not Path(path).is_file():
        return dict(MED_CONFIG_DEFAULTS)
    try:
        cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: expected BLIP's med_config.json (a BERT config in JSON), could not read it: {exc}") from exc
    return {**MED_CONFIG_DEFAULTS, **cfg}


def blip_config_from_original(shapes: dict[str, tuple[int, ...]], med: dict[str, Any], token_ids: dict[str, int],
                              vit_heads: int | None = None, source: str = "checkpoint") -> Any:
    """A ``BlipConfig`` that holds the original model: sizes from the tensors, the rest from ``med``."""
    from transformers import BlipConfig

    keys = list(shapes)
    ve = "visual_encoder."
    patch_w = _shape(shapes, ve + "patch_embed.proj.weight", source)
    width, patch = patch_w[0], patch_w[-1]
    n_pos = _shape(shapes, ve + "pos_embed", source)[-2]
    side = round((n_pos - 1) ** 0.5)
    if side * side != n_pos - 1:
        raise ConfigError(f"{source}: pos_embed has {n_pos} entries, expected a square grid + 1 class token")
    heads = vit_heads if vit_heads is not None else VIT_HEADS_BY_WIDTH.get(width)
    if heads is None:
        raise ConfigError(f"{source}: the ViT is {width} wide, neither BLIP's ViT-B (768) nor ViT-L (1024), and its head "
                          f"count cannot be read from the tensors: pass vit_heads=N (`-o vit_heads=N` on the CLI)")
    if int(heads) <= 0 or width % int(heads):
        raise ConfigError(f"{source}: vit_heads={heads} does not divide the ViT width {width}")
    vision = dict(
        hidden_size=width,
        intermediate_size=_shape(shapes, ve + "blocks.0.mlp.fc1.weight", source)[0],
        num_hidden_layers=_count(ve + "blocks.", keys),
        num_attention_heads=int(heads),
        image_size=side * patch,  # 480 for the release file: no interpolation at BLIP-VQA's 480 px
        patch_size=patch,
        layer_norm_eps=VIT_LAYER_NORM_EPS,
        hidden_act="gelu",
    )

    te, td = "text_encoder.", "text_decoder.bert."
    emb = _shape(shapes, te + "embeddings.word_embeddings.weight", source)
    dec_emb = _shape(shapes, td + "embeddings.word_embeddings.weight", source)
    enc_cross = _shape(shapes, te + "encoder.layer.0.crossattention.self.key.weight", source)[1]
    dec_cross = _shape(shapes, td + "encoder.layer.0.crossattention.self.key.weight", source)[1]
    if emb != dec_emb:
        raise ConfigError(f"{source}: text encoder embeddings {emb} and decoder embeddings {dec_emb} differ in shape")
    if enc_cross != width or dec_cross != emb[1]:
        # transformers' BLIP has one encoder_hidden_size for both cross-attentions
        raise ConfigError(f"{source}: cross-attention inputs are {enc_cross} (encoder, from the ViT {width}) and "
                          f"{dec_cross} (decoder, from the text {emb[1]}); transformers' BLIP needs both equal")
    if width != emb[1]:
        raise ConfigError(f"{source}: ViT width {width} != text width {emb[1]}: transformers' BlipForQuestionAnswering "
                          f"has one encoder_hidden_size, so only BLIP's ViT-B VQA models (768/768) fit")
    n_text = _count(te + "encoder.layer.", keys)
    n_dec = _count(td + "encoder.layer.", keys)
    if n_text != n_dec:
        raise ConfigError(f"{source}: text encoder has {n_text} layers, decoder {n_dec}; transformers' BLIP needs equal depth")
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size"):
        found = {"vocab_size": emb[0], "hidden_size": emb[1], "num_hidden_layers": n_text,
                 "intermediate_size": _shape(shapes, te + "encoder.layer.0.intermediate.dense.weight", source)[0]}[key]
        if key in med and int(med[key]) != found:
            raise ConfigError(f"{source}: med_config.json says {key}={med[key]}, but the checkpoint's tensors show {found}")
    text_heads = int(med["num_attention_heads"])
    if emb[1] % text_heads:
        raise ConfigError(f"{source}: med_config num_attention_heads={text_heads} does not divide the text width {emb[1]}")
    text = dict(
        vocab_size=emb[0],
        hidden_size=emb[1],
        encoder_hidden_size=width,
        intermediate_size=_shape(shapes, te + "encoder.layer.0.intermediate.dense.weight", source)[0],
        num_hidden_layers=n_text,
        num_attention_heads=text_heads,
        max_position_embeddings=_shape(shapes, te + "embeddings.position_embeddings.weight", source)[0],
        layer_norm_eps=float(med["layer_norm_eps"]),
        hidden_act=str(med["hidden_act"]),
        pad_token_id=token_ids["pad"],
        bos_token_id=token_ids["dec"],
        sep_token_id=token_ids["sep"],
        eos_token_id=token_ids["sep"],
    )
    return BlipConfig(text_config=text, vision_config=vision)


def blip_tokenizer(source: str | Path, vocab_size: int | None = None) -> tuple[Any, dict[str, int]]:
    """BLIP's ``init_tokenizer``: bert-base-uncased + ``[DEC]`` as BOS + ``[ENC]`` as a special token.

    (transformers 5 dropped ``additional_special_tokens_ids``, which BLIP reads ``[ENC]`` from:
    we ask ``convert_tokens_to_ids('[ENC]')``.) Tokens already present are kept where they are.
    """
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(source))
    except (OSError, ValueError) as exc:
        raise BackendUnavailable(
            f"BLIP tokenizer {str(source)!r} could not be loaded: {exc}. BLIP uses bert-base-uncased: download it once "
            f"(`huggingface-cli download bert-base-uncased`) or pass tokenizer=<local folder>"
        ) from exc
    unk = tok.unk_token_id
    if tok.convert_tokens_to_ids(DEC) in (None, unk):
        tok.add_special_tokens({"bos_token": DEC})
    else:
        tok.bos_token = DEC
    if tok.convert_tokens_to_ids(ENC) in (None, unk):
        tok.add_tokens([ENC], special_tokens=True)
    ids = {"dec": tok.convert_tokens_to_ids(DEC), "enc": tok.convert_tokens_to_ids(ENC),
           "pad": tok.pad_token_id, "sep": tok.sep_token_id}
    if None in ids.values():
        raise ConfigError(f"BLIP tokenizer {source}: expected [PAD] and [SEP] tokens, found ids {ids}")
    if vocab_size is not None and (len(tok) != vocab_size or max(ids.values()) >= vocab_size):
        raise ConfigError(f"BLIP tokenizer {source} has {len(tok)} tokens ([DEC]={ids['dec']}, [ENC]={ids['enc']}), but "
                          f"the checkpoint's embeddings have {vocab_size} rows: expected bert-base-uncased (30522) + 2")
    return tok, {k: int(v) for k, v in ids.items()}


def check_against(model: Any, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise naming every parameter the conversion left unset, could not place, or mis-shaped."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [f"{k}: expected {expected[k]}, found {tuple(state[k].shape)}"
             for k in sorted(set(expected) & set(state)) if tuple(state[k].shape) != expected[k]]
    if missing or extra or wrong:
        raise ConfigError(f"{source}: the converted BLIP does not fit BlipForQuestionAnswering: missing {missing[:6]} "
                          f"({len(missing)}), unexpected {extra[:6]} ({len(extra)}), shape mismatches {wrong[:4]} "
                          f"({len(wrong)})")
    # transformers ties the LM head to the decoder's word embeddings; BLIP's checkpoint must agree
    head, words = state.get("text_decoder.cls.predictions.decoder.weight"), \
        state.get("text_decoder.bert.embeddings.word_embeddings.weight")
    if head is not None and words is not None and not torch.equal(head, words):
        raise ConfigError(f"{source}: the decoder's LM head differs from its word embeddings; transformers' BLIP ties "
                          f"them, so this checkpoint cannot be loaded faithfully")


def load_original(path: str | Path, tokenizer: str | Path | None = None, med_config: str | Path | None = None,
                  vit_heads: int | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """(BlipForQuestionAnswering in eval mode, tokenizer, provenance) from an original BLIP VQA file.

    ``tokenizer``: a folder or hub id (default: a ``tokenizer/`` folder beside the checkpoint, else
    ``bert-base-uncased`` as BLIP loads it); ``med_config``: default ``med_config.json`` beside it.
    """
    from transformers import BlipForQuestionAnswering

    from ...io import sha256_file

    path = Path(path)
    original = load_original_state_dict(path)
    shapes = {k: tuple(v.shape) for k, v in original.items()}
    med_path = Path(med_config) if med_config else path.parent / "med_config.json"
    if med_config and not med_path.is_file():
        raise ConfigError(f"med_config {med_path} does not exist (expected BLIP's configs/med_config.json)")
    med = read_med_config(med_path)
    tok_source = tokenizer or (path.parent / "tokenizer" if (path.parent / "tokenizer").is_dir() else "bert-base-uncased")
    vocab = _shape(shapes, "text_encoder.embeddings.word_embeddings.weight", str(path))[0]
    tok, ids = blip_tokenizer(tok_source, vocab)
    config = blip_config_from_original(shapes, med, ids, vit_heads=vit_heads, source=str(path))
    state = convert_state_dict(original)
    del original
    with torch.random.fork_rng(devices=[]):  # every tensor is overwritten below; keep the caller's RNG
        model = BlipForQuestionAnswering(config)
    check_against(model, state, str(path))
    model.load_state_dict(state, strict=True)
    model.eval()
    sha = sha256_file(path)
    info = {
        "weights": str(path),
        "format": "original BLIP (converted on load)",
        "source_sha256": sha,
        "release_url": RELEASE_URL if path.name == RELEASE_NAME else None,
        "release_sha256_pinned": RELEASE_SHA256,
        "release_sha256_match": (sha == RELEASE_SHA256) if RELEASE_SHA256 else None,
        "med_config": str(med_path) if med_path.is_file() else "BLIP defaults (no med_config.json beside the file)",
        "tokenizer": str(tok_source),
        "vit_heads": config.vision_config.num_attention_heads,
        "vit_heads_from": "override" if vit_heads is not None else "ViT-B/L convention",
        "position_table": config.vision_config.image_size,
        "vision_layer_norm_eps": VIT_LAYER_NORM_EPS,
        "converter_version": CONVERTER_VERSION,
    }
    return model, tok, info


def convert_checkpoint(src: str | Path, dst: str | Path, tokenizer: str | None = None, med_config: str | None = None,
                       vit_heads: int | str | None = None) -> dict[str, Any]:
    """Write a transformers folder (config, weights, tokenizer, conversion.json with the source's sha256)."""
    from ...io import atomic_write_text

    model, tok, info = load_original(src, tokenizer=tokenizer, med_config=med_config,
                                     vit_heads=int(vit_heads) if vit_heads is not None else None)
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dst)
    tok.save_pretrained(dst)
    info = {**info, "source": str(src), "converter": __name__}
    atomic_write_text(dst / "conversion.json", json.dumps(info, indent=2) + "\n")
    return info
