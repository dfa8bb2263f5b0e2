"""Full fine-tuning of the embedded SmolLM2-135M-Instruct: 1 process vs FSDP2 over 2 processes (gloo, CPU).

    .venv/bin/python benchmarks/distributed.py [--steps 6] [--max_length 256]

Both jobs train the same full model on the same synthetic chat rows with the same global batch (1 process ×
batch 4; 2 processes × batch 2 under `--fsdp full_shard`), each job in its own process(es), one after the other.
Printed from the same run, per rank:

- the training state each rank holds, measured right after an optimizer step (before the gradients are freed):
  parameters + gradients + optimizer state, counting each rank's local shard (a DTensor's `to_local()`) and
  each storage once (tied embeddings). Target: FSDP2's per rank ≤ 0.6× the single process's;
- the peak resident memory of the process (ru_maxrss: model loading, activations, the Python heap included);
- the step time: median wall time of an optimizer step, the first (warm-up) excluded.

Threads: the single process gets OMP_NUM_THREADS=2, each FSDP rank 1 (2 cores either way).
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORDS = ('the model learns to answer questions about data training tokens and the weather in small steps while '
         'the optimizer updates every weight of the network on a laptop cpu').split()


def rows(n: int, seed: int = 0):
    rng = random.Random(seed)
    return [{'messages': [{'role': 'user', 'content': ' '.join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))},
                          {'role': 'assistant', 'content': ' '.join(rng.choice(WORDS) for _ in range(80))}]}
            for _ in range(n)]


def _local(t):
    return t.to_local() if hasattr(t, 'to_local') else t


def _bytes(tensors) -> int:
    """Bytes of the distinct storages behind these tensors (this rank's shard of a DTensor)."""
    seen, total = set(), 0
    for t in tensors:
        t = _local(t)
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
    return total


def probe():
    """A TrainerCallback: the training state held by this rank after the first optimizer step, and step times."""
    import torch
    from transformers import TrainerCallback

    class Probe(TrainerCallback):

        def __init__(self):
            self.state_bytes, self.ends = None, []

        def on_optimizer_step(self, args, state, control, model=None, optimizer=None, **kwargs):
            if self.state_bytes is None:
                params = list(model.parameters())
                grads = [p.grad for p in params if p.grad is not None]
                inner = getattr(optimizer, 'optimizer', optimizer)
                opt = [v for s in inner.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
                self.state_bytes = {'parameters': _bytes(params), 'gradients': _bytes(grads),
                                    'optimizer_state': _bytes(opt)}

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

    return Probe()


def worker(data: str, out: str, output_dir: str, steps: int, batch: int, max_length: int, fsdp: bool) -> None:
    from swift.training.distributed import rank
    from swift.training.sft import sft_main
    clock = probe()
    flags = dict(model='smollm2-135m-instruct', dataset=[data], output_dir=output_dir, add_version=False,
                 tuner_type='full', max_steps=steps, per_device_train_batch_size=batch, max_length=max_length,
                 learning_rate=1e-5, warmup_ratio=0, logging_steps=1, save_steps=10 ** 6, report_to=['none'],
                 dataset_shuffle=False)
    if fsdp:
        flags['fsdp'] = 'full_shard'
    result = sft_main(flags, callbacks=[clock])
    steps_s = [b - a for a, b in zip(clock.ends, clock.ends[1:])]
    record = {'rank': rank(), **clock.state_bytes, 'held': sum(clock.state_bytes.values()),
              'peak_rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
              'step_s': statistics.median(steps_s), 'losses': [h['loss'] for h in result.log_history if 'loss' in h]}
    Path(f'{out}.rank{rank()}').write_text(json.dumps(record))


def run_job(name: str, tmp: Path, data: Path, args, nproc: int) -> list:
    out = tmp / name
    batch = 4 // nproc
    common = [str(Path(__file__).resolve()), '--worker', str(data), str(out), str(tmp / f'run_{name}'),
              str(args.steps), str(batch), str(args.max_length), '1' if nproc > 1 else '0']
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': str(2 // nproc)}
    if nproc > 1:
        cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}', *common]
    else:
        cmd = [sys.executable, *common]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f'{name} failed:\n{done.stderr[-4000:]}')
    print(f'{name}: job wall {time.perf_counter() - start:.0f} s', flush=True)
    return [json.loads(Path(f'{out}.rank{k}').read_text()) for k in range(nproc)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=6)
    parser.add_argument('--max_length', type=int, default=256)
    parser.add_argument('--rows', type=int, default=64)
    args = parser.parse_args()
    mib = 2 ** 20
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / 'rows.jsonl'
        data.write_text(''.join(json.dumps(r) + '\n' for r in rows(args.rows)))
        single = run_job('single', tmp, data, args, 1)
        sharded = run_job('fsdp2x2', tmp, data, args, 2)
    base = single[0]
    print(f'\n{"job":<16}{"params MiB":>11}{"grads MiB":>11}{"optim MiB":>11}{"held MiB":>10}{"ratio":>7}'
          f'{"peak RSS MiB":>14}{"step s":>8}')
    for name, rec in [('1 process', base)] + [(f'fsdp2 rank {r["rank"]}', r) for r in sharded]:
        print(f'{name:<16}{rec["parameters"] / mib:>11.0f}{rec["gradients"] / mib:>11.0f}'
              f'{rec["optimizer_state"] / mib:>11.0f}{rec["held"] / mib:>10.0f}{rec["held"] / base["held"]:>7.2f}'
              f'{rec["peak_rss"] / mib:>14.0f}{rec["step_s"]:>8.2f}')
    worst = max(r['held'] for r in sharded) / base['held']
    print(f'\nper-rank training state / single process: {worst:.2f} (target ≤ 0.60: {"met" if worst <= 0.6 else "NOT met"})')
    print('losses 1 process: ' + ' '.join(f'{x:.4f}' for x in base['losses']))
    print('losses fsdp2x2:   ' + ' '.join(f'{x:.4f}' for x in sharded[0]['losses']))


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--worker':
        a = sys.argv[2:]
        worker(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6] == '1')
    else:
        main()
