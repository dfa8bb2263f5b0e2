"""Fidelity and speed of `swift eval` against lm-evaluation-harness, side by side on the same rows.

    .venv/bin/python benchmarks/eval_fidelity.py                       # the recorded run (docs/benchmarks.md)
    .venv/bin/python benchmarks/eval_fidelity.py --quick               # a few rows each, a smoke test
    .venv/bin/python benchmarks/eval_fidelity.py --benchmarks mmlu --mmlu_subjects 10 --limit 20

Both harnesses score the same local model directory (default: the embedded SmolLM2-135M-Instruct,
float32), the same rows of ../shared/data (the first `limit` rows of each subject), with the same
few-shot setting. lm-eval runs its own task definitions (benchmarks/lm_eval_tasks/*.yaml include
them and only point them at local JSONL files: the shared CSVs converted to the schema of each
benchmark's Hugging Face dataset), with its HF model class, batch size 1 (its default) unless
--lm_eval_batch_size says otherwise.

Printed: both scores per benchmark, the difference in points, the per-sample disagreements (with
both log-likelihoods, to tell near-ties from real differences), and questions per second of each.
Needs `pip install lm-eval`.
"""
import argparse
import csv
import json
import shutil
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / '..' / 'shared' / 'data').resolve()
TASK_TEMPLATES = Path(__file__).resolve().parent / 'lm_eval_tasks'
sys.path.insert(0, str(REPO))

LETTERS = 'ABCD'
TOLERANCE = {'loglikelihood': 1.0, 'generation': 2.0}  # points


# ---- local rows in the Hugging Face schemas lm-eval's tasks expect ----

