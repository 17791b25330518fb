"""Janus prompt templates against strings written out by hand from the T2I-R1 / Janus code."""

import pytest

from t2ir1_eval.errors import ConfigError
from t2ir1_eval.generators.janus import JanusGenerator
from t2ir1_eval.generators.janus_recipes import RECIPES, get_recipe, sft_format
from t2ir1_eval.types import GenRequest, PromptItem

# reason_inference.py: system prompt + "\n\n" + "User: " + reasoning_prompt.txt(stripped).format(p) + "\n\n" + "Assistant:"
HAND_COT = (
    "You are a helpful assistant that receives an image prompt and generate a visualization of the prompt.\n\n"
    'User: You are asked to generate an image based on this prompt: "a red apple and a blue bench"\n'
    "Provide a brief, precise visualization of all elements in the prompt. Your description should:\n"
    "1. Include every object mentioned in the prompt\n"
    "2. Specify visual attributes (color, number, shape, texture) if specified in the prompt\n"
    "3. Clarify relationships (e.g., spatial) between objects if specified in the prompt\n"
    "4. Be concise (50 words or less)\n"
    "5. Focus only on what's explicitly stated in the prompt\n"
    "6. Do not elaborate beyond the attributes or relationships specified in the prompt\n"
    "Do not miss objects. Output your visualization directly without explanation:\n\n"
    "Assistant:"
)
PROMPT = "a red apple and a blue bench"


def test_t2i_r1_stage_a_string():
    assert get_recipe("t2i-r1").cot_input(PROMPT) == HAND_COT


def test_t2i_r1_stage_b_string_no_system_prompt():
    r = get_recipe("t2i-r1")
    cot = " An apple, red, beside a blue bench."
    # message content is stripped as a whole; the CoT's own leading space stays after ". "
    assert r.image_text(PROMPT, cot) == "User: a red apple and a blue bench.  An apple, red, beside a blue bench.\n\nAssistant:"
    assert r.image_input("a cat.", "x") == "User: a cat.. x\n\nAssistant:<begin_of_image>"  # the ".." quirk kept


def test_janus_pro_string():
    r = get_recipe("janus-pro")
    assert r.cot_input(PROMPT) is None
    assert r.image_input(PROMPT, None) == "<|User|>: a red apple and a blue bench\n\n<|Assistant|>:<begin_of_image>"


def test_ablation_strings():
    assert get_recipe("t2i-r1-no-cot").image_input(PROMPT, None) == "User: a red apple and a blue bench\n\nAssistant:<begin_of_image>"
    r = get_recipe("janus-pro-cot")
    assert r.cot_input(PROMPT) == HAND_COT
    assert r.image_input(PROMPT, "c") == "<|User|>: a red apple and a blue bench. c\n\n<|Assistant|>:<begin_of_image>"


def test_sft_format_strips_like_deepseek():
    assert sft_format("  hi  ", ("User", "Assistant"), "") == "User: hi\n\nAssistant:"
    assert sft_format("hi", ("A", "B"), "sys") == "sys\n\nA: hi\n\nB:"


def test_published_knobs():
    t = get_recipe("t2i-r1")
    assert (t.cfg_weight, t.image_temperature, t.image_top_k, t.image_top_p) == (5.0, 1.0, 0, 1.0)
    assert (t.cot_temperature, t.cot_top_k, t.cot_top_p, t.cot_max_new_tokens) == (1.0, 50, 1.0, 512)
    p = get_recipe("janus-pro")
    assert (p.cfg_weight, p.image_temperature, p.image_top_k, p.uses_cot) == (5.0, 1.0, 0, False)
    assert set(RECIPES) == {"t2i-r1", "janus-pro", "t2i-r1-no-cot", "janus-pro-cot"}


def test_unknown_recipe_and_knob_are_errors():
    with pytest.raises(ConfigError, match="known recipes"):
        get_recipe("t2i-r2")
    with pytest.raises(ConfigError, match="cfg_weigth"):
        get_recipe("t2i-r1", cfg_weigth=3)
    assert get_recipe("janus-pro", cfg_weight=3).cfg_weight == 3


def test_dry_run_needs_no_weights():
    gen = JanusGenerator(model_id="CaraJ/T2I-R1", recipe="t2i-r1")  # nothing is downloaded or loaded
    req = GenRequest(PromptItem("0001", PROMPT, "color"), 0, 7)
    out = gen.dry_run([req])[0]
    assert out["model_inputs"]["cot"] == HAND_COT
    assert out["model_inputs"]["image"] == (
        "User: a red apple and a blue bench. <semantic CoT sampled at run time>\n\nAssistant:<begin_of_image>"
    )
    assert out["seed"] == 7 and gen.model is None
    d = gen.describe()
    assert d["recipe"]["name"] == "t2i-r1" and d["recipe"]["cot_top_k"] == 50 and d["image_size"] == [384, 384]
    assert "templates_sha256" in d["recipe"] and "transformers" in d and d["model_id"] == "CaraJ/T2I-R1"
