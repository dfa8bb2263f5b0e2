"""`swift list models|templates`: output, filters, JSON, errors, the lister hook, and what it imports."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from swift.cli import list_cmd
from swift.cli.main import main as swift_main
from swift.model.registry import list_model_metas
from swift.utils import SwiftError

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    assert list_cmd.main(list(argv)) == 0
    return capsys.readouterr()


def test_models_table_lists_every_checkpoint(capsys):
    out = run(capsys, 'models').out
    lines = out.splitlines()
    assert lines[0].split() == ['MODEL_TYPE', 'TEMPLATE', 'MS_MODEL_ID', 'HF_MODEL_ID', 'TAGS']
    assert len(lines) - 1 == sum(len(meta.models) for meta in list_model_metas())
    row = next(line for line in lines if 'Meta-Llama-3-8B-Instruct ' in line).split()
    assert row == ['llama3', 'llama3', 'LLM-Research/Meta-Llama-3-8B-Instruct', 'meta-llama/Meta-Llama-3-8B-Instruct', '-']


def test_models_filter_matches_ids_and_model_types(capsys):
    rows = json.loads(run(capsys, 'models', '--filter', 'QWEN3-4B', '--json').out)
    assert {r['hf_model_id'] for r in rows} == {
        'Qwen/Qwen3-4B', 'Qwen/Qwen3-4B-Base', 'Qwen/Qwen3-4B-FP8', 'Qwen/Qwen3-4B-AWQ', 'Qwen/Qwen3-4B-Thinking-2507',
        'Qwen/Qwen3-4B-Thinking-2507-FP8', 'Qwen/Qwen3-4B-Instruct-2507', 'Qwen/Qwen3-4B-Instruct-2507-FP8'
    }
    thinking = next(r for r in rows if r['hf_model_id'] == 'Qwen/Qwen3-4B-Thinking-2507')
    assert thinking['template'] == 'qwen3_thinking' and thinking['model_type'] == 'qwen3'
    # A model type (or template, or architecture) keeps all of its checkpoints.
    rows = json.loads(run(capsys, 'models', '--filter=granitemoe', '--json').out)
    assert len(rows) == 8 and {r['model_type'] for r in rows} == {'granitemoe'}
    rows = json.loads(run(capsys, 'models', '--json', '--filter', 'Cohere2ForCausalLM').out)
    assert [r['hf_model_id'] for r in rows] == ['CohereLabs/c4ai-command-r7b-12-2024']


def test_models_json_fields(capsys):
    rows = json.loads(run(capsys, 'models', '--json', '--filter', 'gemma-2-9b-it').out)
    assert rows == [{
        'model_type': 'gemma2',
        'template': 'gemma',
        'ms_model_id': 'LLM-Research/gemma-2-9b-it',
        'hf_model_id': 'google/gemma-2-9b-it',
        'aliases': [],
        'tags': [],
        'architectures': ['Gemma2ForCausalLM'],
        'requires': ['transformers>=4.42'],
    }]


def test_no_match_says_so(capsys):
    captured = run(capsys, 'models', '--filter', 'no-such-model-xyz')
    assert captured.out == '' and "no models match 'no-such-model-xyz'" in captured.err
    assert json.loads(run(capsys, 'models', '--filter', 'no-such-model-xyz', '--json').out) == []


def registry_template_names():
    names = set()
    for meta in list_model_metas():
        names |= {meta.template} | {g.template for g in meta.model_groups if g.template}
    return names


def test_templates_list_shows_which_model_types_use_them(capsys):
    rows = json.loads(run(capsys, 'templates', '--json').out)
    by_name = {r['template']: r['model_types'] for r in rows}
    assert registry_template_names() <= set(by_name)
    assert by_name['llama3_1'] == ['llama3_1', 'llama3_3'] and by_name['llama3_2'] == ['llama3_2']
    assert 'qwen3' in by_name['qwen3_thinking']
    assert [r['template'] for r in json.loads(run(capsys, 'templates', '--filter', 'phi4', '--json').out)] == \
        ['phi4', 'phi4_mini', 'phi4_multimodal', 'phi4_reasoning']
    assert run(capsys, 'templates').out.splitlines()[0].split() == ['TEMPLATE', 'MODEL_TYPES']


def test_templates_come_from_the_template_registry(capsys):
    from swift.template import list_templates
    rows = json.loads(run(capsys, 'templates', '--json').out)
    assert [r['template'] for r in rows] == sorted(list_templates())


def test_usage_errors_are_swift_errors(capsys):
    with pytest.raises(SwiftError, match="cannot list 'modls'.*Did you mean: models"):
        list_cmd.main(['modls'])
    with pytest.raises(SwiftError, match='what to list'):
        list_cmd.main([])
    with pytest.raises(SwiftError, match='unknown option --jsn.*Did you mean: --json'):
        list_cmd.main(['models', '--jsn'])
    with pytest.raises(SwiftError, match='--filter needs a value'):
        list_cmd.main(['models', '--filter'])
    assert 'usage: swift list' in run(capsys, '--help').out


def test_dispatch_through_the_swift_command(capsys):
    assert swift_main(['list', 'models', '--filter', 'smollm2-135m']) == 0
    assert 'HuggingFaceTB/SmolLM2-135M-Instruct' in capsys.readouterr().out
    assert swift_main(['list', 'nothing']) == 1
    assert "cannot list 'nothing'" in capsys.readouterr().err


def test_another_lister_plugs_into_the_hook(capsys, monkeypatch):
    def list_things(filter_text):
        return [{'name': n, 'size': 3} for n in ['alpha', 'beta'] if not filter_text or filter_text in n]

    monkeypatch.setitem(list_cmd.LISTERS, 'things', list_things)
    monkeypatch.setitem(list_cmd.TABLE_COLUMNS, 'things', ['name', 'size'])
    assert run(capsys, 'things', '--filter', 'be').out.splitlines() == ['NAME  SIZE', 'beta  3']


LIGHT = '''
import sys
from swift.cli.main import main
code = main(["list", "{kind}"])
heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
print("RESULT", code, ",".join(heavy) or "none", file=sys.stderr)
'''


@pytest.mark.parametrize('kind', ['models', 'templates'])
def test_list_imports_neither_torch_nor_transformers(kind):
    """What keeps `swift list` fast; its wall time is measured by benchmarks/cli_latency.py, not asserted here."""
    result = subprocess.run([sys.executable, '-c', LIGHT.format(kind=kind)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    _, code, heavy = result.stderr.strip().splitlines()[-1].split()
    assert code == '0' and heavy == 'none'
    assert result.stdout.count('\n') > 20
