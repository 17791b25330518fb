"""DPG-Bench: questions CSV, VQA backends (BLIP in-process, mPLUG via ModelScope) and the scorer."""
