"""`swift sample` on the tiny model: several answers per prompt, scored by a reward function, the n best kept and
written as rows that `swift sft` then trains on; distill keeps answers unscored; bad flags are refused."""
import json

import pytest

from swift.cli.main import main as swift_main
from swift.training.rlhf.rewards import register_reward_function
from swift.utils import SwiftError

SEEN = []


def longest(completions, **kwargs):
    """Longer answers score higher; records every answer it is shown."""
    SEEN.extend(zip(kwargs['solution'], completions))
    return [float(len(c)) for c in completions]


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / 'prompts.jsonl'
    path.write_text(''.join(json.dumps({'messages': [{'role': 'user', 'content': f'Count to {i}.'},
                                                     {'role': 'assistant', 'content': f'{i}'}]}) + '\n'
                            for i in range(3)))
    return path


def test_sample_keeps_the_n_best_answers_and_sft_trains_on_them(tiny_model_dir, prompts, tmp_path, capsys):
    register_reward_function('test_longest', longest)
    SEEN.clear()
    out = tmp_path / 'sampled'
    assert swift_main(['sample', '--model', str(tiny_model_dir), '--template', 'smollm2', '--dataset', str(prompts),
                       '--num_return_sequences', '4', '--n_best_to_keep', '2', '--orm_model', 'test_longest',
                       '--max_new_tokens', '6', '--output_dir', str(out), '--seed', '3']) == 0
    rows = [json.loads(line) for line in (out / 'sample.jsonl').read_text().splitlines()]
    assert len(SEEN) == 12 and len(rows) <= 6
    for solution in ('0', '1', '2'):
        kept = [r for r in rows if r['solution'] == solution]
        answers = sorted({text for s, text in SEEN if s == solution and text.strip()}, key=len, reverse=True)
        assert 1 <= len(kept) <= 2
        assert [len(r['messages'][-1]['content']) for r in kept] == [len(a) for a in answers[:len(kept)]]
        for row in kept:
            assert row['messages'][0] == {'role': 'user', 'content': f'Count to {solution}.'}
            assert row['messages'][-1]['role'] == 'assistant'
            assert row['reward'] == float(len(row['messages'][-1]['content']))
    assert 'sample.jsonl' in capsys.readouterr().out

    from swift.training.sft import sft_main
    result = sft_main(model=str(tiny_model_dir), template='smollm2', dataset=[str(out / 'sample.jsonl')],
                      output_dir=str(tmp_path / 'sft'), add_version=False, max_steps=1, save_steps=100,
                      per_device_train_batch_size=2, report_to=['none'])
    assert result.last_checkpoint and result.last_checkpoint.endswith('checkpoint-1')


def test_distill_keeps_unscored_answers(tiny_model_dir, prompts, tmp_path):
    from swift.training.sample import sample_main
    result = sample_main(model=str(tiny_model_dir), template='smollm2', dataset=[str(prompts)],
                         sampler_type='distill', num_return_sequences=1, n_best_to_keep=1, max_new_tokens=4,
                         output_dir=str(tmp_path), seed=5)
    rows = [json.loads(line) for line in open(result.output_path)]
    assert result.output_path.endswith('distill.jsonl') and result.sampled == 3
    assert len(rows) == result.kept and all('reward' not in r and r['messages'][-1]['role'] == 'assistant'
                                            for r in rows)


def test_sample_flags_are_checked(capsys):
    from swift.arguments import SampleArguments
    from swift.utils.args import parse_args
    with pytest.raises(SwiftError, match='needs a score'):
        parse_args(SampleArguments, ['--model', 'm', '--dataset', 'd'])
    with pytest.raises(SwiftError, match='more than --num_return_sequences'):
        parse_args(SampleArguments, ['--model', 'm', '--dataset', 'd', '--orm_model', 'accuracy',
                                     '--num_return_sequences', '2', '--n_best_to_keep', '3'])
    with pytest.raises(SwiftError, match='sampler_type'):
        parse_args(SampleArguments, ['--model', 'm', '--dataset', 'd', '--sampler_type', 'mcts'])
    assert swift_main(['sample', '--model', 'm', '--dataset', 'd', '--reward_funcs', 'nope', '--check_args']) == 1
    assert 'nope' in capsys.readouterr().err
