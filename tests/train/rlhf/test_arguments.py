"""`swift rlhf` arguments: per-algorithm defaults, checks with clear messages, YAML, CLI help."""
import pytest

from swift.cli.main import main as cli_main
from swift.train.rlhf.arguments import RLHFArguments
from swift.utils import SwiftError
from swift.utils.args import parse_args

BASE = {'model': 'some-model', 'dataset': ['data.jsonl']}


def parse(**kwargs):
    return parse_args(RLHFArguments, {**BASE, **kwargs})


@pytest.mark.parametrize('rlhf_type,beta,loss_type', [('dpo', 0.1, ['sigmoid']), ('simpo', 2.0, ['simpo']),
                                                      ('kto', 0.1, ['kto']), ('cpo', 0.1, ['sigmoid']),
                                                      ('orpo', 0.1, []), ('rm', 0.1, [])])
def test_defaults_depend_on_the_algorithm(rlhf_type, beta, loss_type):
    args = parse(rlhf_type=rlhf_type)
    assert args.beta == beta and args.loss_type == loss_type
    assert args.loss_scale == 'last_round'
    assert args.cpo_alpha == (1.0 if rlhf_type == 'cpo' else 0.0)


def test_online_defaults_and_requirements():
    assert parse(rlhf_type='grpo', reward_funcs=['accuracy']).beta == 0.04
    with pytest.raises(SwiftError, match='GRPO needs rewards'):
        parse(rlhf_type='grpo')
    with pytest.raises(SwiftError, match='PPO needs --reward_model'):
        parse(rlhf_type='ppo')
    with pytest.raises(SwiftError, match='num_generations must be 2'):
        parse(rlhf_type='grpo', reward_funcs=['format'], num_generations=1)
    with pytest.raises(SwiftError, match='--reward_weights has 1 values for 2 rewards'):
        parse(rlhf_type='grpo', reward_funcs=['format', 'accuracy'], reward_weights=[1.0])


def test_bad_values_name_the_flag_and_suggest():
    with pytest.raises(SwiftError, match="--rlhf_type must be one of .*Did you mean: dpo"):
        parse(rlhf_type='dpoo')
    with pytest.raises(SwiftError, match="--loss_type 'sigmod' is not a dpo loss.*Did you mean: sigmoid"):
        parse(loss_type=['sigmod'])
    with pytest.raises(SwiftError, match='2 --loss_type values'):
        parse(loss_type=['sigmoid', 'hinge'], loss_weights=[1.0])
    with pytest.raises(SwiftError, match='only DPO mixes'):
        parse(rlhf_type='cpo', loss_type=['sigmoid', 'hinge'])
    with pytest.raises(SwiftError, match='--reference_free applies to DPO only'):
        parse(rlhf_type='simpo', reference_free=True)
    with pytest.raises(SwiftError, match='orpo uses no reference model'):
        parse(rlhf_type='orpo', ref_model='x')
    with pytest.raises(SwiftError, match='precompute'):
        parse(rlhf_type='grpo', reward_funcs=['format'], precompute_ref_log_probs=True)
    with pytest.raises(SwiftError, match='label_smoothing'):
        parse(label_smoothing=0.5)


def test_dpo_loss_mix_and_flags_from_the_command_line():
    args = parse_args(RLHFArguments, ['--model', 'm', '--dataset', 'd.jsonl', '--loss_type', 'sigmoid', 'bco_pair',
                                      '--loss_weights', '0.8', '0.2', '--rpo_alpha', '1', '--kl_coef', '0.3'])
    assert args.loss_type == ['sigmoid', 'bco_pair'] and args.loss_weights == [0.8, 0.2]
    assert args.rpo_alpha == 1.0 and args.beta == 0.3


def test_yaml_config(tmp_path):
    config = tmp_path / 'dpo.yaml'
    config.write_text('rlhf_type: dpo\nbeta: 0.1\nreference_free: false\nloss_type: sigmoid\nmodel: m\n'
                      'dataset: [pairs.jsonl]\n')
    args = parse_args(RLHFArguments, [str(config), '--beta', '0.2'])
    assert args.rlhf_type == 'dpo' and args.beta == 0.2 and args.loss_type == ['sigmoid']
    assert args.reference_free is False


def test_cli_help_and_errors(capsys):
    assert cli_main(['rlhf', '--help']) == 0
    text = capsys.readouterr().out
    for flag in ('--rlhf_type', '--beta', '--loss_type', '--rpo_alpha', '--ref_model', '--reward_funcs',
                 '--num_generations', '--use_vllm', '--lora_rank', '--dataset'):
        assert flag in text, flag
    assert cli_main(['rlhf', '--model', 'm', '--dataset', 'd.jsonl', '--rlhf_type', 'ppoo']) == 1
    assert "Did you mean: ppo" in capsys.readouterr().err
