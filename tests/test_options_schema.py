"""Every option has a type and a range, and values are checked at parse time."""

from __future__ import annotations

import math

import pytest

from t2ir1_eval.errors import ConfigError
from t2ir1_eval.options_schema import (OptSpec, generator_specs, scorer_specs, spec_from_yaml, validate_scorer_options)
from t2ir1_eval.scorers import SCORERS
from t2ir1_eval.suites.spec import load_suite, suite_paths


@pytest.mark.parametrize("suite", sorted(suite_paths()))
def test_every_suite_option_has_a_type_and_a_range(suite):
    for name, opt in load_suite(suite).options_spec.items():
        spec = opt.spec
        assert spec is not None and spec.type in ("float", "int", "bool", "str"), name
        if spec.type in ("int", "float"):
            assert spec.choices is not None or (spec.min is not None and spec.max is not None), name
        if spec.type == "str":
            assert spec.choices, f"{suite}.{name}: a string option must list its choices"
        assert opt.coerce(opt.default) == opt.default  # the default passes its own spec


def test_yaml_option_without_type_or_range_is_refused():
    with pytest.raises(ConfigError, match="declares no type"):
        spec_from_yaml("x.yaml", "t", {"default": 0.3})
    with pytest.raises(ConfigError, match="needs min and max"):
        spec_from_yaml("x.yaml", "t", {"default": 0.3, "type": "float"})


@pytest.mark.parametrize("raw,ok", [(0.5, 0.5), ("0.5", 0.5), (1, 1.0), (math.nan, None), ("inf", None), (True, None),
                                    ([1, 2], None), ("abc", None), (1.5, None), (None, None)])
def test_float_spec(raw, ok):
    spec = OptSpec("float", 0, 1)
    if ok is None:
        with pytest.raises(ConfigError, match="expected a finite number in"):
            spec.coerce("t", raw)
    else:
        assert spec.coerce("t", raw) == ok


@pytest.mark.parametrize("raw,ok", [(3, 3), ("3", 3), (2.5, None), (True, None), ("x", None), (-1, None)])
def test_int_spec(raw, ok):
    spec = OptSpec("int", 0, 10)
    if ok is None:
        with pytest.raises(ConfigError, match="expected an integer"):
            spec.coerce("t", raw)
    else:
        assert spec.coerce("t", raw) == ok


@pytest.mark.parametrize("name", SCORERS.names())
def test_every_scorer_option_has_a_spec_with_a_range(name):
    specs = scorer_specs(name)
    assert specs
    for key, spec in specs.items():
        if spec.type in ("int", "float"):
            assert spec.min is not None and spec.max is not None, (name, key)


@pytest.mark.parametrize("gen", ["janus", "flux", "folder"])
def test_every_generator_knob_has_a_spec(gen):
    specs = generator_specs(gen)
    for key, spec in specs.items():
        if spec.type in ("int", "float"):
            assert spec.min is not None and spec.max is not None, (gen, key)
    if gen == "janus":
        assert {"cfg_weight", "image_temperature", "cot_max_new_tokens", "cache", "tiny_seed"} <= set(specs)


def test_star_options_reach_only_the_scorers_that_have_them():
    out = validate_scorer_options({"*": {"model_id": "tiny", "confidence_threshold": "0.4"}},
                                  ["blip-vqa", "unidet", "clipscore"])
    assert out["blip-vqa"] == {"model_id": "tiny"} and out["unidet"] == {"model_id": "tiny", "confidence_threshold": 0.4}
    with pytest.raises(ConfigError, match="Did you mean 'wise-judge'"):
        validate_scorer_options({"wise_judge": {"base_url": "http://x"}}, ["wise-judge"])
