"""Scorer registry: names used in the suite YAMLs and on the command line."""

from __future__ import annotations

from ..registry import Registry
from .base import Scorer

SCORERS: Registry[type[Scorer]] = Registry("scorer")
SCORERS.register("worker", "t2ir1_eval.scorers.worker:WorkerScorer",
                 "any scorer run in another Python environment (mmdet, detectron2, ModelScope)")
SCORERS.register("wise-judge", "t2ir1_eval.scorers.wise.scorer:WiseJudgeScorer",
                 "WISE VLM judge: OpenAI-compatible endpoint (GPT-4o, vLLM, SGLang) or in-process transformers VLM")
SCORERS.register("dpg-vqa", "t2ir1_eval.scorers.dpg.scorer:DpgVqaScorer",
                 "DPG-Bench VQA over the 2x2 grid: mPLUG-large (ModelScope worker) or transformers BLIP (smoke)")
SCORERS.register("geneval", "t2ir1_eval.scorers.geneval.scorer:GenEvalScorer",
                 "GenEval detector (Mask2Former Swin-S, transformers or mmdet) + CLIP ViT-L/14 colour")
SCORERS.register("blip-vqa", "t2ir1_eval.scorers.compbench.blip_vqa:BlipVqaScorer",
                 "T2I-CompBench attribute binding: BLIP VQA capfilt-large, P(yes) product over noun phrases")
SCORERS.register("clipscore", "t2ir1_eval.scorers.compbench.clipscore:ClipScoreScorer",
                 "T2I-CompBench non-spatial: CLIPScore, OpenAI ViT-B/32, raw cosine")
SCORERS.register("unidet", "t2ir1_eval.scorers.compbench.unidet:CompBenchDetectionScorer",
                 "T2I-CompBench 2D spatial / numeracy: UniDet detections (detectron2 worker) + official rules")
SCORERS.register("unidet-3d", "t2ir1_eval.scorers.compbench.depth:UniDet3DScorer",
                 "T2I-CompBench 3D spatial: UniDet R50 detections + DPT-hybrid MiDaS depth")
SCORERS.register("compbench-3in1", "t2ir1_eval.scorers.compbench.three_in_one:ThreeInOneScorer",
                 "T2I-CompBench complex: 3-in-1 (BLIP-VQA + UniDet 2D + CLIPScore by sub-list)")