def _write_jsonl(path: Path, rows: List[Dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + '\n')


def _csv_rows(path: Path, header: bool) -> List[List[str]]:
    with open(path, encoding='utf-8-sig', newline='') as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    return rows[1:] if header else rows


def convert_mmlu(data: Path, out: Path, subject: str) -> None:
    for split in ('test', 'dev'):
        rows = _csv_rows(data / 'mmlu' / split / f'{subject}_{split}.csv', header=False)
        _write_jsonl(out / 'mmlu' / split / f'{subject}.jsonl',
                     [{'question': r[0], 'subject': subject, 'choices': r[1:5], 'answer': LETTERS.index(r[5])}
                      for r in rows])


def convert_cmmlu(data: Path, out: Path, subject: str) -> None:
    for split in ('test', 'dev'):
        rows = _csv_rows(data / 'cmmlu' / split / f'{subject}.csv', header=True)
        _write_jsonl(out / 'cmmlu' / split / f'{subject}.jsonl',
                     [dict(zip(('Question', 'A', 'B', 'C', 'D', 'Answer'), r[-6:])) for r in rows])


def convert_ceval(data: Path, out: Path, subject: str) -> None:
    for split in ('val', 'dev'):
        with open(data / 'ceval' / split / f'{subject}_{split}.csv', encoding='utf-8-sig', newline='') as f:
            rows = list(csv.DictReader(f))
        # ceval-exam on the hub has the same columns in every split (explanation '' where there is none)
        _write_jsonl(out / 'ceval' / split / f'{subject}.jsonl', [{'explanation': '', **r} for r in rows])


def convert_arc(data: Path, out: Path, variant: str) -> None:
    rows = []
    with open(data / 'arc' / f'arc_{variant}.jsonl', encoding='utf-8') as f:
        for i, line in enumerate(f):
            row = json.loads(line)
            labels = [chr(ord('A') + k) for k in range(len(row['choices']))]
            rows.append({'id': str(i), 'question': row['query'][len('Question: '):],
                         'choices': {'text': row['choices'], 'label': labels}, 'answerKey': labels[row['gold']]})
    _write_jsonl(out / 'arc' / f'arc_{variant}.jsonl', rows)


def copy_lines(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def prepare_lm_eval_tasks(data: Path, work: Path, subjects: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """Convert the rows and write lm-eval task YAMLs into work/; returns swift benchmark → lm-eval task names."""
    import lm_eval
    lm_eval_tasks = Path(lm_eval.__file__).parent / 'tasks'
    rows_dir, yaml_dir = work / 'rows', work / 'tasks'
    yaml_dir.mkdir(parents=True, exist_ok=True)
    tasks: Dict[str, List[str]] = {}

    def write(template: str, task: str, subject: str = '') -> None:
        text = string.Template((TASK_TEMPLATES / template).read_text(encoding='utf-8')).substitute(
            LM_EVAL_TASKS=lm_eval_tasks, DATA=rows_dir, SUBJECT=subject)
        (yaml_dir / f'{task}.yaml').write_text(text, encoding='utf-8')

    for name, subject_list in subjects.items():
        if name in ('mmlu', 'cmmlu', 'ceval'):
            convert = {'mmlu': convert_mmlu, 'cmmlu': convert_cmmlu, 'ceval': convert_ceval}[name]
            for subject in subject_list:
                convert(data, rows_dir, subject)
                write(f'{name}.yaml', f'local_{name}_{subject}', subject)
            tasks[name] = [f'local_{name}_{s}' for s in subject_list]
        elif name in ('arc_c', 'arc_e'):
            variant = 'challenge' if name == 'arc_c' else 'easy'
            convert_arc(data, rows_dir, variant)
            write(f'arc_{variant}.yaml', f'local_arc_{variant}')
            tasks[name] = [f'local_arc_{variant}']
        elif name == 'hellaswag':
            copy_lines(data / 'hellaswag' / 'hellaswag_val_sample.jsonl', rows_dir / 'hellaswag' / 'validation.jsonl')
            write('hellaswag.yaml', 'local_hellaswag')
            tasks[name] = ['local_hellaswag']
        elif name == 'gsm8k':
            copy_lines(data / 'gsm8k' / 'test.jsonl', rows_dir / 'gsm8k' / 'test.jsonl')
            write('gsm8k_cot.yaml', 'local_gsm8k_cot')
            tasks[name] = ['local_gsm8k_cot']
    return tasks


def task_subset(benchmark: str, task_name: str) -> str:
    """The swift subset a local lm-eval task covers (its subject, or 'default')."""
    prefix = f'local_{benchmark}_'
    if benchmark in ('mmlu', 'cmmlu', 'ceval') and task_name.startswith(prefix):
        return task_name[len(prefix):]
    return 'default'


def lm_eval_task_dict(work: Path, task_names: List[str]):
    """lm-eval's task objects by name, built from the YAMLs in work/tasks."""
    from lm_eval.tasks import TaskManager
    return TaskManager(include_path=str(work / 'tasks'), include_defaults=False).load(task_names)['tasks']


# ---- the two runs, each timed over its model calls only ----

class Stopwatch:
    """Wall-clock and CPU seconds (this process, all threads) spent inside the timed calls.

    On a machine shared with other jobs the CPU seconds are the fairer figure: wall-clock time also
    counts the time the other jobs held the cores.
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.seconds = self.cpu_seconds = 0.0

    def __call__(self, function, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - wall
            self.cpu_seconds += time.process_time() - cpu


def timed_harness_model(model_dir: str, batch_size: int, stopwatch: Stopwatch):
    """lm-eval's HF model, its scoring and generation calls timed by `stopwatch`."""
    from lm_eval.models.huggingface import HFLM

    class TimedHFLM(HFLM):

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return stopwatch(super().loglikelihood, requests, disable_tqdm=disable_tqdm)

        def generate_until(self, requests, disable_tqdm: bool = False):
            return stopwatch(super().generate_until, requests, disable_tqdm=disable_tqdm)

    return TimedHFLM(pretrained=model_dir, dtype='float32', batch_size=batch_size, device='cpu')


def timed_swift_model(model_dir: str, batch_size: int, stopwatch: Stopwatch):
    """swift's LocalLM, its scoring and generation calls timed by `stopwatch`."""
    from swift.eval.local_lm import LocalLM

    class TimedLocalLM(LocalLM):

        def loglikelihood(self, requests):
            return stopwatch(super().loglikelihood, requests)

        def generate(self, prompts, until, max_new_tokens):
            return stopwatch(super().generate, prompts, until, max_new_tokens)

    return TimedLocalLM.load(model_dir, batch_size=batch_size, torch_dtype='float32')


def run_lm_eval(lm, work: Path, task_names: List[str], few_shot: Optional[int], limit: int) -> Dict[str, Any]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager
    return simple_evaluate(model=lm, tasks=task_names, num_fewshot=few_shot, limit=limit, log_samples=True,
                           task_manager=TaskManager(include_path=str(work / 'tasks'), include_defaults=False),
                           bootstrap_iters=0, random_seed=0, numpy_random_seed=0, torch_random_seed=0,
                           fewshot_random_seed=0)


def run_swift(lm, benchmark: str, subjects: List[str], few_shot: int, limit: int, data: Path,
              output_dir: Path) -> Dict[str, Dict[str, Any]]:
    """swift's sample records by id."""
    from swift.eval.evaluator import run_evaluation
    args: Dict[str, Any] = {'few_shot_num': few_shot}
    if benchmark in ('mmlu', 'cmmlu', 'ceval'):
        args['subsets'] = subjects
    run_evaluation(lm, [benchmark], limit=limit, dataset_args={benchmark: args}, dataset_dir=str(data),
                   output_dir=str(output_dir), resume=False, progress=False)
    path = output_dir / 'samples' / f'{benchmark}.jsonl'
    return {r['id']: r for r in map(json.loads, path.read_text(encoding='utf-8').splitlines())}


# ---- comparing ----

# swift metric → (lm-eval metric, lm-eval filter); the rest are the same name with no filter
HARNESS_METRICS = {'exact_match': ('exact_match', 'strict-match'),
                   'exact_match_flex': ('exact_match', 'flexible-extract')}


def harness_metric(metric: str) -> Tuple[str, str]:
    return HARNESS_METRICS.get(metric, (metric, 'none'))


def compare(benchmark: str, their_samples: Dict[str, List[Dict[str, Any]]], ours: Dict[str, Dict[str, Any]],
            metric: str) -> Tuple[float, float, int, List[str]]:
    """(lm-eval's score, swift's score, questions, notes on each question where the two disagree)."""
    theirs_values, ours_values, notes = [], [], []
    their_metric, their_filter = harness_metric(metric)
    for task_name, samples in their_samples.items():
        subset = task_subset(benchmark, task_name)
        for sample in samples:
            if sample.get('filter', 'none') != their_filter:
                continue
            sample_id = f'{subset}/{sample["doc_id"]}'
            mine = ours[sample_id]
            theirs, my_value = float(sample[their_metric]), float(mine['scores'][metric])
            theirs_values.append(theirs)
            ours_values.append(my_value)
            if my_value == theirs:
                continue
            if 'logliks' in mine:
                their_ll = [float(r[0]) for r in sample['filtered_resps']]
                diff = max(abs(a - b) for a, b in zip(their_ll, mine['logliks']))
                notes.append(f'{sample_id}: lm-eval {metric}={theirs:g}, swift {my_value:g}; max |delta loglik| '
                             f'{diff:.2e}; lm-eval {[round(x, 5) for x in their_ll]} swift '
                             f'{[round(x, 5) for x in mine["logliks"]]}')
            else:
                their_text = sample['resps'][0][0] if sample.get('resps') else ''
                notes.append(f'{sample_id}: lm-eval {metric}={theirs:g}, swift {my_value:g}; '
                             f'lm-eval output {their_text!r} | swift output {mine.get("output", "")!r}')
    n = len(theirs_values)
    return 100 * sum(theirs_values) / n, 100 * sum(ours_values) / n, n, notes


def max_loglikelihood_gap(benchmark: str, their_samples: Dict[str, List[Dict[str, Any]]],
                          ours: Dict[str, Dict[str, Any]]) -> float:
    """The largest |lm-eval - swift| log-likelihood of any choice of any question."""
    gap = 0.0
    for task_name, samples in their_samples.items():
        for sample in samples:
            mine = ours[f'{task_subset(benchmark, task_name)}/{sample["doc_id"]}']
            their_ll = [float(r[0]) for r in sample['filtered_resps']]
            gap = max(gap, *(abs(a - b) for a, b in zip(their_ll, mine['logliks'])))
    return gap


def identical_generations(benchmark: str, their_samples: Dict[str, List[Dict[str, Any]]],
                          ours: Dict[str, Dict[str, Any]]) -> Tuple[int, int]:
    """(replies generated character for character alike, replies) for a generation benchmark."""
    same = total = 0
    for task_name, samples in their_samples.items():
        for sample in samples:
            if sample.get('filter', 'none') not in ('none', 'strict-match'):
                continue
            total += 1
            mine = ours[f'{task_subset(benchmark, task_name)}/{sample["doc_id"]}']
            same += sample['resps'][0][0] == mine['output']
    return same, total


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', default=None, help='local model directory (default: the embedded SmolLM2)')
    parser.add_argument('--benchmarks', nargs='+', default=['mmlu', 'ceval', 'arc_c', 'hellaswag', 'gsm8k'])
    parser.add_argument('--data', default=str(SHARED_DATA))
    parser.add_argument('--limit', type=int, default=None, help='rows per subject (default: per benchmark)')
    parser.add_argument('--mmlu_subjects', type=int, default=20, help='first N MMLU subjects in sorted order')
    parser.add_argument('--zh_subjects', type=int, default=8, help='first N C-Eval / CMMLU subjects')
    parser.add_argument('--few_shot', type=int, default=5, help='MMLU / C-Eval / CMMLU few-shot examples')
    parser.add_argument('--batch_size', type=int, default=8, help='swift batch size')
    parser.add_argument('--lm_eval_batch_size', type=int, default=1, help='lm-eval batch size (its default: 1)')
    parser.add_argument('--quick', action='store_true', help='3 rows, 2 subjects: a smoke test of the script')
    parser.add_argument('--keep', default=None, help='keep the work directory here')
    args = parser.parse_args(argv)

    import torch
    from swift.eval.registry import get_benchmark
    from swift.eval.runner import metric_names
    data = Path(args.data).resolve()
    model_dir = args.model
    if model_dir is None:
        from swift.model.embedded import ensure_embedded_model
        model_dir = str(ensure_embedded_model())
    default_limits = {'mmlu': 10, 'cmmlu': 5, 'ceval': 5, 'arc_c': 100, 'arc_e': 100, 'hellaswag': 100, 'gsm8k': 20}
    if args.quick:
        default_limits = {k: 3 for k in default_limits}
        args.mmlu_subjects = args.zh_subjects = 2

    subjects: Dict[str, List[str]] = {}
    for name in args.benchmarks:
        benchmark = get_benchmark(name)
        if name in ('mmlu', 'cmmlu', 'ceval'):
            count = args.mmlu_subjects if name == 'mmlu' else args.zh_subjects
            subjects[name] = benchmark.local_subsets(data / benchmark.local_dir)[:count]
        else:
            subjects[name] = ['default']

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix='eval-fidelity-'))
    work.mkdir(parents=True, exist_ok=True)
    tasks = prepare_lm_eval_tasks(data, work, subjects)
    print(f'model {model_dir}; torch {torch.__version__}, {torch.get_num_threads()} threads; '
          f'swift batch {args.batch_size}, lm-eval batch {args.lm_eval_batch_size}; work dir {work}', flush=True)
    their_clock, our_clock = Stopwatch(), Stopwatch()
    their_lm = timed_harness_model(model_dir, args.lm_eval_batch_size, their_clock)
    our_lm = timed_swift_model(model_dir, args.batch_size, our_clock)

    rows, failures = [], 0
    for name in args.benchmarks:
        benchmark = get_benchmark(name)
        limit = args.limit or default_limits[name]
        generation = benchmark.kind == 'generation'
        few_shot = benchmark.few_shot_num if name not in ('mmlu', 'cmmlu', 'ceval') else args.few_shot
        print(f'\n== {name}: {len(subjects[name])} subject(s) x {limit} rows, {few_shot}-shot', flush=True)
        their_samples: Dict[str, List[Dict[str, Any]]] = {}
        ours: Dict[str, Dict[str, Any]] = {}
        their_clock.reset()
        our_clock.reset()
        # One subject at a time, alternating who goes first, so both see the same machine load.
        for i, (task_name, subject) in enumerate(zip(tasks[name], subjects[name])):
            harness_first = i % 2 == 0
            if harness_first:
                their_samples.update(run_lm_eval(their_lm, work, [task_name], None if generation else few_shot,
                                                 limit)['samples'])
            ours.update(run_swift(our_lm, name, [subject], few_shot, limit, data, work / 'swift' / name / subject))
            if not harness_first:
                their_samples.update(run_lm_eval(their_lm, work, [task_name], None if generation else few_shot,
                                                 limit)['samples'])
        mode = 'generation' if generation else 'loglikelihood'
        reported = {(k, sample.get('filter', 'none')) for samples in their_samples.values() for sample in samples
                    for k in sample}
        n = 0
        # only what lm-eval reports too (its MMLU task has no acc_norm)
        for metric in [m for m in metric_names(benchmark, mode) if harness_metric(m) in reported]:
            their_score, our_score, n, notes = compare(name, their_samples, ours, metric)
            diff = our_score - their_score
            ok = abs(diff) <= TOLERANCE[mode]
            failures += not ok
            rows.append((name, metric, n, their_score, our_score, diff, ok, len(notes),
                         (their_clock.seconds, their_clock.cpu_seconds), (our_clock.seconds, our_clock.cpu_seconds)))
            print(f'{name} {metric}: lm-eval {their_score:.2f}  swift {our_score:.2f}  diff {diff:+.2f} '
                  f'({"ok" if ok else "OUT OF TOLERANCE"}); {len(notes)} of {n} questions scored differently')
            for note in notes:
                print(f'    {note}')
        if generation:
            same, total = identical_generations(name, their_samples, ours)
            print(f'{name}: {same} of {total} replies identical, character for character')
        else:
            print(f'{name}: largest log-likelihood difference of any choice '
                  f'{max_loglikelihood_gap(name, their_samples, ours):.1e}')
        print(f'{name}: {n} questions; in model calls lm-eval {their_clock.seconds:.1f} s wall / '
              f'{their_clock.cpu_seconds:.1f} s CPU, swift {our_clock.seconds:.1f} s wall / '
              f'{our_clock.cpu_seconds:.1f} s CPU; speed-up {their_clock.seconds / our_clock.seconds:.2f}x wall, '
              f'{their_clock.cpu_seconds / our_clock.cpu_seconds:.2f}x CPU', flush=True)

    print('\n| benchmark | metric | questions | lm-eval | swift | diff (points) | within tolerance | questions scored '
          'differently | lm-eval q/s | swift q/s | speed-up (wall) | speed-up (CPU s) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for name, metric, n, theirs, ours, diff, ok, differ, (their_s, their_cpu), (our_s, our_cpu) in rows:
        print(f'| {name} | {metric} | {n} | {theirs:.2f} | {ours:.2f} | {diff:+.2f} | {"yes" if ok else "NO"} | '
              f'{differ} | {n / their_s:.3f} | {n / our_s:.3f} | {their_s / our_s:.2f}x | {their_cpu / our_cpu:.2f}x |')
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
