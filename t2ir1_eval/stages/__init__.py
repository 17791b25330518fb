"""The run's stages, in data-flow order; each is a module of plain functions over a ``Plan``
and the run's ``RunStore`` (the only writer of the run directory):

    plan      spec + CLI config -> suite, options, selected prompts, batches per rank, identity
    generate  prompts -> images (a generator, or a folder import), image checks, manifest
    score     images -> raw scorer outputs (records), scorer construction, options, workers
    finalise  records -> decisions -> aggregate scores -> summary.json + official files

``t2ir1_eval.pipeline`` strings them together (``run``, ``score_run``, ``rescore``).
"""
