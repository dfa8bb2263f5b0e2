"""GRPO reward functions: the built-in rules and plugins."""
import pytest

from swift.training.rlhf import rewards
from swift.utils import SwiftError


def test_accuracy_compares_answers_as_numbers_or_text():
    completions = ['<answer>12</answer>', 'so the total is 1,200.', '<answer> Paris </answer>', 'I think 7', 'none']
    solutions = ['12.0', 'The answer is #### 1200', 'paris', '<answer>8</answer>', None]
    assert rewards.accuracy(completions, solution=solutions) == [1.0, 1.0, 1.0, 0.0, None]
    with pytest.raises(SwiftError, match='"solution" column'):
        rewards.accuracy(['1'])


def test_format_wants_answer_tags_optionally_after_thinking():
    assert rewards.format_reward(['<answer>3</answer>', '<think>1+2</think>\n<answer>3</answer>\n', '3',
                                  'The answer: <answer>3</answer>', '<answer>3</answer> done']) == [1, 1, 0, 0, 0]


def test_length_is_dapo_soft_overlong_penalty():
    scores = rewards.soft_overlong(['a'] * 4, completion_lengths=[10, 30, 35, 40], max_completion_length=40)
    assert scores == [0.0, 0.0, -0.5, -1.0]


def test_repetition_penalises_repeated_ngrams():
    fresh, looped = rewards.repetition(['one two three four five', 'a b c a b c a b c a b c'])
    assert fresh == 0.0 and -1 < looped < -0.5


def test_unknown_reward_and_plugins(tmp_path):
    with pytest.raises(SwiftError, match='Did you mean: format'):
        rewards.get_reward_functions(['formatt'])
    plugin = tmp_path / 'my_rewards.py'
    plugin.write_text('from swift.training.rlhf import register_reward_function\n\n'
                      '@register_reward_function("polite")\n'
                      'def polite(completions, **kwargs):\n'
                      '    return [1.0 if "please" in c else 0.0 for c in completions]\n')
    from swift.arguments import RLHFArguments
    from swift.training.checks import check_train_args
    from swift.utils.args import parse_args
    args = {'model': 'm', 'dataset': ['d'], 'rlhf_type': 'grpo', 'reward_funcs': ['polite']}
    with pytest.raises(SwiftError, match="unknown reward function 'polite'"):  # the check a run makes first
        check_train_args(parse_args(RLHFArguments, args))
    check_train_args(parse_args(RLHFArguments, {**args, 'external_plugins': [str(plugin)]}))  # loads the plugin
    (name, polite), = rewards.get_reward_functions(['polite'])
    assert name == 'polite' and polite(['please', 'no']) == [1.0, 0.0]
    rewards.REWARD_FUNCTIONS.pop('polite')
