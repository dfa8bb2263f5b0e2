"""`NPROC_PER_NODE=2 swift infer --val_dataset ... --result_path out.jsonl`: the rows split across two processes,
one result file in the input order, and what a killed run left behind is kept, not run again."""
import json
import os
import subprocess
import sys

from swift.infer.data_parallel import merge_parts
from swift.infer.main import infer_main
from tests.conftest import REPO


def _rows(path, n):
    rows = [{'messages': [{'role': 'user', 'content': f'Count to {i}.'}]} for i in range(n)]
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_processes_write_one_file_in_input_order_and_resume(tiny_model_dir, tmp_path):
    data = _rows(tmp_path / 'rows.jsonl', 7)
    flags = ['--model', str(tiny_model_dir), '--template', 'smollm2', '--val_dataset', str(data),
             '--max_new_tokens', '4', '--temperature', '0']
    out = tmp_path / 'out.jsonl'
    # a killed earlier run answered row 3 on its rank 1 and was writing row 5 when it died
    (tmp_path / 'out.jsonl.rank1').write_text(json.dumps({'index': 3, 'messages': [], 'response': 'kept'}) + '\n'
                                              + '{"index": 5, "mess')
    env = {**os.environ, 'NPROC_PER_NODE': '2', 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
    done = subprocess.run([sys.executable, '-m', 'swift', 'infer', *flags, '--result_path', str(out)],
                          capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'launching 2 processes' in done.stderr
    assert done.stdout.count('rows answered') == 1  # rank 0 reports, for all ranks
    assert '6 rows answered, 1 already there' in done.stdout
    records = _read(out)
    assert [r['index'] for r in records] == list(range(7))
    assert records[3]['response'] == 'kept'
    assert not list(tmp_path.glob('out.jsonl.rank*'))
    # the same rows in one process answer the same (greedy decoding)
    single = tmp_path / 'single.jsonl'
    infer_main([*flags, '--result_path', str(single)])
    by_index = {r['index']: r['response'] for r in _read(single)}
    assert all(r['response'] == by_index[r['index']] for r in records if r['index'] != 3)


def test_merge_keeps_every_row_once_in_order(tmp_path):
    out = tmp_path / 'out.jsonl'
    out.write_text(json.dumps({'index': 2, 'response': 'a'}) + '\n')
    (tmp_path / 'out.jsonl.rank0').write_text(json.dumps({'index': 0, 'response': 'b'}) + '\n'
                                              + json.dumps({'index': 2, 'response': 'dup'}) + '\n')
    (tmp_path / 'out.jsonl.rank1').write_text(json.dumps({'index': 1, 'response': 'c'}) + '\n{"ind')
    assert merge_parts(out) == 3
    assert [(r['index'], r['response']) for r in _read(out)] == [(0, 'b'), (1, 'c'), (2, 'a')]
    assert not list(tmp_path.glob('out.jsonl.rank*'))


def test_several_processes_need_a_dataset(tiny_model_dir):
    env = {**os.environ, 'NPROC_PER_NODE': '2', 'PYTHONPATH': str(REPO)}
    done = subprocess.run([sys.executable, '-m', 'swift', 'infer', '--model', str(tiny_model_dir)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=REPO, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and done.stderr.count('--val_dataset') == 1
    assert 'launching' not in done.stderr
