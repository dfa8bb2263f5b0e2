"""The run around the model: sample log, resume after an interruption, eval_result.json, the table.

A scripted model stands in (it always prefers " B"), so these tests check bookkeeping, not scores.
"""
import datetime
import json

import pytest

from swift.eval.evaluator import run_evaluation
from swift.eval.report import format_table

MMLU_ARGS = {'mmlu': {'subsets': ['anatomy', 'virology'], 'few_shot_num': 1}}


class ScriptedLM:
    """Prefers the choice " B"; records what it was asked; can fail on its n-th call like a Ctrl-C."""
    supports_loglikelihood = True
    chat = False
    batch_size = 2
    name = 'scripted'

    def __init__(self, interrupt_on_call=None):
        self.identity = {'model': 'scripted'}
        self.contexts = []
        self.calls = 0
        self.interrupt_on_call = interrupt_on_call

    def loglikelihood(self, requests):
        self.calls += 1
        if self.calls == self.interrupt_on_call:
            raise KeyboardInterrupt
        self.contexts += [c for c, _ in requests]
        return [0.0 if cont == ' B' else -1.0 for _, cont in requests]


def _run(lm, out, **kw):
    return run_evaluation(lm, ['mmlu'], limit=5, dataset_args=kw.pop('dataset_args', MMLU_ARGS),
                          dataset_dir=kw.pop('dataset_dir'), output_dir=str(out), progress=False, **kw)


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding='utf-8').splitlines()]


def test_interrupted_run_resumes_where_it_stopped(shared_data, tmp_path):
    out = tmp_path / 'run'
    with pytest.raises(KeyboardInterrupt):
        _run(ScriptedLM(interrupt_on_call=2), out, dataset_dir=str(shared_data))
    samples = out / 'samples' / 'mmlu.jsonl'
    assert [r['id'] for r in _lines(samples)] == [f'anatomy/{i}' for i in range(5)]  # the first subset was saved
    with open(samples, 'a', encoding='utf-8') as f:
        f.write('{"id": "virology/0", "subs')  # a line cut short by the kill

    again = ScriptedLM()
    resumed = _run(again, out, dataset_dir=str(shared_data))
    assert len(again.contexts) == 5 * 4  # only virology's 5 questions, 4 choices each, were asked
    assert all('virology' in c for c in again.contexts)
    expected = [f'anatomy/{i}' for i in range(5)] + [f'virology/{i}' for i in range(5)]
    assert [r['id'] for r in _lines(samples)] == expected

    clean = _run(ScriptedLM(), tmp_path / 'clean', dataset_dir=str(shared_data))
    assert resumed['results']['mmlu']['metrics'] == clean['results']['mmlu']['metrics']
    assert resumed['results']['mmlu']['metrics']['n'] == 10


def test_other_settings_start_over(shared_data, tmp_path):
    _run(ScriptedLM(), tmp_path, dataset_dir=str(shared_data))
    same = ScriptedLM()
    _run(same, tmp_path, dataset_dir=str(shared_data))
    assert same.contexts == []  # everything was in the log
    more_shots = ScriptedLM()
    _run(more_shots, tmp_path, dataset_dir=str(shared_data),
         dataset_args={'mmlu': {**MMLU_ARGS['mmlu'], 'few_shot_num': 2}})
    assert len(more_shots.contexts) == 40
    no_resume = ScriptedLM()
    _run(no_resume, tmp_path, dataset_dir=str(shared_data),
         dataset_args={'mmlu': {**MMLU_ARGS['mmlu'], 'few_shot_num': 2}}, resume=False)
    assert len(no_resume.contexts) == 40
    assert len(_lines(tmp_path / 'samples' / 'mmlu.jsonl')) == 10


def test_eval_result_and_sample_log_contents(shared_data, tmp_path):
    _run(ScriptedLM(), tmp_path, dataset_dir=str(shared_data))
    result = json.loads((tmp_path / 'eval_result.json').read_text(encoding='utf-8'))
    assert result['model'] == {'model': 'scripted'} and result['backend'] == 'native'
    assert datetime.datetime.fromisoformat(result['timestamp']).tzinfo is not None
    assert result['settings']['limit'] == 5 and result['settings']['dataset_args'] == MMLU_ARGS
    mmlu = result['results']['mmlu']
    assert mmlu['scoring'] == 'loglikelihood' and mmlu['few_shot_num'] == 1
    assert set(mmlu['subsets']) == {'anatomy', 'virology'} and mmlu['subsets']['anatomy']['n'] == 5
    assert set(mmlu['categories']) == {'stem', 'other'}
    assert len(mmlu['data_sha256']) == 64 and mmlu['data_source'].endswith('mmlu')
    records = _lines(tmp_path / 'samples' / 'mmlu.jsonl')
    gold_b = sum(r['gold'] == 1 for r in records)
    assert mmlu['metrics']['acc'] == pytest.approx(gold_b / 10)  # the scripted model always answers B
    first = records[0]
    assert first['prompt'].startswith('The following are multiple choice questions (with answers) about anatomy.')
    assert first['prediction'] == 'B' and first['choices'] == [' A', ' B', ' C', ' D']
    assert first['correct'] == (first['gold'] == 1) and first['logliks'] == [-1.0, 0.0, -1.0, -1.0]
    table = format_table(result['results'])
    assert 'mmlu (loglikelihood, 1-shot)' in table and 'anatomy' in table and '[stem]' in table
