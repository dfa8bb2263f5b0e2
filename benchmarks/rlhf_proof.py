"""The real-model proofs of `swift rlhf` on the embedded SmolLM2-135M-Instruct (CPU is enough).

    .venv/bin/python benchmarks/rlhf_proof.py                 # all proofs
    .venv/bin/python benchmarks/rlhf_proof.py dpo grpo        # some of them
    .venv/bin/python benchmarks/rlhf_proof.py --json out.json

Proofs (data: tests/training/rlhf/trait_data.py; schedules: tests/training/rlhf/proofs.py):
  base     trait rate of the untrained model's greedy answers to held-out prompts (the "before")
  dpo      trait rate after DPO, and DPO's reward accuracy on held-out pairs
  kto, simpo, orpo   trait rate after each
  rm       reward model ranking held-out chosen above rejected; then ppo with it, end to end
  grpo     mean reward per step (format + accuracy on additions), first third vs last third
The test suite runs them all with shorter schedules (tests/training/rlhf/test_real_model.py); the
numbers of a full run are recorded in docs/rlhf.md.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ALL = ('base', 'dpo', 'kto', 'simpo', 'orpo', 'rm', 'grpo')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('proofs', nargs='*', default=list(ALL), help=' '.join(ALL))
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--out', help='keep the runs here (default: a temporary folder)')
    options = parser.parse_args()
    from swift.model.embedded import ensure_embedded_model
    from tests.training.rlhf import proofs
    model_dir = ensure_embedded_model()
    root = Path(options.out or tempfile.mkdtemp(prefix='rlhf-proof-'))
    results = {}
    for name in options.proofs:
        started = time.time()
        if name == 'base':
            results[name] = {'trait_rate': proofs.trait_rate_of(model_dir)}
        elif name in ('dpo', 'kto', 'simpo', 'orpo'):
            results[name] = proofs.preference_proof(model_dir, root / name, name)
        elif name == 'rm':
            results['rm'] = proofs.reward_model_proof(model_dir, root / 'rm')
            results['ppo'] = proofs.ppo_run(model_dir, root / 'ppo', results['rm']['checkpoint'])
        elif name == 'grpo':
            results[name] = proofs.grpo_proof(model_dir, root / 'grpo')
        else:
            parser.error(f'unknown proof {name!r}; choose from {", ".join(ALL)}')
        print(f'== {name} ({time.time() - started:.0f} s): {json.dumps(results.get(name), indent=1)}', flush=True)
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
