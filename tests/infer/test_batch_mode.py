"""`swift infer --val_dataset ... --result_path ...`: one JSON line per row, resumable after a kill."""
import io
import json

import pytest

from swift.arguments import InferArguments
from swift.infer.checks import check_infer_args
from swift.infer.main import infer_main
from swift.utils import SwiftError
from swift.utils.args import parse_args

ROWS = [{'messages': [{'role': 'user', 'content': f'question {i}'}, {'role': 'assistant', 'content': f'answer {i}'}]}
        for i in range(6)] + [{'query': 'alpaca style?', 'response': 'yes'}]


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / 'val.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in ROWS), encoding='utf-8')
    return path


def run(tiny_model_dir, dataset, result_path, *extra):
    args = parse_args(InferArguments, ['--model', str(tiny_model_dir), '--template', 'smollm2', '--val_dataset',
                                       str(dataset), '--result_path', str(result_path), '--max_new_tokens', '4',
                                       *extra])
    stdout = io.StringIO()
    result = infer_main(args, io.StringIO(), stdout)
    assert result.mode == 'batch' and result.result_path == str(result_path) and not result.errors
    assert result.answered + result.skipped == len(ROWS)
    return stdout.getvalue()


def read(result):
    return [json.loads(line) for line in result.read_text(encoding='utf-8').splitlines()]


def test_batch_mode_writes_one_line_per_row(tiny_model_dir, dataset, tmp_path):
    result = tmp_path / 'out' / 'result.jsonl'
    out = run(tiny_model_dir, dataset, result)
    lines = read(result)
    assert sorted(line['index'] for line in lines) == list(range(len(ROWS)))
    first = next(line for line in lines if line['index'] == 0)
    assert first['messages'] == [{'role': 'user', 'content': 'question 0'}]  # the reference answer is not sent
    assert first['labels'] == 'answer 0'
    assert isinstance(first['response'], str) and first['usage']['completion_tokens'] <= 4
    assert first['finish_reason'] in ('stop', 'length')
    assert f'{len(ROWS)} rows answered' in out


def test_batch_mode_resumes_after_a_kill(tiny_model_dir, dataset, tmp_path):
    result = tmp_path / 'result.jsonl'
    run(tiny_model_dir, dataset, result)
    lines = result.read_text(encoding='utf-8').splitlines()
    kept = lines[:3]
    # as if killed while writing the fourth line: three complete lines and a torn one
    result.write_text('\n'.join(kept) + '\n' + lines[3][:10], encoding='utf-8')
    out = run(tiny_model_dir, dataset, result)
    assert f'{len(ROWS) - 3} rows answered, 3 already there' in out
    resumed = read(result)
    assert sorted(line['index'] for line in resumed) == list(range(len(ROWS)))  # each row exactly once
    assert [json.dumps(line) for line in resumed[:3]] == [json.dumps(json.loads(line)) for line in kept]
    out = run(tiny_model_dir, dataset, result)  # nothing left to do
    assert f'0 rows answered, {len(ROWS)} already there' in out


def test_result_path_needs_val_dataset(tiny_model_dir):
    with pytest.raises(SwiftError, match='--val_dataset'):
        parse_args(InferArguments, ['--model', str(tiny_model_dir), '--result_path', 'x.jsonl'])


def test_unknown_backend_is_named_before_loading(tiny_model_dir):
    args = parse_args(InferArguments, ['--model', str(tiny_model_dir), '--infer_backend', 'vllmm'])
    with pytest.raises(SwiftError, match='Did you mean: vllm'):
        check_infer_args(args)
    assert parse_args(InferArguments, ['--model', 'm', '--infer_backend', 'pt']).infer_backend == 'transformers'


def test_logprobs_are_written_per_token(tiny_model_dir, dataset, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swift.template import get_template
    result = tmp_path / 'result.jsonl'
    run(tiny_model_dir, dataset, result, '--logprobs', 'true', '--top_logprobs', '3')
    line = next(line for line in read(result) if line['index'] == 0)
    content = line['logprobs']['content']
    assert len(content) == line['usage']['completion_tokens'] and all(len(e['top_logprobs']) == 3 for e in content)
    # greedy: each token is the most likely one, and the first one's log-probability is the model's own
    assert all(e['logprob'] == pytest.approx(e['top_logprobs'][0]['logprob']) for e in content)
    template = get_template('smollm2', tokenizer=AutoTokenizer.from_pretrained(str(tiny_model_dir)))
    prompt = template.encode({'messages': line['messages']}, for_inference=True)['input_ids']
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    with torch.no_grad():
        expected = torch.log_softmax(model(torch.tensor([prompt])).logits[0, -1].float(), -1).max()
    assert content[0]['logprob'] == pytest.approx(float(expected), abs=1e-4)
    with pytest.raises(SwiftError, match='--logprobs are written to batch mode'):
        parse_args(InferArguments, ['--model', str(tiny_model_dir), '--logprobs', 'true'])
