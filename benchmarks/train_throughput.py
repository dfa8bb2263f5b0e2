"""LoRA SFT throughput on the embedded SmolLM2-135M-Instruct: swift (packing) vs plain Trainer + PEFT.

    .venv/bin/python benchmarks/train_throughput.py [--steps 12] [--rows 256] [--rounds 2]
    .venv/bin/python benchmarks/train_throughput.py --data alpaca_en --rows 80    # real data, one epoch
    .venv/bin/python benchmarks/train_throughput.py --data alpaca_zh --rows 80
    .venv/bin/python benchmarks/train_throughput.py --data alpaca_en --rows 80 --rounds 1 \
        --jobs swift:packing --threads 1                                  # a loaded machine: see below
    .venv/bin/python benchmarks/train_throughput.py --data alpaca_en --profile --steps 2 --threads 1 \
        --rounds 1 --jobs swift:packing                                   # torch.profiler of step 2

Every job also reports the CPU time of its process tree (user + sys, from the kernel's accounting of
the finished child) and a per-phase breakdown, wall and CPU seconds: import (interpreter start and
the job's imports), setup (model load, dataset encoding, tuner, trainer), train (every step), save
(what runs after training: swift's final checkpoint and plots) and exit (interpreter shutdown; a swift job
ends as `swift sft` ends, through swift.utils.process.exit_now, without the interpreter's teardown).
On a machine loaded by other users, wall time mostly measures the load, and 2-thread jobs burn CPU
spin-waiting for a descheduled peer thread: compare the CPU-time ratio of a --threads 1 run there (for the
synthetic rows, whose jobs train different amounts of data, the trained tokens per CPU second of the timed steps).

With --data alpaca_en / alpaca_zh (../shared/data), every job trains one epoch over the same rows
(as a user would run it: packing needs fewer steps for the same rows), and what compares is the
wall time of the whole job process, from its start (interpreter, imports, model load, dataset
encoding) to its exit: the time a user waits. The synthetic default keeps its per-step figures.

Both jobs train the same LoRA (rank 8, all linear layers, lr 1e-4) on the same synthetic chat data,
max_length 512, batch 4 (the baseline: 4 rows padded to the longest; swift: 4 packed rows of up to
512 tokens), each in its own process so peak memory is its own. Both are timed the same way: wall
clock from the end of the first optimizer step (warm-up) to the end of the last, by one callback.
Printed per job: trained (non-masked) tokens per second and peak resident memory. The jobs run in
rounds (default 2), in alternating order, because the speed of a shared VM drifts by 10-25% over
minutes; each round is printed, then each job's fastest round.
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
KINDS = ('baseline', 'swift:packing', 'swift:padding_free')
PROFILE = os.environ.get('SWIFT_BENCH_PROFILE') == '1'  # --profile
THREADS = int(os.environ.get('SWIFT_BENCH_THREADS', 2))  # torch / OMP threads per job (--threads)
MICRO_BATCH_ROWS = os.environ.get('SWIFT_BENCH_MICRO_BATCH_ROWS')  # swift jobs' --micro_batch_rows (None: its default)
MARKS = {}  # phase name -> (wall time.time(), CPU seconds of this process and its children) when it ended


def mark(name: str) -> None:
    """Stamp the end of a phase: wall clock (time.time(), comparable with the parent's) and CPU time
    (user + sys of this process and of any children it waited for, e.g. --dataset_num_proc workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    MARKS[name] = (time.time(), own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime)
WORDS = ('the model learns to answer questions about data, training, tokens, and the weather in small '
         'steps while the optimizer updates low rank matrices on a laptop cpu').split()


def synthetic_rows(n: int, seed: int = 0):
    """Chat rows whose lengths vary from short to long, as real SFT data does."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        q = ' '.join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
        a = ' '.join(rng.choice(WORDS) for _ in range(rng.randint(10, 300)))
        rows.append({'messages': [{'role': 'user', 'content': q}, {'role': 'assistant', 'content': a}]})
    return rows


def alpaca_rows(name: str, n: int):
    """The first n rows of the shared Alpaca file (en: instruction/input/output; zh: the Chinese fields)."""
    folder = REPO.parent / 'shared' / 'data' / name
    rows = []
    for path in sorted(folder.glob('*.json')):
        rows += json.loads(path.read_text(encoding='utf-8'))
        if len(rows) >= n:
            break
    if len(rows) < n:
        sys.exit(f'{folder}: {len(rows)} rows, fewer than --rows {n}')
    chats = []
    for row in rows[:n]:
        question = row['instruction'] + ('\n\n' + row['input'] if row.get('input') else '')
        chats.append({'messages': [{'role': 'user', 'content': question},
                                   {'role': 'assistant', 'content': row['output']}]})
    return chats


def step_clock():
    """A TrainerCallback that stamps the wall-clock end of every optimizer step and counts, per step, the
    trained label tokens and all the token positions (padding included) that the model was given."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):

        def __init__(self):
            self.ends, self.cpu_ends, self.trained, self.positions = [], [], [], []
            self._trained = self._positions = 0

        def _count(self, module, args, kwargs):
            self._positions += kwargs['input_ids'].numel()
            labels = kwargs.get('labels')  # None under swift's chunked loss: run_swift reads its count
            if labels is not None:
                self._trained += int((labels[:, 1:] != -100).sum())

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            mark('setup')  # model load, dataset encoding, tuner, trainer
            model.register_forward_pre_hook(self._count, with_kwargs=True)
            self.rss_at_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

        def on_step_begin(self, args, state, control, **kwargs):
            if PROFILE and len(self.ends) == 1:  # the second step: warm-up done
                import torch.profiler
                self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                self.profiler.__enter__()

        def on_step_end(self, args, state, control, **kwargs):
            if PROFILE and len(self.ends) == 1:
                self.profiler.__exit__(None, None, None)
                table = self.profiler.key_averages().table(sort_by='self_cpu_time_total', row_limit=15)
                print(f'PROFILE of step 2 ({self._positions} positions):\n{table}', file=sys.stderr)
            self.ends.append(time.perf_counter())
            own = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process: the steps' own CPU time
            self.cpu_ends.append(own.ru_utime + own.ru_stime)
            self.trained.append(self._trained)
            self.positions.append(self._positions)
            self._trained = self._positions = 0

        def on_train_end(self, args, state, control, **kwargs):
            mark('train')

        def figures(self) -> dict:
            """Steps 2..N (step 1 includes warm-up)."""
            seconds = self.ends[-1] - self.ends[0]
            if len(self.ends) < 2:  # one step in all (a tiny epoch): nothing after the warm-up step to time
                return {'tokens_per_s': float('nan'), 'positions_per_s': float('nan'), 'tokens_per_cpu_s': float('nan'),
                        'trained_fraction': float('nan'), 'peak_rss_before_training_gib': self.rss_at_start}
            # Trained tokens per CPU second of the same steps: on a machine loaded by others, wall time measures
            # the share of the CPU each job got (it moves with the load over minutes); CPU time measures the work.
            return {'tokens_per_s': sum(self.trained[1:]) / seconds,
                    'tokens_per_cpu_s': sum(self.trained[1:]) / (self.cpu_ends[-1] - self.cpu_ends[0]),
                    'positions_per_s': sum(self.positions[1:]) / seconds,
                    'trained_fraction': sum(self.trained[1:]) / sum(self.positions[1:]),
                    'peak_rss_before_training_gib': self.rss_at_start}

    return StepClock()


def _length(steps: int) -> dict:
    """steps > 0: that many optimizer steps; 0: one epoch over the data."""
    return {'max_steps': steps} if steps > 0 else {'num_train_epochs': 1}


def run_swift(data_file: str, steps: int, out: str, mode: str = 'packing') -> dict:
    """mode 'packing': 4 rows packed to 512 tokens each; 'padding_free': the same 4 rows per step as the
    baseline, concatenated into one row without padding."""
    from swift.training.sft import sft_main
    clock = step_clock()
    sft_main(dict(model='smollm2-135m-instruct', dataset=[data_file], output_dir=out, add_version=False,
                  **_length(steps), per_device_train_batch_size=4, max_length=512, **{mode: True},
                  lora_rank=8, lora_alpha=32, learning_rate=1e-4, logging_steps=1, save_steps=10**6,
                  report_to=['none'], lora_dropout=0.0,
                  **({'micro_batch_rows': int(MICRO_BATCH_ROWS)} if MICRO_BATCH_ROWS else {})), callbacks=[clock])
    # The labels never reach the model with swift's chunked loss: take its own count, logged every step.
    logs = [json.loads(line) for line in (Path(out) / 'logging.jsonl').read_text().splitlines()]
    clock.trained = [r['trained_tokens'] for r in logs if 'trained_tokens' in r]
    return clock.figures()


def run_baseline(data_file: str, steps: int, out: str) -> dict:
    """Plain transformers Trainer + PEFT with the tokenizer's chat template and padded batches of 4."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments
    from swift.model.embedded import ensure_embedded_model
    model_dir = str(ensure_embedded_model())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=32, lora_dropout=0.0, target_modules='all-linear',
                                             task_type='CAUSAL_LM'))
    rows = [json.loads(line) for line in open(data_file)]
    samples = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(row['messages'][:1], add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(row['messages'], tokenize=False)
        p_ids = tokenizer(prompt, add_special_tokens=False)['input_ids']
        ids = tokenizer(full, add_special_tokens=False)['input_ids'][:512]
        samples.append({'input_ids': ids, 'attention_mask': [1] * len(ids),
                        'labels': [-100] * len(p_ids) + ids[len(p_ids):]})

    clock = step_clock()
    trainer = Trainer(model=model, train_dataset=samples,
                              data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True),
                              args=TrainingArguments(output_dir=out, **_length(steps), per_device_train_batch_size=4,
                                                     learning_rate=1e-4, logging_steps=1, save_strategy='no',
                                                     report_to=[], disable_tqdm=True, seed=42),
                              callbacks=[clock])
    trainer.train()
    return clock.figures()


def child(kind: str, data_file: str, steps: int) -> None:
    # What each job imports before its own work starts, timed as the 'import' phase.
    import importlib
    for module in (('peft', 'transformers') if kind == 'baseline' else ('swift.training.sft',)):
        importlib.import_module(module)
    import torch
    torch.set_num_threads(min(THREADS, os.cpu_count() or 1))
    mark('import')
    with tempfile.TemporaryDirectory() as out:
        if kind == 'baseline':
            figures = run_baseline(data_file, steps, out)
        else:
            figures = run_swift(data_file, steps, out, mode=kind.split(':')[1])
        mark('save')  # after training: swift's final checkpoint and plots (the baseline saves nothing)
    figures['peak_rss_gib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    figures['marks'] = MARKS
    print('RESULT ' + json.dumps(figures))
    if kind != 'baseline':  # the swift job ends as `swift sft` does (swift/cli/main.py): without the teardown
        from swift.utils.process import exit_now
        exit_now(0)


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(kind: str, data: Path, steps: int) -> dict:
    start, start_wall, start_cpu = time.perf_counter(), time.time(), _cpu_of_children()
    done = subprocess.run([sys.executable, __file__, '--child', kind, '--data', str(data), '--steps', str(steps)],
                          capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': os.environ['SWIFT_BENCH_THREADS']})
    line = [l for l in done.stdout.splitlines() if l.startswith('RESULT ')]
    if done.returncode or not line:
        sys.exit(f'{kind} failed:\n{done.stderr[-3000:]}')
    figures = json.loads(line[0][7:])
    figures['process_wall_s'] = time.perf_counter() - start  # from the job's start to its exit
    # CPU time of the whole process tree (user + sys of the job and everything it started), from the
    # kernel's accounting: less sensitive than wall time to other users' load on a shared machine.
    figures['process_cpu_s'] = _cpu_of_children() - start_cpu
    # Per phase: (wall, CPU) seconds; 'import' starts at process start (interpreter start-up included in
    # wall; its CPU is counted from the child's own accounting), 'exit' is interpreter shutdown.
    phases, wall, cpu = {}, start_wall, 0.0
    for name, (at, cpu_at) in figures.pop('marks').items():
        phases[name] = (at - wall, cpu_at - cpu)
        wall, cpu = at, cpu_at
    phases['exit'] = (start_wall + figures['process_wall_s'] - wall, figures['process_cpu_s'] - cpu)
    figures['phases'] = phases
    if PROFILE or os.environ.get('SWIFT_BENCH_PROFILE') == '1':
        start = done.stderr.find('PROFILE of step 2')
        print(f'--- {kind}: ' + done.stderr[start:].split('\n\n')[0] if start >= 0 else f'{kind}: no profile')
    return figures


def report(results: dict, title: str, real: bool = True) -> None:
    b = results['baseline']
    print(title)
    if not real:  # a fixed number of steps: the jobs train different amounts of data
        print('  (synthetic rows, fixed steps: whole-process times cover different data; compare tokens/s)')
    print('  wall time from process start to exit: ' + ', '.join(
        f'{kind} {r["process_wall_s"]:.1f}s' + (f' ({b["process_wall_s"] / r["process_wall_s"]:.2f}x)'
                                                if kind != 'baseline' else '') for kind, r in results.items()))
    print('  CPU time of the process tree (user+sys): ' + ', '.join(
        f'{kind} {r["process_cpu_s"]:.1f}s' + (f' ({b["process_cpu_s"] / r["process_cpu_s"]:.2f}x)'
                                               if kind != 'baseline' else '') for kind, r in results.items()))
    for kind, r in results.items():
        print(f'  phases of {kind}, wall / CPU s: ' + ', '.join(
            f'{name} {wall:.1f} / {cpu:.1f}' for name, (wall, cpu) in r['phases'].items()))
    print('  trained tokens per CPU second of steps 2..N (--threads 1 on a loaded machine: this ratio, not wall): '
          + ', '.join(f'{kind} {r["tokens_per_cpu_s"]:.1f}'
                      + (f' ({r["tokens_per_cpu_s"] / b["tokens_per_cpu_s"]:.2f}x)' if kind != 'baseline' else '')
                      for kind, r in results.items()))
    print(f'  plain Trainer + PEFT (batch 4, padded):  {b["tokens_per_s"]:.1f} trained tokens/s, '
          f'peak RSS {b["peak_rss_gib"]:.2f} GiB; {b["positions_per_s"]:.1f} positions/s, '
          f'{b["trained_fraction"]:.0%} of them trained')
    for kind, label in (('swift:packing', 'swift sft (batch 4, packing to 512):   '),
                        ('swift:padding_free', 'swift sft (batch 4, padding-free):     ')):
        if kind not in results:
            continue
        s = results[kind]
        print(f'  {label} {s["tokens_per_s"]:.1f} trained tokens/s, peak RSS {s["peak_rss_gib"]:.2f} GiB; '
              f'{s["positions_per_s"]:.1f} positions/s, {s["trained_fraction"]:.0%} of them trained; '
              f'speed-up {s["tokens_per_s"] / b["tokens_per_s"]:.2f}x (target >= 1.5x), '
              f'memory ratio {s["peak_rss_gib"] / b["peak_rss_gib"]:.2f} (target <= 1.0)')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=12)
    parser.add_argument('--rows', type=int, default=256)
    parser.add_argument('--rounds', type=int, default=2,
                        help='each round runs every job once, in alternating order; the speed of a shared VM drifts')
    parser.add_argument('--data', default='synthetic', help='synthetic, alpaca_en or alpaca_zh (../shared/data: '
                        'one epoch per job, wall time from process start compared)')
    parser.add_argument('--jobs', default=','.join(KINDS), help=f'comma-separated subset of {",".join(KINDS)} '
                        '(the baseline always runs)')
    parser.add_argument('--threads', type=int, default=2,
                        help='threads per job (2: the issue\'s setting). On a machine loaded by others, 2-thread '
                        'jobs burn CPU time spin-waiting for a descheduled peer thread; --threads 1 keeps the '
                        'CPU-time ratio honest there')
    parser.add_argument('--profile', action='store_true',
                        help='print each job\'s torch.profiler table of its second optimizer step (run with '
                        '--threads 1 --steps 2 for a clean single-thread profile)')
    parser.add_argument('--micro_batch_rows', type=int, default=None,
                        help="the swift jobs' --micro_batch_rows (rows per forward/backward inside a step; 0: the "
                        'whole batch); default: swift\'s own default')
    parser.add_argument('--child', choices=KINDS)
    opts = parser.parse_args()
    os.environ['SWIFT_BENCH_PROFILE'] = os.environ.get('SWIFT_BENCH_PROFILE') or ('1' if opts.profile else '0')
    os.environ['SWIFT_BENCH_THREADS'] = str(opts.threads)  # read by each job (THREADS) at its import
    if opts.micro_batch_rows is not None:
        os.environ['SWIFT_BENCH_MICRO_BATCH_ROWS'] = str(opts.micro_batch_rows)
    if opts.child:
        return child(opts.child, opts.data, opts.steps)
    real = opts.data != 'synthetic'
    steps = opts.steps if opts.profile or not real else 0  # real data: one epoch (a profile: --steps)
    print(f'machine: {len(os.sched_getaffinity(0))} CPUs usable, load average '
          f'{" / ".join(f"{x:.1f}" for x in os.getloadavg())}; data {opts.data}, {opts.rows} rows')
    sys.stdout.reconfigure(line_buffering=True)  # each round's figures as soon as it ends
    kinds = ('baseline',) + tuple(k for k in opts.jobs.split(',') if k in KINDS and k != 'baseline')
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / f'{opts.data}.jsonl'
        rows = alpaca_rows(opts.data, opts.rows) if real else synthetic_rows(opts.rows)
        data.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows), encoding='utf-8')
        for number in range(opts.rounds):
            order = kinds if number % 2 == 0 else kinds[::-1]
            rounds.append({kind: run_child(kind, data, steps) for kind in order})
            report(rounds[-1], f'round {number + 1} (order: {", ".join(order)})', real)
    if len(rounds) > 1:
        # Each job's fastest round (the one least slowed by the VM) and its highest peak memory.
        fastest = (lambda f: -f['process_wall_s']) if real else (lambda f: f['tokens_per_s'])
        best = {kind: dict(max((r[kind] for r in rounds), key=fastest),
                           peak_rss_gib=max(r[kind]['peak_rss_gib'] for r in rounds)) for kind in kinds}
        report(best, f'best of {len(rounds)} rounds (speed: each job\'s fastest round; memory: its highest peak)', real)


if __name__ == '__main__':
    main()
