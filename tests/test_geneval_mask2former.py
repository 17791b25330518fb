"""GenEval detector pieces: official pre-processing, mmdet instance post-processing, and the
mmdet -> transformers tensor changes (checked against mmdet's own formulation in plain torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from t2ir1_eval.scorers.geneval import convert_mmdet as C
from t2ir1_eval.scorers.geneval import mask2former as M


# ----------------------------------------------------------------------------- pre-processing
@pytest.mark.parametrize("w,h,expected", [
    (512, 512, (800, 800)),
    (1024, 1024, (800, 800)),
    (384, 384, (800, 800)),
    (640, 480, (1067, 800)),
    (2000, 500, (1333, 333)),  # long side bound
])
def test_keep_ratio_resize_size(w, h, expected):
    assert M.rescale_size(w, h) == expected


def test_preprocess_pads_to_32_with_128_before_normalising():
    img = Image.fromarray(np.full((48, 64, 3), 200, np.uint8))
    p = M.preprocess(img, scale=(100, 70))  # -> 93 x 70, padded to 96 x 96
    assert p.img_size == (70, 93) and p.pad_size == (96, 96) and p.ori_size == (48, 64)
    mean = torch.tensor(M.IMAGENET_MEAN)
    std = torch.tensor(M.IMAGENET_STD)
    torch.testing.assert_close(p.pixels[:, 0, 0], (200 - mean) / std, rtol=0, atol=1e-5)
    torch.testing.assert_close(p.pixels[:, -1, -1], (128 - mean) / std, rtol=0, atol=1e-5)
    z = M.preprocess(img, scale=(100, 70), pipeline="mmdet3")
    assert torch.all(z.pixels[:, 70:, :] == 0) 
    # uniform image: float and uint8 resizes agree
    assert torch.allclose(z.pixels[:, :70, :93], p.pixels[:, :70, :93])


def test_preprocess_is_rgb_and_resize_is_bilinear_half_pixel():
    arr = np.zeros((2, 2, 3), np.uint8)
    arr[:, :, 0] = [[0, 255], [0, 255]]  # red ramp left -> right
    p = M.preprocess(Image.fromarray(arr), scale=(4, 4))
    red = p.pixels[0, 0] * M.IMAGENET_STD[0] + M.IMAGENET_MEAN[0]
    # 2 -> 4 px, align_corners=False: 0, 64, 191, 255 (rounded)
    assert [round(float(v)) for v in red[:4]] == [0, 64, 191, 255]
    green = p.pixels[1, 0, 0] * M.IMAGENET_STD[1] + M.IMAGENET_MEAN[1]
    assert round(float(green)) == 0


# ----------------------------------------------------------------------------- post-processing
def test_instance_postprocess_rule():
    q, c = 3, 4
    cls = torch.full((q, c + 1), -10.0)
    cls[0, 1] = 5.0  # query 0 -> class 1
    cls[1, 2] = 3.0
    cls[1, 3] = 3.0  # query 1 is split between class 2 and class 3
    cls[2, 0] = 6.0  # query 2 -> class 0, but its mask is empty
    masks = torch.full((q, 6, 8), -4.0)
    masks[0, 1:3, 2:5] = 2.0  # box [2, 1, 5, 3]
    masks[1, 4, 7] = 1.0  # one pixel at x=7, y=4
    inst = M.instance_postprocess(cls, masks, max_per_image=4)
    probs = torch.softmax(cls, -1)[:, :-1]
    by_pair = {(int(qq), int(ll)): i for i, (qq, ll) in enumerate(zip(inst.queries, inst.labels))}
    assert set(by_pair) == {(0, 1), (1, 2), (1, 3), (2, 0)}
    i = by_pair[(0, 1)]
    # score = class prob x mean sigmoid of the logits inside the binary mask
    torch.testing.assert_close(inst.scores[i], probs[0, 1] * torch.sigmoid(torch.tensor(2.0)) * 6 / (6 + 1e-6))
    assert inst.boxes[i].tolist() == [2.0, 1.0, 5.0, 3.0]  # x2, y2 exclusive (mmdet mask2bbox)
    assert inst.masks[i].sum() == 6
    for pair in ((1, 2), (1, 3)):  # one query under two classes, same mask and box
        assert inst.boxes[by_pair[pair]].tolist() == [7.0, 4.0, 8.0, 5.0]
    j = by_pair[(2, 0)]
    assert float(inst.scores[j]) == 0.0 and inst.boxes[j].tolist() == [0, 0, 0, 0]
    assert inst.masks.shape == (4, 6, 8) and inst.masks.dtype == torch.bool


def test_topk_over_query_times_class():
    cls = torch.randn(10, 81)
    inst = M.instance_postprocess(cls, torch.randn(10, 5, 5), max_per_image=100)
    assert len(inst.labels) == 100
    pairs = set(zip(inst.queries.tolist(), inst.labels.tolist()))
    assert len(pairs) == 100  # distinct (query, class) pairs, queries repeat across classes
    flat = torch.softmax(cls, -1)[:, :-1].flatten()
    assert set((flat.argsort(descending=True)[:100]).tolist()) == {qq * 80 + ll for qq, ll in pairs}


def test_upsample_crops_padding_before_resizing_to_original():
    p = M.Prepared(torch.zeros(3, 64, 64), ori_size=(30, 50), img_size=(40, 60), pad_size=(64, 64))
    logits = torch.zeros(2, 16, 16)
    logits[:, 10:, :] = 5.0  # only inside the padding (rows >= 40 of 64)
    up = M.upsample_masks(logits, p)
    assert up.shape == (2, 30, 50)
    assert float(up.max()) < 5.0  # the padded rows were cropped away before the final resize


# ----------------------------------------------------------------------------- conversion
def _unfold_merge(x: torch.Tensor, weight: torch.Tensor, norm_w: torch.Tensor, norm_b: torch.Tensor) -> torch.Tensor:
    """mmdet PatchMerging: nn.Unfold(2, stride 2) gathers each 2x2 block -> LayerNorm -> Linear."""
    b, h, w, c = x.shape
    cols = torch.nn.functional.unfold(x.permute(0, 3, 1, 2), kernel_size=2, stride=2)  # [B, C*4, L]
    cols = cols.transpose(1, 2)
    cols = torch.nn.functional.layer_norm(cols, (4 * c,), norm_w, norm_b)
    return cols @ weight.T


def test_patch_merging_permutation_matches_mmdet_unfold_order():
    from transformers.models.swin.modeling_swin import SwinPatchMerging

    c = 6
    torch.manual_seed(0)
    x = torch.randn(2, 8, 10, c)
    w_mm, nw_mm, nb_mm = torch.randn(2 * c, 4 * c), torch.randn(4 * c), torch.randn(4 * c)
    ref = _unfold_merge(x, w_mm, nw_mm, nb_mm)
    hf = SwinPatchMerging(dim=c)
    src = {"backbone.stages.0.downsample.reduction.weight": w_mm,
           "backbone.stages.0.downsample.norm.weight": nw_mm, "backbone.stages.0.downsample.norm.bias": nb_mm}
    out, _ = C.convert_state_dict(src)
    prefix = C.S + "encoder.layers.0.downsample."
    hf.load_state_dict({k[len(prefix):]: v for k, v in out.items()})
    got = hf(x.reshape(2, 80, c), (8, 10))
    got = got[0] if isinstance(got, tuple) else got
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_qkv_and_decoder_in_proj_split():
    qkv = torch.arange(3 * 4 * 2, dtype=torch.float32).view(12, 2)
    in_proj = torch.arange(3 * 8 * 8, dtype=torch.float32).view(24, 8)
    src = {"backbone.stages.1.blocks.0.attn.w_msa.qkv.weight": qkv,
           "panoptic_head.transformer_decoder.layers.2.attentions.1.attn.in_proj_weight": in_proj,
           "panoptic_head.transformer_decoder.layers.2.attentions.0.attn.in_proj_weight": in_proj,
           "backbone.norm3.weight": torch.ones(3),
           "backbone.stages.1.blocks.0.attn.w_msa.relative_position_index": torch.zeros(3)}
    out, ignored = C.convert_state_dict(src)
    att = C.S + "encoder.layers.1.blocks.0.attention."
    assert torch.equal(out[att + "q_proj.weight"], qkv[:4]) and torch.equal(out[att + "v_proj.weight"], qkv[8:])
    sa = C.TD + "decoder.layers.2.self_attn."
    assert torch.equal(out[sa + "k_proj.weight"], in_proj[8:16])
    assert torch.equal(out[C.TD + "decoder.layers.2.cross_attn.in_proj_weight"], in_proj)  # fused stays fused
    assert C.B + "hidden_states_norms.stage4.weight" in out
    assert ignored == ["backbone.stages.1.blocks.0.attn.w_msa.relative_position_index"]
    # mmdet 3.x names map to the same targets
    out3, _ = C.convert_state_dict({"panoptic_head.transformer_decoder.layers.2.self_attn.attn.in_proj_weight": in_proj,
                                    "panoptic_head.transformer_decoder.layers.2.cross_attn.attn.in_proj_weight": in_proj})
    assert set(out3) == {sa + "q_proj.weight", sa + "k_proj.weight", sa + "v_proj.weight",
                         C.TD + "decoder.layers.2.cross_attn.in_proj_weight"}


def test_unknown_key_is_refused():
    with pytest.raises(Exception, match="no transformers target"):
        C.convert_state_dict({"panoptic_head.something_new.weight": torch.zeros(1)})


def test_geneval_config_matches_swin_s_mask2former():
    cfg = M.geneval_config()
    assert cfg.backbone_config.depths == [2, 2, 18, 2] and cfg.backbone_config.embed_dim == 96
    assert cfg.num_queries == 100 and cfg.num_labels == 80 and cfg.decoder_layers == 10


def test_torch_resize_fallback_within_one_level_of_cv2():
    cv2 = pytest.importorskip("cv2")  # noqa: F841  (mmcv.imresize's own routine)
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    a = M.preprocess(img, scale=(200, 150), resize_backend="cv2").pixels
    b = M.preprocess(img, scale=(200, 150), resize_backend="torch").pixels
    levels = ((a - b).abs() * torch.tensor(M.IMAGENET_STD)[:, None, None]).round()
    assert int(levels.max()) <= 1  # cv2's fixed-point bilinear rounds differently on some pixels
    f = M.preprocess(img, scale=(200, 150), pipeline="mmdet3", resize_backend="cv2").pixels
    g = M.preprocess(img, scale=(200, 150), pipeline="mmdet3", resize_backend="torch").pixels
    assert float((f - g).abs().max()) < 1e-3  # float resize: the same up to float rounding


def test_missing_weights_error_names_the_file_and_the_url(tmp_path, monkeypatch):
    monkeypatch.delenv("GENEVAL_MODEL_PATH", raising=False)
    with pytest.raises(Exception) as err:
        M.load_detector(None, cache_dir=tmp_path)
    msg = str(err.value)
    assert M.OFFICIAL_CHECKPOINT + ".pth" in msg and str(tmp_path / "geneval") in msg and M.OFFICIAL_CHECKPOINT_URL in msg
    with pytest.raises(Exception, match="my_ckpt.pth"):
        M.load_detector("my_ckpt", cache_dir=tmp_path)  # the official --options model=<name>
