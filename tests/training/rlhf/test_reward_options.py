"""ms-swift's GRPO reward options: --scale_rewards group|batch|none (TRL's), several --reward_model."""
import pytest
import torch

from swift.arguments import RLHFArguments
from swift.training.rlhf import losses
from swift.utils import SwiftError
from swift.utils.args import parse_args

BASE = ['--rlhf_type', 'grpo', '--model', 'm', '--dataset', 'd.jsonl', '--reward_funcs', 'format']


@pytest.mark.parametrize('value, expected', [('group', 'group'), ('batch', 'batch'), ('none', 'none'),
                                             ('true', 'group'), ('false', 'none')])
def test_scale_rewards_names_and_booleans(value, expected):
    assert parse_args(RLHFArguments, BASE + ['--scale_rewards', value]).scale_rewards == expected


def test_scale_rewards_refuses_other_values():
    with pytest.raises(SwiftError, match='--scale_rewards must be one of group, batch, none'):
        parse_args(RLHFArguments, BASE + ['--scale_rewards', 'gdpo'])


def test_advantages_scaled_as_trl_does():
    """TRL: advantages = r - group mean; divided by the group's std ('group'), the batch's std ('batch') or not
    at all ('none'), each + 1e-4."""
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.5, 2.0, 2.0, 3.0, 1.0])
    centred = rewards - rewards.view(-1, 4).mean(1).repeat_interleave(4)
    torch.testing.assert_close(losses.group_advantages(rewards, 4, 'none'), centred)
    torch.testing.assert_close(losses.group_advantages(rewards, 4, 'batch'), centred / (rewards.std() + 1e-4))
    torch.testing.assert_close(losses.group_advantages(rewards, 4, 'group'),
                               centred / (rewards.view(-1, 4).std(1).repeat_interleave(4) + 1e-4))


def test_several_reward_models():
    args = parse_args(RLHFArguments, BASE + ['--reward_model', 'rm1', 'rm2', '--reward_weights', '1', '0.5', '0.5'])
    assert args.reward_model == ['rm1', 'rm2']
    with pytest.raises(SwiftError, match='--reward_weights has 2 values for 3 rewards'):
        parse_args(RLHFArguments, BASE + ['--reward_model', 'rm1', 'rm2', '--reward_weights', '1', '1'])
    with pytest.raises(SwiftError, match='--reward_adapters applies to one --reward_model'):
        parse_args(RLHFArguments, BASE + ['--reward_model', 'rm1', 'rm2', '--reward_adapters', 'a'])
    with pytest.raises(SwiftError, match='PPO needs one --reward_model'):
        parse_args(RLHFArguments, ['--rlhf_type', 'ppo', '--model', 'm', '--dataset', 'd', '--reward_model', 'a', 'b'])
    assert parse_args(RLHFArguments, ['--rlhf_type', 'ppo', '--model', 'm', '--dataset', 'd', '--reward_model',
                                      'a']).reward_model == ['a']
