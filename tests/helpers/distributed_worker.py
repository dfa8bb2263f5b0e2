"""Several training runs in one torchrun launch (one process group), for tests/training/test_distributed.py.

    torchrun --nproc_per_node 2 tests/helpers/distributed_worker.py runs.json losses.json

runs.json: {"name": [swift sft flags...], ...}; a list that starts with "rlhf" is `swift rlhf <flags>`, and one that
starts with a script path (swift/cli/rlhf.py, pt.py, infer.py) is that script run as `__main__` with the rest as its
arguments, exactly what `torchrun ... swift/cli/rlhf.py <flags>` does in each process (sys.argv, sys.path[0] the
script's folder, the script's exit status), only in processes that are already started. Each run is exactly
`swift sft <flags>` (sft_main) or `swift rlhf <flags>` (rlhf_main), one after the other in the same processes, so the
test pays the start of the processes (importing torch, transformers) once.
Rank 0 writes {"name": [loss of step 1, step 2, ...]} and each run's trained_tokens per step.
"""
import json
import runpy
import sys
from pathlib import Path

from swift.training.distributed import rank
from swift.training.rlhf import rlhf_main
from swift.training.sft import sft_main


def run_script(argv: list) -> list:
    """`python swift/cli/X.py <flags>` in this process: the steps of its logging.jsonl on rank 0 (training), or []."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv, sys.path[0] = list(argv), str(Path(argv[0]).resolve().parent)
    try:
        runpy.run_path(argv[0], run_name='__main__')
        code = 0  # a script that returns without sys.exit
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    if code != 0:
        raise RuntimeError(f'{argv[0]} exited with {code}')
    if '--output_dir' not in argv or rank() != 0:  # logging.jsonl is rank 0's
        return []
    log = Path(argv[argv.index('--output_dir') + 1]) / 'logging.jsonl'
    return [r for r in map(json.loads, log.read_text().splitlines()) if 'loss' in r]


def main(runs_file: str, out_file: str) -> None:
    results = {}
    for name, argv in json.loads(Path(runs_file).read_text()).items():
        if argv[0].endswith('.py'):
            steps = run_script(argv)
        else:
            result = rlhf_main(argv[1:]) if argv[:1] == ['rlhf'] else sft_main(argv)
            steps = [h for h in result.log_history if 'loss' in h]
        results[name] = {'loss': [h['loss'] for h in steps], 'trained_tokens': [h.get('trained_tokens') for h in steps],
                         'logs': steps}
    if rank() == 0:
        Path(out_file).write_text(json.dumps(results))


if __name__ == '__main__':
    main(*sys.argv[1:3])
