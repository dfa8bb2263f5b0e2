"""Several training runs in one torchrun launch (one process group), for tests/training/test_distributed.py.

    torchrun --nproc_per_node 2 tests/helpers/distributed_worker.py runs.json losses.json

runs.json: {"name": [swift sft flags...], ...}; a list that starts with "rlhf" is `swift rlhf <flags>`. Each run is
exactly `swift sft <flags>` (sft_main) or `swift rlhf <flags>` (rlhf_main), one after the other in the same processes, so the test pays the start of the processes (importing torch, transformers) once.
Rank 0 writes {"name": [loss of step 1, step 2, ...]} and each run's trained_tokens per step.
"""
import json
import sys
from pathlib import Path

from swift.training.distributed import rank
from swift.training.rlhf import rlhf_main
from swift.training.sft import sft_main


def main(runs_file: str, out_file: str) -> None:
    results = {}
    for name, argv in json.loads(Path(runs_file).read_text()).items():
        result = rlhf_main(argv[1:]) if argv[:1] == ['rlhf'] else sft_main(argv)
        steps = [h for h in result.log_history if 'loss' in h]
        results[name] = {'loss': [h['loss'] for h in steps], 'trained_tokens': [h.get('trained_tokens') for h in steps],
                         'last_checkpoint': result.last_checkpoint, 'logs': steps}
    if rank() == 0:
        Path(out_file).write_text(json.dumps(results))


if __name__ == '__main__':
    main(*sys.argv[1:3])
