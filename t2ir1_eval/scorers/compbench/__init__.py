"""T2I-CompBench scorers (raw outputs only; decisions in ``t2ir1_eval.rules.t2i_compbench``).

Registry names -> classes (imported lazily by the registry):
  blip-vqa       -> blip_vqa:BlipVqaScorer              color, shape, texture
  clipscore      -> clipscore:ClipScoreScorer           non_spatial
  unidet         -> unidet:CompBenchDetectionScorer     spatial (RS200), numeracy (R50)
  unidet-3d      -> depth:UniDet3DScorer                3d_spatial (R50 + DPT-Hybrid)
  compbench-3in1 -> three_in_one:ThreeInOneScorer       complex
The worker-side UniDet detector is unidet:UniDetScorer (run under detectron2 via WorkerScorer).
"""
