"""JanusGenerator on the tiny model: seed rule, batch independence, records, image format."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from t2ir1_eval.generators.janus import JanusGenerator, to_uint8_images
from t2ir1_eval.types import GenRequest, PromptItem

PROMPTS = ["a red apple", "a photo of a blue bench on the left of a green dog", "two cats."]


def reqs(seeds=(101, 102, 103)):
    return [GenRequest(PromptItem(f"{i:05d}", p, "c"), 0, s) for i, (p, s) in enumerate(zip(PROMPTS, seeds))]


def pixels(results):
    return [np.asarray(r.image) for r in results]


class _Sized:
    """One loaded tiny generator, called with different batch sizes."""

    def __init__(self, gen):
        self.gen = gen

    def __getitem__(self, b):
        self.gen.batch_size = b
        return self.gen


@pytest.fixture(scope="module")
def gens():
    return _Sized(JanusGenerator(model_id="tiny", recipe="t2i-r1", batch_size=3, cot_max_new_tokens=12, device="cpu"))


def test_images_depend_only_on_request(gens):
    batched = gens[3].generate(reqs())
    single = gens[1].generate(reqs())
    for a, b in zip(batched, single):
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
        assert a.info["reasoning"] == b.info["reasoning"]
    # another batch composition / order: the same request still gives the same image
    mixed = gens[3].generate([reqs()[2], GenRequest(PromptItem("x", "a tree", "c"), 0, 5), reqs()[0]])
    assert np.array_equal(np.asarray(mixed[0].image), np.asarray(batched[2].image))
    assert np.array_equal(np.asarray(mixed[2].image), np.asarray(batched[0].image))


def test_same_seed_same_image_other_seed_other_image(gens):
    a = pixels(gens[3].generate(reqs()))
    # a fresh generator (model rebuilt from the tiny seed) reproduces the images
    again = pixels(JanusGenerator(model_id="tiny", recipe="t2i-r1", batch_size=3, cot_max_new_tokens=12).generate(reqs()))
    assert all(np.array_equal(x, y) for x, y in zip(a, again))
    other = pixels(gens[3].generate(reqs(seeds=(201, 202, 203))))
    assert not any(np.array_equal(x, y) for x, y in zip(a, other))


def test_one_fresh_cot_per_image(gens):
    same_prompt = [GenRequest(PromptItem("p", "a cat", "c"), k, 300 + k) for k in range(3)]
    out = gens[3].generate(same_prompt)
    assert len({r.info["reasoning"] for r in out}) == 3


def test_info_records_inputs_and_knobs(gens):
    r = gens[3].generate(reqs()[:1])[0]
    info = r.info
    cot = info["reasoning"]
    assert info["model_inputs"]["image"] == f"User: {PROMPTS[0]}. {cot}".strip() + "\n\nAssistant:<begin_of_image>"
    assert info["model_inputs"]["cot"].startswith("You are a helpful assistant that receives an image prompt")
    assert info["seed"] == 101 and info["seconds"] > 0
    k = info["knobs"]
    assert (k["cfg_weight"], k["image_temperature"], k["image_top_k"], k["cot_top_k"], k["cot_max_new_tokens"]) == (5.0, 1.0, 0, 50, 12)
    assert k["image_tokens"] == 16 and k["name"] == "t2i-r1"
    import json

    json.dumps(info)  # goes to the manifest verbatim


def test_janus_pro_recipe_has_no_cot_and_shares_image_stream():
    g = JanusGenerator(model_id="tiny", recipe="janus-pro", batch_size=3)
    out = g.generate(reqs())
    assert all(r.info["reasoning"] is None and r.info["model_inputs"]["cot"] is None for r in out)
    assert out[0].info["model_inputs"]["image"] == "<|User|>: a red apple\n\n<|Assistant|>:<begin_of_image>"
    assert g.image_size == (16, 16) and out[0].image.size == (16, 16) and out[0].image.mode == "RGB"
    d = g.describe()
    assert d["comparable"] is False and d["checkpoint_format"] == "tiny" and d["recipe"]["name"] == "janus-pro"
    assert "checkpoint_format" not in g.identity() and "device" not in g.identity()


def test_uint8_conversion_truncates_like_deepseek():
    x = torch.tensor([-1.5, -1.0, 0.0, 0.999, 1.0, 2.0]).repeat(3, 1).T.reshape(1, 6, 1, 3)
    img = np.asarray(to_uint8_images(x)[0])[:, 0, 0]
    # (x+1)/2*255 = -63.75, 0, 127.5, 254.87, 255, 382.5 -> clip -> truncate
    assert img.tolist() == [0, 0, 127, 254, 255, 255]


def test_png_roundtrip_is_lossless(gens):
    img = gens[1].generate(reqs()[:1])[0].image
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(buf.getvalue()))), np.asarray(img))
