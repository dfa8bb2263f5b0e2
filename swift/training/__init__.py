"""The training stage: `swift sft` / `swift pt` (sft.py) and `swift rlhf` (rlhf/), on one runner (runner.py).

    from swift.training.sft import sft_main, pt_main
    from swift.training.rlhf import rlhf_main

checks.py (what a run checks before loading anything), runner.py (the run: directory, args.json,
callbacks, checkpoints, resume, result), trainer.py (SwiftTrainer), collator / packing / packed_attention /
loss (how sft batches and scores samples), callbacks.py (logging.jsonl, progress, plots).

The package is `swift.training`, not `swift.train`: `swift.train` is the one-call training function of the
Python API (`from swift import train`).
"""
