"""How long the light CLI commands and the data path take, with the limits the tests used to assert.

    .venv/bin/python benchmarks/cli_latency.py               # best of 5 for startup, of 2 for the rest
    .venv/bin/python benchmarks/cli_latency.py --repeat 10 --heavy_repeat 3 --json out.json

Measured in one run, each as the best of N (the least disturbed by other jobs on a shared machine):

  startup    subprocess wall time of `swift --help`, `swift list models`, `swift list templates`, beside
             the peers `python -c pass` (the interpreter alone) and `python -c "import torch"` /
             `python -c "import transformers"` (what a CLI that imported them would pay before doing anything)
  download   `swift download` against a closed local port (Hugging Face and ModelScope): how soon it gives up
  data check `swift data check` on ../shared alpaca_en (4000 rows) with the embedded SmolLM2 tokenizer, in a fresh
             process, beside the same rows through the tokenizer's own apply_chat_template in a fresh process
  encode     encode_rows on the same rows with the smollm2 template (max_length 128, delete), in this process,
             beside apply_chat_template(tokenize=True) on the same rows

These limits used to be asserted inside functional tests, where a loaded CI machine made them fail for reasons
that had nothing to do with the code; the tests keep the behaviour and this script keeps the figures.
The commands run as `python -m swift.cli.main` from this checkout (the `swift` script of a shared venv may
belong to another checkout).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED_DATA = (REPO / '..' / 'shared' / 'data').resolve()
QWEN = 'Qwen/Qwen2.5-0.5B-Instruct'

# The same rows through transformers alone: the peer of `swift data check` (fresh process) and of encode_rows.
PLAIN_TOKENIZE = '''
import json, sys, time
started = time.perf_counter()
from transformers import AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
rows = json.load(open(sys.argv[2], encoding='utf-8'))
lengths = []
for row in rows:
    prompt = '\\n'.join(part for part in (row['instruction'], row['input']) if part.strip())  # as swift's
    messages = [{'role': 'user', 'content': prompt}, {'role': 'assistant', 'content': row['output']}]
    lengths.append(len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)))
print(len(lengths), time.perf_counter() - started)
'''


def best_of(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def subprocess_run(argv: List[str], env: Optional[Dict[str, str]] = None, ok=(0, ),
                   expect: str = '') -> Callable[[], None]:
    """A run of `argv` that stops the benchmark unless it exits as expected and prints `expect`: a command
    failing for another reason (an import error, a wrong path) would otherwise be timed as if it worked."""
    def run():
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode not in ok or expect not in done.stdout + done.stderr:
            raise SystemExit(f'{" ".join(argv)} exited with {done.returncode} (expected {ok}, printing {expect!r}): '
                             f'{(done.stdout + done.stderr)[-2000:]}')
    return run


def swift(*args: str) -> List[str]:
    return [sys.executable, '-m', 'swift.cli.main', *args]


def report(results: List[dict], name: str, seconds: float, target: str, note: str = '') -> None:
    results.append({'name': name, 'seconds': round(seconds, 3), 'target': target, 'note': note})
    print(f'{name:<52} {seconds:8.3f} s   {target}{"   " + note if note else ""}', flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repeat', type=int, default=5, help='runs per startup figure (best is printed)')
    parser.add_argument('--heavy_repeat', type=int, default=2, help='runs per download / data / encode figure')
    parser.add_argument('--data_dir', default=str(SHARED_DATA), help='the shared data folder (../shared/data)')
    parser.add_argument('--json', help='also write the figures here')
    options = parser.parse_args()
    from swift.model.embedded import ensure_embedded_model
    model_dir = ensure_embedded_model()
    alpaca = Path(options.data_dir) / 'alpaca_en' / 'alpaca_data_4000.json'
    results: List[dict] = []
    print(f'{os.cpu_count()} CPUs, load average {" ".join(f"{x:.1f}" for x in os.getloadavg())}; best of '
          f'{options.repeat} (startup) / {options.heavy_repeat} (the rest)\n')

    print('startup (subprocess wall time; the old limits were for import + run inside the process, a little less)')
    n = options.repeat
    report(results, 'peer: python -c pass', best_of(n, subprocess_run([sys.executable, '-c', 'pass'])), '',
           'the interpreter alone')
    report(results, 'peer: python -c "import torch"',
           best_of(n, subprocess_run([sys.executable, '-c', 'import torch'])), '', 'what a CLI importing torch pays')
    report(results, 'peer: python -c "import transformers"',
           best_of(n, subprocess_run([sys.executable, '-c', 'import transformers'])), '',
           'what a CLI importing transformers pays')
    report(results, 'swift --help', best_of(n, subprocess_run(swift('--help'), expect='download')),
           'target < 5 s (tests/cli/test_main.py)')
    for kind in ('models', 'templates'):
        report(results, f'swift list {kind}', best_of(n, subprocess_run(swift('list', kind), expect='smollm2')),
               'target < 1.0 s (tests/cli/test_list.py, in-process)')

    print('\nswift download with nothing listening (exit 1 expected)')
    from tests.helpers.hub_env import closed_port, isolated_env  # no hub or proxy variables from the shell
    with tempfile.TemporaryDirectory() as tmp:
        hf = isolated_env(Path(tmp), HF_ENDPOINT=f'http://127.0.0.1:{closed_port()}')
        ms = isolated_env(Path(tmp), MODELSCOPE_ENDPOINT=f'http://127.0.0.1:{closed_port()}')
        m = options.heavy_repeat
        report(results, 'swift download --use_hf (closed port)',
               best_of(m, subprocess_run(swift('download', '--model', QWEN, '--use_hf'), hf, ok=(1, ),
                                         expect='cannot reach Hugging Face')),
               'target < 15 s (tests/cli/test_download.py)')
        report(results, 'swift download, ModelScope (closed port)',
               best_of(m, subprocess_run(swift('download', '--model', QWEN), ms, ok=(1, ),
                                         expect='cannot reach ModelScope')),
               'target < 15 s (tests/cli/test_download.py)')

    print(f'\n{alpaca.name} ({alpaca.parent.name}), SmolLM2-135M-Instruct tokenizer')
    m = options.heavy_repeat
    report(results, 'peer: transformers apply_chat_template (process)',
           best_of(m, subprocess_run([sys.executable, '-c', PLAIN_TOKENIZE, str(model_dir), str(alpaca)])), '',
           'fresh process: import, tokenizer, the same rows')
    report(results, 'swift data check --max_length 256',
           best_of(m, subprocess_run(swift('data', 'check', '--model', str(model_dir), '--dataset', str(alpaca),
                                           '--max_length', '256'), ok=(1, ), expect='3999 of 4000 rows kept')),
           'target < 30 s (tests/cli/test_data_check.py)', 'exit 1: one row has an empty answer')

    from transformers import AutoTokenizer
    from swift.dataset import encode_rows, load_datasets
    from swift.template import get_template
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    rows = load_datasets(str(alpaca), log=False).train
    template = get_template('smollm2', tokenizer=tokenizer)
    report(results, 'peer: apply_chat_template(tokenize=True), in process',
           best_of(m, lambda: [tokenizer.apply_chat_template(r['messages'], tokenize=True, return_dict=False)
                               for r in rows]), '', f'{len(rows)} rows')
    report(results, 'encode_rows, smollm2 template (max_length 128)',
           best_of(m, lambda: encode_rows(rows, template, max_length=128, truncation_strategy='delete', log=False)),
           'target < 20 s (tests/dataset/test_dataset_encode.py)', f'{len(rows)} rows')
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
