"""FluxGenerator on tiny random FLUX components (diffusers' FluxPipeline)."""

import sys

import numpy as np
import pytest

pytest.importorskip("diffusers")

from t2ir1_eval.errors import BackendUnavailable, ConfigError  # noqa: E402
from t2ir1_eval.generators.flux import MODEL_CARD_DEFAULTS, FluxGenerator  # noqa: E402
from t2ir1_eval.types import GenRequest, PromptItem  # noqa: E402


def reqs(seeds=(1, 2, 3)):
    prompts = ["a red apple", "a blue bench on the left of a green dog", "cat"]
    return [GenRequest(PromptItem(str(i), p, "c"), 0, s) for i, (p, s) in enumerate(zip(prompts, seeds))]


@pytest.fixture(scope="module")
def gen():
    return FluxGenerator(model_id="tiny", device="cpu", batch_size=3)


def test_per_image_seed_and_batch_independence(gen):
    batched = [np.asarray(r.image) for r in gen.generate(reqs())]
    gen.batch_size = 1
    try:
        single = [np.asarray(r.image) for r in gen.generate(reqs())]
    finally:
        gen.batch_size = 3
    assert all(np.array_equal(a, b) for a, b in zip(batched, single))
    other = [np.asarray(r.image) for r in gen.generate(reqs(seeds=(7, 8, 9)))]
    assert not any(np.array_equal(a, b) for a, b in zip(batched, other))
    assert batched[0].shape == (16, 16, 3) and batched[0].dtype == np.uint8


def test_info_and_describe(gen):
    r = gen.generate(reqs()[:1])[0]
    assert r.info["model_inputs"] == {"cot": None, "image": "a red apple"} and r.info["seed"] == 1
    d = gen.describe()
    assert d["recipe"]["num_inference_steps"] == 2 and d["comparable"] is False and d["diffusers"]


def test_model_card_defaults_without_loading():
    dev = FluxGenerator(model_id="black-forest-labs/FLUX.1-dev")
    schnell = FluxGenerator(model_id="black-forest-labs/FLUX.1-schnell")
    assert dev.knobs == MODEL_CARD_DEFAULTS["black-forest-labs/FLUX.1-dev"]
    assert (dev.knobs["guidance_scale"], dev.knobs["num_inference_steps"], dev.knobs["max_sequence_length"]) == (3.5, 50, 512)
    assert (schnell.knobs["guidance_scale"], schnell.knobs["num_inference_steps"], schnell.knobs["max_sequence_length"]) == (0.0, 4, 256)
    assert dev.image_size == (1024, 1024) and dev.pipe is None
    assert dev.dry_run(reqs()[:1])[0]["model_inputs"]["image"] == "a red apple"
    with pytest.raises(ConfigError, match="num_steps"):
        FluxGenerator(model_id="tiny", num_steps=3)


def test_missing_diffusers_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers -> ImportError
    g = FluxGenerator(model_id="tiny")
    with pytest.raises(BackendUnavailable, match="pip install diffusers=="):
        g.generate(reqs()[:1])
