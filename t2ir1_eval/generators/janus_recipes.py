"""Named Janus-family generation recipes: prompt templates and every sampling knob.

Sources (see shared/specs/generation.md):
- ``t2i-r1``: CaraJ7/T2I-R1 ``src/t2i-r1/src/infer/reason_inference.py`` at 2d9d4d1 and
  ``data/prompt/reasoning_prompt.txt``; confirmed by ULMEvalKit ``ulmeval/ulm/t2ir1.py``.
- ``janus-pro``: deepseek-ai/Janus README Janus-Pro text-to-image snippet at 1daa72f
  (roles ``<|User|>``/``<|Assistant|>``, empty system prompt), which is how the T2I-R1 paper's
  Janus-Pro-7B baseline was generated (no semantic CoT; CaraJ7/T2I-R1 issue #12).

Strings are rendered with DeepSeek's ``deepseek`` conversation template
(``SeparatorStyle.DeepSeek``, sep ``"\\n\\n"``) through ``apply_sft_template_for_multi_turn_prompts``:
each message is ``.strip()``-ed, an empty assistant turn renders as ``"{role}:"`` and the whole
prompt is ``.strip()``-ed. The tokenizer prepends BOS; the image stage appends
``<begin_of_image>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import ConfigError

#: data/prompt/reasoning_prompt.txt after ``.strip()`` (reason_inference.py strips it)
T2I_R1_COT_TEMPLATE = (
    'You are asked to generate an image based on this prompt: "{}"\n'
    "Provide a brief, precise visualization of all elements in the prompt. Your description should:\n"
    "1. Include every object mentioned in the prompt\n"
    "2. Specify visual attributes (color, number, shape, texture) if specified in the prompt\n"
    "3. Clarify relationships (e.g., spatial) between objects if specified in the prompt\n"
    "4. Be concise (50 words or less)\n"
    "5. Focus only on what's explicitly stated in the prompt\n"
    "6. Do not elaborate beyond the attributes or relationships specified in the prompt\n"
    "Do not miss objects. Output your visualization directly without explanation:"
)

#: reason_inference.py's system prompt for the semantic-CoT stage
T2I_R1_COT_SYSTEM = (
    "You are a helpful assistant that receives an image prompt and generate a visualization of the prompt."
)

#: reason_inference.py: ``f"{prompt_text}. {answer}"``
T2I_R1_IMAGE_PROMPT = "{prompt}. {cot}"

BOI_TOKEN = "<begin_of_image>"
#: what dry runs show where the semantic CoT will go
COT_PLACEHOLDER = "<semantic CoT sampled at run time>"


def sft_format(user_text: str, roles: tuple[str, str], system_prompt: str = "") -> str:
    """DeepSeek's ``deepseek`` conversation template for one user turn plus an empty
    assistant turn, exactly as ``VLChatProcessor.apply_sft_template_for_multi_turn_prompts``."""
    user_role, assistant_role = roles
    out = "" if not system_prompt else system_prompt + "\n\n"
    out += f"{user_role}: {user_text.strip()}\n\n"
    out += f"{assistant_role}:"
    return out.strip()


@dataclass(frozen=True)
class JanusRecipe:
    """Everything that decides the model inputs and the sampling of one Janus image."""

    name: str
    description: str
    #: stage A (semantic CoT): None disables it
    cot_template: str | None
    cot_system_prompt: str
    cot_roles: tuple[str, str]
    #: stage B (image tokens)
    image_prompt_template: str  # "{prompt}" or "{prompt}. {cot}"
    image_system_prompt: str
    image_roles: tuple[str, str]
    cfg_weight: float = 5.0
    image_temperature: float = 1.0
    image_top_k: int = 0  # 0 = full distribution (DeepSeek/T2I-R1 use no top-k)
    image_top_p: float = 1.0
    cot_temperature: float = 1.0
    cot_top_k: int = 50  # transformers' GenerationConfig default, which T2I-R1 inherits
    cot_top_p: float = 1.0
    cot_max_new_tokens: int = 512
    #: None = the model's own count (576 for 384 px Janus-Pro)
    image_tokens: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def uses_cot(self) -> bool:
        return self.cot_template is not None

    def cot_input(self, prompt: str) -> str | None:
        """The stage-A model input string (before BOS) or None without CoT."""
        if self.cot_template is None:
            return None
        return sft_format(self.cot_template.format(prompt), self.cot_roles, self.cot_system_prompt)

    def image_text(self, prompt: str, cot: str | None) -> str:
        """The stage-B string handed to the tokenizer (``<begin_of_image>`` is appended as an id)."""
        if "{cot}" in self.image_prompt_template:
            if cot is None:
                raise ConfigError(f"recipe {self.name!r} needs a semantic CoT for its image prompt, got none")
            user = self.image_prompt_template.format(prompt=prompt, cot=cot)
        else:
            user = self.image_prompt_template.format(prompt=prompt)
        return sft_format(user, self.image_roles, self.image_system_prompt)

    def image_input(self, prompt: str, cot: str | None) -> str:
        """The full stage-B model input string as recorded per image (BOS is implied)."""
        return self.image_text(prompt, cot) + BOI_TOKEN

    def with_knobs(self, **knobs: Any) -> "JanusRecipe":
        """A copy with explicit knob overrides (unknown names are an error, not ignored)."""
        known = {f for f in self.__dataclass_fields__ if f not in ("name", "description", "notes")}
        bad = sorted(set(knobs) - known)
        if bad:
            raise ConfigError(f"unknown Janus recipe knob(s) {bad}; known knobs: {sorted(known)}")
        return replace(self, **knobs) if knobs else self

    def knobs(self) -> dict[str, Any]:
        """Every knob, JSON-ready (recorded per image)."""
        d = asdict(self)
        for k in ("cot_roles", "image_roles", "notes"):
            d[k] = list(d[k])
        d.pop("description")
        return d

    def describe(self) -> dict[str, Any]:
        d = self.knobs()
        d["description"] = self.description
        d["templates_sha256"] = hashlib.sha256(
            "\x00".join(
                [self.cot_template or "", self.cot_system_prompt, self.image_prompt_template, self.image_system_prompt]
            ).encode()
        ).hexdigest()
        return d


_T2I_R1_ROLES = ("User", "Assistant")
_PRO_ROLES = ("<|User|>", "<|Assistant|>")

RECIPES: dict[str, JanusRecipe] = {
    "t2i-r1": JanusRecipe(
        name="t2i-r1",
        description="T2I-R1 reason_inference.py: semantic CoT (stage A) then image tokens on '{prompt}. {cot}'",
        cot_template=T2I_R1_COT_TEMPLATE,
        cot_system_prompt=T2I_R1_COT_SYSTEM,
        cot_roles=_T2I_R1_ROLES,
        image_prompt_template=T2I_R1_IMAGE_PROMPT,
        image_system_prompt="",
        image_roles=_T2I_R1_ROLES,
        notes=(
            "one fresh CoT per image",
            "stage B is left-padded with per-row positions, i.e. as if each image were generated alone; "
            "reason_inference.py right-pads 4 CoTs of different lengths before <begin_of_image>, which shifts "
            "positions of the shorter ones (batch-dependent, not reproduced)",
        ),
    ),
    "janus-pro": JanusRecipe(
        name="janus-pro",
        description="Janus-Pro README text-to-image: the prompt itself, <|User|>/<|Assistant|> roles, no CoT",
        cot_template=None,
        cot_system_prompt="",
        cot_roles=_PRO_ROLES,
        image_prompt_template="{prompt}",
        image_system_prompt="",
        image_roles=_PRO_ROLES,
    ),
    "t2i-r1-no-cot": JanusRecipe(
        name="t2i-r1-no-cot",
        description="ablation: T2I-R1's stage-B template on the raw prompt, no semantic CoT",
        cot_template=None,
        cot_system_prompt="",
        cot_roles=_T2I_R1_ROLES,
        image_prompt_template="{prompt}",
        image_system_prompt="",
        image_roles=_T2I_R1_ROLES,
    ),
    "janus-pro-cot": JanusRecipe(
        name="janus-pro-cot",
        description="ablation: T2I-R1's semantic CoT stage, then the Janus-Pro template on '{prompt}. {cot}'",
        cot_template=T2I_R1_COT_TEMPLATE,
        cot_system_prompt=T2I_R1_COT_SYSTEM,
        cot_roles=_T2I_R1_ROLES,
        image_prompt_template=T2I_R1_IMAGE_PROMPT,
        image_system_prompt="",
        image_roles=_PRO_ROLES,
    ),
}


def get_recipe(name: str, **knobs: Any) -> JanusRecipe:
    if name not in RECIPES:
        raise ConfigError(f"unknown Janus recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}")
    return RECIPES[name].with_knobs(**knobs)
