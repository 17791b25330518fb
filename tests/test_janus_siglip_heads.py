"""SigLIP head count from DeepSeek's own ``vision_config.params`` key names (issue 15).

Shapes cannot show the head count; an unlisted tower must state ``heads`` as DeepSeek's
SigLIP_MODEL_CONFIG spells it, and every other stated size must agree with the tensors.
"""

import json

import pytest
from transformers import AutoTokenizer

from t2ir1_eval.errors import ConfigError
from t2ir1_eval.generators.janus_convert import load_original_state_dict
from t2ir1_eval.models.janus_layout import _siglip_heads, janus_config_from_original
from t2ir1_eval.tiny.janus import save_tiny_original


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("janus-heads")
    save_tiny_original(str(folder), seed=1, weights="safetensors")
    config = json.loads((folder / "config.json").read_text())
    shapes = {k: tuple(v.shape) for k, v in load_original_state_dict(folder).items()}
    return config, shapes, AutoTokenizer.from_pretrained(str(folder))


def _with_params(config, **params):
    cfg = json.loads(json.dumps(config))
    p = cfg["vision_config"]["params"]
    for k, v in params.items():
        if v is None:
            p.pop(k, None)
        else:
            p[k] = v
    return cfg


def test_unlisted_tower_reads_deepseek_heads_key(tiny):
    config, shapes, tok = tiny
    assert config["vision_config"]["params"]["model_name"] == "tiny_siglip"
    for heads in (2, 4, 8):  # width 32: 2 would have come out as max(1, 32 // 64) = 1 before
        cfg = janus_config_from_original(_with_params(config, heads=heads), shapes, tok)
        assert cfg.vision_config.num_attention_heads == heads


def test_stated_sizes_in_deepseek_names_are_checked(tiny):
    config, shapes, tok = tiny
    ok = _with_params(config, heads=2, width=32, layers=1, patch_size=4, mlp_ratio=2.0, global_pool="map")
    assert janus_config_from_original(ok, shapes, tok).vision_config.num_attention_heads == 2
    with pytest.raises(ConfigError, match=r"params.width is 48, but the checkpoint's tensors show 32"):
        janus_config_from_original(_with_params(config, heads=2, width=48), shapes, tok)
    with pytest.raises(ConfigError, match=r"params.layers is 3"):
        janus_config_from_original(_with_params(config, heads=2, layers=3), shapes, tok)


def test_unknown_keys_and_missing_heads_are_refused(tiny):
    config, shapes, tok = tiny
    with pytest.raises(ConfigError, match=r"does not read: \['num_heads'\].*'heads', not 'num_heads'"):
        janus_config_from_original(_with_params(config, heads=None, num_heads=2), shapes, tok)
    with pytest.raises(ConfigError, match=r"'tiny_siglip' is not one of .* has no 'heads'"):
        janus_config_from_original(_with_params(config, heads=None), shapes, tok)
    with pytest.raises(ConfigError, match=r"heads = 3 does not divide the width 32"):
        janus_config_from_original(_with_params(config, heads=3), shapes, tok)


def test_preset_towers_keep_their_head_count():
    params = {"model_name": "siglip_large_patch16_384", "image_size": 384, "select_feature": "same", "select_layer": -1}
    assert _siglip_heads(params, width=1024, layers=24, patch=16, mlp_ratio=4.0, source="c") == 16
    # a stated 'heads' wins over the preset (DeepSeek's params override the named config)
    assert _siglip_heads({**params, "heads": 8}, width=1024, layers=24, patch=16, mlp_ratio=4.0, source="c") == 8
