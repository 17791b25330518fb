"""t2ir1-eval: faithful, resumable evaluation of text-to-image models on GenEval,
T2I-CompBench, WISE and DPG-Bench."""

__version__ = "0.1.0"
