"""Where the BLIP-VQA scorer's weights come from, and whether they are the official ones.

``model_id``:
* ``"original"`` - Salesforce's ``model_base_vqa_capfilt_large.pth``: ``$T2IR1_EVAL_BLIP_VQA`` (the
  file or its folder), else ``<cache>/t2i_compbench/``, else downloaded there from the release URL
  (unless ``$T2IR1_EVAL_OFFLINE``). Converted on load (``blip_convert``) and the converted copy
  cached, keyed by the file's sha256 and the converter version. Comparable.
* a path to an original-layout ``.pth`` - the same, for that file (comparable when its table is
  at the scorer's image size: nothing is interpolated then).
* a folder made by ``t2ir1-eval convert blip-vqa`` (it holds ``conversion.json``) - as converted.
* anything else (``Salesforce/blip-vqa-capfilt-large``, another hub id or transformers folder) -
  the transformers-format model as is, its position table interpolated to 480 px at run time:
  labelled not comparable (not BLIP's 480-px table, and eps 1e-5 where BLIP's ViT uses 1e-6).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ...context import ScorerContext
from ...errors import BackendUnavailable, ConfigError
from . import blip_convert as bc

log = logging.getLogger(__name__)

ENV_CHECKPOINT = "T2IR1_EVAL_BLIP_VQA"
ENV_OFFLINE = "T2IR1_EVAL_OFFLINE"


def load(model_id: str, revision: str | None, context: ScorerContext, tokenizer: str | None = None,
         med_config: str | None = None, vit_heads: int | None = None, image_size: int = 480,
         ) -> tuple[Any, Any, dict[str, Any]]:
    """(BlipForQuestionAnswering, tokenizer, provenance incl. ``comparable``)."""
    if model_id == "original":
        path = release_checkpoint(context.cache_dir)
        return _from_original(path, context.cache_dir, tokenizer, med_config, vit_heads, image_size)
    as_path = Path(model_id).expanduser()
    if as_path.is_file():
        return _from_original(as_path, context.cache_dir, tokenizer, med_config, vit_heads, image_size)
    if as_path.is_dir() and (as_path / "conversion.json").is_file():
        model, tok = _from_transformers(str(as_path), None, None)
        info = json.loads((as_path / "conversion.json").read_text(encoding="utf-8"))
        return model, tok, _labelled(info, model, image_size, format_="original BLIP (converted folder)",
                                     weights=str(as_path))
    model, tok = _from_transformers(model_id, revision, context)
    info = {"weights": model_id, "format": "transformers (hub conversion)"}
    info.update(comparable=False,
                not_comparable_because=("not Salesforce's 480-px checkpoint: a transformers conversion whose "
                                        f"{model.config.vision_config.image_size}-px position table is interpolated "
                                        f"to {image_size} px, vision LayerNorm eps "
                                        f"{model.config.vision_config.layer_norm_eps} (BLIP: 1e-6); use "
                                        f"model_id='original'"))
    return model, tok, info


def _labelled(info: dict[str, Any], model: Any, image_size: int, format_: str, weights: str) -> dict[str, Any]:
    vc = model.config.vision_config
    native = vc.image_size == image_size and vc.layer_norm_eps == bc.VIT_LAYER_NORM_EPS
    out = {**info, "weights": weights, "format": format_, "comparable": bool(native)}
    if not native:
        out["not_comparable_because"] = (f"position table at {vc.image_size} px (scoring at {image_size}) or vision "
                                         f"eps {vc.layer_norm_eps} != {bc.VIT_LAYER_NORM_EPS}")
    return out


def _from_original(path: Path, cache_dir: Path | None, tokenizer: str | None, med_config: str | None,
                   vit_heads: int | None, image_size: int) -> tuple[Any, Any, dict[str, Any]]:
    from ...io import sha256_file

    sha = sha256_file(path)
    # keyed by the source file, the converter version and the override, so a fixed mapping never reads a stale copy
    tag = f"blip-vqa-{sha[:16]}-v{bc.CONVERTER_VERSION}" + (f"-h{vit_heads}" if vit_heads else "")
    cached = Path(cache_dir) / "t2i_compbench" / tag if cache_dir and not (tokenizer or med_config) else None
    if cached is not None and (cached / "conversion.json").is_file():
        model, tok = _from_transformers(str(cached), None, None)
        info = json.loads((cached / "conversion.json").read_text(encoding="utf-8"))
        return model, tok, _labelled({**info, "converted_cache": str(cached)}, model, image_size,
                                     format_="original BLIP (converted on load, cached)", weights=str(path))
    model, tok, info = bc.load_original(path, tokenizer=tokenizer, med_config=med_config, vit_heads=vit_heads)
    if cached is not None:
        try:
            cached.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(cached)
            tok.save_pretrained(cached)
            from ...io import atomic_write_text

            # written last: its presence marks a complete copy
            atomic_write_text(cached / "conversion.json", json.dumps({**info, "source": str(path)}, indent=2) + "\n")
            info["converted_cache"] = str(cached)
        except OSError as exc:  # a read-only cache must not stop scoring
            log.warning("could not cache the converted BLIP in %s: %s", cached, exc)
    return model, tok, _labelled(info, model, image_size, format_=info["format"], weights=str(path))


def _from_transformers(model_id: str, revision: str | None, context: ScorerContext | None) -> tuple[Any, Any]:
    from transformers import AutoTokenizer, BlipForQuestionAnswering

    cache = str(context.options["hf_cache_dir"]) if context and context.options.get("hf_cache_dir") else None
    try:
        model = BlipForQuestionAnswering.from_pretrained(model_id, revision=revision, cache_dir=cache)
        tok = AutoTokenizer.from_pretrained(model_id, revision=revision, cache_dir=cache)
    except OSError as exc:
        raise BackendUnavailable(
            f"could not load BLIP VQA {model_id!r}: expected 'original' (Salesforce's release checkpoint), a path to "
            f"it, a folder from `t2ir1-eval convert blip-vqa`, or a hub id reachable from here; found: {exc}"
        ) from exc
    return model, tok


def release_checkpoint(cache_dir: Path | None) -> Path:
    """The local release file: ``$T2IR1_EVAL_BLIP_VQA``, the cache, or downloaded into the cache."""
    env = os.environ.get(ENV_CHECKPOINT)
    if env:
        p = Path(env).expanduser()
        p = p / bc.RELEASE_NAME if p.is_dir() else p
        if not p.is_file():
            raise ConfigError(f"${ENV_CHECKPOINT}={env}: expected {bc.RELEASE_NAME} (or its folder), found nothing there. "
                              f"Download {bc.RELEASE_URL} or unset the variable")
        return p
    if cache_dir is None:
        raise BackendUnavailable(f"BLIP VQA: no cache folder to find or download {bc.RELEASE_NAME} in; set "
                                 f"${ENV_CHECKPOINT} to the file (from {bc.RELEASE_URL})")
    target = Path(cache_dir) / "t2i_compbench" / bc.RELEASE_NAME
    if target.is_file():
        return target
    if os.environ.get(ENV_OFFLINE):
        raise BackendUnavailable(f"BLIP VQA weights not found: expected {target} or ${ENV_CHECKPOINT}, and "
                                 f"${ENV_OFFLINE} forbids downloading {bc.RELEASE_URL}. Download it there by hand.")
    return download(bc.RELEASE_URL, target)


def download(url: str, target: Path) -> Path:
    """Stream ``url`` to ``target`` (a temporary name, then renamed: never a half file), with progress."""
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".download")
    log.info("downloading %s to %s", url, target)
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:  # noqa: S310 (fixed https URL)
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, disable=None) as bar:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise BackendUnavailable(f"could not download the BLIP VQA checkpoint from {url}: {exc}. Download it by hand to "
                                 f"{target} (or set ${ENV_CHECKPOINT} to it)") from exc
    os.replace(tmp, target)
    return target
