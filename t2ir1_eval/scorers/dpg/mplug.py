"""The official DPG-Bench VQA model: mPLUG-large VQA through ModelScope's pipeline.

ModelScope (with its multi-modal extras, timm, torchvision ...) cannot live beside our default
environment, so this backend runs inside a worker process started under a ModelScope
environment's python (``WorkerScorer``, recipe in docs/dpg_bench.md). Nothing here imports
modelscope or torch before a model is built.

Two ways to ask a tile's questions:

* ``batch_questions=False`` (default): the official call, ``pipeline({'image': tile,
  'question': q})['text']`` once per question, exactly as compute_dpg_bench.py does.
* ``batch_questions=True``: the tile is preprocessed and run through mPLUG's visual encoder
  once and every question of the tile is decoded in one batch, mirroring
  ``MPlugForVisualQuestionAnswering.forward(train=False)`` step by step. The preprocessor pads
  every question to the same fixed length (25 tokens), so batching changes no input; still,
  this path is opt-in until ``tests/perf/bench_dpg_vqa.py --backend mplug --check`` has shown
  equal answers on a GPU machine with the real weights (it could not be run here).
"""

from __future__ import annotations

from typing import Any

from ...errors import BackendUnavailable

#: ModelScope moved the model from ``damo/`` (the id in compute_dpg_bench.py) to ``iic/``
DEFAULT_MODEL_ID = "iic/mplug_visual-question-answering_coco_large_en"
OFFICIAL_MODEL_ID = "damo/mplug_visual-question-answering_coco_large_en"

RECIPE = (
    "mPLUG-large VQA needs a separate ModelScope environment (it cannot live beside transformers 5 and our "
    "torch): python3.10 -m venv ~/venvs/dpg-mplug && ~/venvs/dpg-mplug/bin/pip install torch torchvision "
    "'modelscope[multi-modal]' pillow; ~/venvs/dpg-mplug/bin/modelscope download --model "
    f"{DEFAULT_MODEL_ID} --local_dir ~/models/mplug-vqa-large; then score with the 'worker' scorer, "
    "python=~/venvs/dpg-mplug/bin/python, target='t2ir1_eval.scorers.dpg.scorer:DpgVqaScorer', backend='mplug', "
    "model_id=~/models/mplug-vqa-large. Full recipe: docs/dpg_bench.md"
)


class MplugVqa:
    """``answer(tile, questions) -> answers`` with ModelScope's mPLUG VQA pipeline."""

    def __init__(self, model_id: str | None = None, device: str = "cpu", batch_questions: bool = False) -> None:
        try:
            from modelscope.pipelines import pipeline
            from modelscope.utils.constant import Tasks
        except ImportError as exc:
            raise BackendUnavailable(f"the mPLUG backend cannot import modelscope ({exc}). {RECIPE}") from exc
        self.model_id = model_id or DEFAULT_MODEL_ID
        self.device = device
        self.batch_questions = batch_questions
        # the official script passes str(accelerator.device), i.e. 'cuda:0' / 'cpu', as is
        self.pipeline = pipeline(Tasks.visual_question_answering, model=self.model_id, device=device)

    def describe(self) -> dict[str, Any]:
        import modelscope

        return {
            "vqa_model": self.model_id,
            "official_model_id": OFFICIAL_MODEL_ID,
            "library": f"modelscope {modelscope.__version__}",
            "batch_questions": self.batch_questions,
            "comparable": not self.batch_questions,
            "note": "the official DPG-Bench VQA model" + (
                "; batched path (tile encoded once) not yet checked against the official per-question call"
                if self.batch_questions else ""
            ),
        }

    def answer_one(self, tile: Any, question: str) -> str:
        """The official call (compute_dpg_bench.py ``MPLUG.vqa``)."""
        return self.pipeline({"image": tile, "question": question})["text"]

    def answer(self, tile: Any, questions: list[str]) -> list[str]:
        if not self.batch_questions:
            return [self.answer_one(tile, q) for q in questions]
        return self._answer_batched(tile, questions)

    def _answer_batched(self, tile: Any, questions: list[str]) -> list[str]:
        import torch

        if not questions:
            return []
        pre = self.pipeline.preprocessor            # MPlugPreprocessor
        wrapper = self.pipeline.model               # MPlugForAllTasks
        net = wrapper.model                         # MPlugForVisualQuestionAnswering
        device = next(net.parameters()).device
        image = pre.patch_resize_transform(tile.convert("RGB")).unsqueeze(0).to(device)
        # the preprocessor lower-cases and pads every question to tokenizer_max_length
        text = pre.tokenizer(
            [q.lower() for q in questions],
            padding="max_length",
            truncation=True,
            max_length=pre.tokenizer_max_length,
            return_tensors="pt",
        ).to(device)
        n = len(questions)
        with torch.no_grad():
            image = image.to(dtype=next(net.parameters()).dtype)
            image_embeds = net.visual_encoder.visual(image, skip_last_layer=True)
            if net.large:
                image_embeds = net.dropout(net.visn_layer_norm(net.visn_fc(image_embeds)))
            image_embeds = image_embeds.expand(n, -1, -1)
            image_atts = torch.ones(image_embeds.size()[:-1], dtype=torch.long, device=device)
            text_embeds = net.text_encoder(text.input_ids, attention_mask=text.attention_mask, return_dict=True).last_hidden_state
            image_output, question_output = net.fusion_encoder(
                encoder_embeds=text_embeds,
                attention_mask=text.attention_mask,
                encoder_hidden_states=image_embeds,
                encoder_attention_mask=image_atts,
                return_dict=False,
            )
            states = torch.cat([image_output, question_output], 1)
            atts = torch.cat([image_atts, text.attention_mask], 1)
            topk_ids, _ = net.generation(states, atts)
        return [wrapper.tokenizer.decode(topk_ids[i][0], skip_special_tokens=True) for i in range(n)]

    def close(self) -> None:
        self.pipeline = None
