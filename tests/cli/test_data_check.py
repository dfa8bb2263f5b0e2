"""`swift data check`: formats, bad rows with file:line, token statistics (its speed: benchmarks/cli_latency.py)."""
import json
import subprocess
import sys
import textwrap

import pytest

from swift.cli.main import main as swift_main
from tests.conftest import REPO

BROKEN = textwrap.dedent('''\
    {"question": "What is 2+2?", "answer": "4"}
    not json at all
    {"question": "Capital of France?", "answer": "Paris"}
    {"question": "Empty answer", "answer": ""}
    {"quest": "typo in the column", "answer": "x"}
    {"question": "Largest planet?", "answer": "Jupiter"}
    ''')


@pytest.fixture
def broken_file(tmp_path):
    path = tmp_path / 'qa.jsonl'
    path.write_text(BROKEN, encoding='utf-8')
    return path


def test_reports_three_broken_lines(broken_file, capsys, tmp_path):
    code = swift_main(['data', 'check', '--dataset', str(broken_file), '--columns',
                       '{"question": "query", "answer": "response"}', '--output_dir', str(tmp_path / 'out')])
    out = capsys.readouterr().out
    assert code == 1  # bad rows found
    assert '3 of 6 rows kept (formats: query_response 3), 3 bad' in out
    assert 'formats: query_response 3' in out
    assert f'{broken_file}:2: not valid JSON' in out
    assert f'{broken_file}:4: messages[1]: empty assistant turn' in out
    assert f"{broken_file}:5: unknown format: columns ['quest', 'response']" in out
    assert 'pass --model to measure token lengths' in out
    saved = json.loads((tmp_path / 'out' / 'data_check.json').read_text())
    assert [b['location'] for b in saved['dataset']['bad_rows']] == [f'{broken_file}:{n}' for n in (2, 4, 5)]


def test_strict_stops_with_one_line(broken_file, capsys):
    code = swift_main(['data', 'check', '--dataset', str(broken_file), '--strict'])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f'swift data: error: {broken_file}:1: unknown format')  # no --columns: line 1 is bad
    assert err.count('\n') == 1


def test_clean_file_exits_zero(tmp_path, capsys):
    path = tmp_path / 'ok.jsonl'
    path.write_text('{"query": "q", "response": "a"}\n', encoding='utf-8')
    assert swift_main(['data', 'check', '--dataset', str(path)]) == 0
    assert 'bad rows: 0' in capsys.readouterr().out


def test_usage_errors(capsys):
    assert swift_main(['data', 'inspect']) == 1
    assert "unknown subcommand 'inspect'" in capsys.readouterr().err
    assert swift_main(['data', 'check']) == 1
    assert '--dataset is required' in capsys.readouterr().err
    assert swift_main(['data', 'check', '--help']) == 0
    assert '--max_length' in capsys.readouterr().out


def test_alpaca_en_with_the_real_tokenizer(shared_data, smollm_dir):
    """~4000 rows, SmolLM2 tokenizer and template, in a fresh process."""
    path = shared_data / 'alpaca_en' / 'alpaca_data_4000.json'
    done = subprocess.run([
        sys.executable, '-m', 'swift.cli.main', 'data', 'check', '--model',
        str(smollm_dir), '--dataset', str(path), '--max_length', '256'
    ], cwd=REPO, capture_output=True, text=True, timeout=120)
    out = done.stdout
    assert done.returncode == 1, done.stderr  # alpaca_en has one row with an empty output
    assert '3999 of 4000 rows kept (formats: alpaca 3999), 1 bad' in out
    assert f'{path}: element 2335: messages[1]: empty assistant turn' in out
    stats = next(line for line in out.splitlines() if line.startswith('tokens ('))
    numbers = [float(x) for x in stats.split(':', 1)[1].replace('/', ' ').split() if x.replace('.', '').isdigit()]
    low, mean, p95, high = numbers
    assert 10 < low < mean < p95 < high
    over = int(next(line for line in out.splitlines() if line.startswith('longer than max_length 256')).split(': ')[1]
               .split()[0])
    assert 0 < over < 400
