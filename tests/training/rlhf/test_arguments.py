"""`swift rlhf` arguments: one class per algorithm with exactly its own flags and defaults, clear refusals, YAML,
CLI help."""
import dataclasses

import pytest

from swift.arguments import (RLHF_ARGUMENT_CLASSES, DPOArguments, GRPOArguments, KTOArguments, PPOArguments,
                             RLHFArguments, SftArguments, SimPOArguments)
from swift.cli.main import main as cli_main
from swift.utils import SwiftError
from swift.utils.args import parse_args

BASE = {'model': 'some-model', 'dataset': ['data.jsonl']}


def parse(**kwargs):
    return parse_args(RLHFArguments, {**BASE, **kwargs})


def fields(cls):
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize('rlhf_type,beta,loss_type', [('dpo', 0.1, ['sigmoid']), ('simpo', 2.0, None),
                                                      ('kto', 0.1, ['kto']), ('cpo', 0.1, ['sigmoid']),
                                                      ('orpo', 0.1, None), ('rm', None, None)])
def test_each_algorithm_has_its_own_class_and_defaults(rlhf_type, beta, loss_type):
    args = parse(rlhf_type=rlhf_type)
    assert type(args) is RLHF_ARGUMENT_CLASSES[rlhf_type] and args.rlhf_type == rlhf_type
    assert getattr(args, 'beta', None) == beta and getattr(args, 'loss_type', None) == loss_type
    assert args.loss_scale == 'last_round'
    if rlhf_type in ('cpo', 'simpo'):
        assert args.cpo_alpha == (1.0 if rlhf_type == 'cpo' else 0.0)


def test_a_class_holds_exactly_its_algorithms_flags():
    shared = fields(RLHF_ARGUMENT_CLASSES['orpo']) - {'beta'}
    assert fields(DPOArguments) - shared == {'beta', 'loss_type', 'loss_weights', 'rpo_alpha', 'label_smoothing',
                                             'reference_free', 'precompute_ref_log_probs', 'ref_model', 'ref_adapters'}
    assert 'vf_coef' in fields(PPOArguments) and 'vf_coef' not in fields(GRPOArguments) | fields(DPOArguments)
    assert 'num_generations' in fields(GRPOArguments) and 'temperature' not in fields(DPOArguments)
    assert not {'packing', 'padding_free', 'chunked_loss'} & fields(DPOArguments)  # sft's own
    # the training flags they share are the same fields, with the same defaults as swift sft's
    common = fields(SftArguments) & fields(DPOArguments)
    sft, dpo = SftArguments(**BASE), DPOArguments(**BASE)
    assert {'learning_rate', 'lora_rank', 'max_steps', 'eval_benchmarks', 'save_total_limit'} <= common
    assert {name: getattr(sft, name) for name in common - {'loss_scale'}} == {
        name: getattr(dpo, name) for name in common - {'loss_scale'}}


def test_another_algorithms_flag_is_refused_with_its_owner():
    with pytest.raises(SwiftError, match=r'^--vf_coef is a PPO option; this run is dpo$'):
        parse(rlhf_type='dpo', vf_coef=0.1)
    with pytest.raises(SwiftError, match='--num_generations is a GRPO option; this run is ppo'):
        parse(rlhf_type='ppo', reward_model='rm', num_generations=4)
    with pytest.raises(SwiftError, match='--beta is a DPO/ORPO/SimPO/CPO/KTO/PPO/GRPO/GKD option; this run is rm'
                       .replace('SimPO', 'SIMPO')):
        parse(rlhf_type='rm', beta=0.1)
    with pytest.raises(SwiftError, match='--packing is an option of swift sft, pt, not of swift rlhf'):
        parse(packing=True)
    # every unknown key at once, each with its reason
    with pytest.raises(SwiftError) as error:
        parse_args(RLHFArguments, ['--model', 'm', '--dataset', 'd', '--vf_coef', '1', '--lora_rnk', '4',
                                   '--lora_rank', '8.5'])
    lines = str(error.value).splitlines()
    assert lines == ['--vf_coef is a PPO option; this run is dpo',
                     'unknown argument --lora_rnk. Did you mean: lora_rank?',
                     "--lora_rank: expected a whole number, got '8.5'"]


def test_constructing_the_common_class_gives_the_algorithms_class():
    args = RLHFArguments(rlhf_type='kto', **BASE)
    assert type(args) is KTOArguments and args.desirable_weight == 1.0
    assert type(RLHFArguments(**BASE)) is DPOArguments
    with pytest.raises(SwiftError, match='--vf_coef is a PPO option; this run is kto'):
        RLHFArguments(rlhf_type='kto', vf_coef=0.1, **BASE)
    with pytest.raises(SwiftError, match='DPOArguments is for --rlhf_type dpo'):
        DPOArguments(rlhf_type='kto', **BASE)


def test_online_defaults_and_requirements():
    args = parse(rlhf_type='grpo', reward_funcs=['accuracy'])
    assert args.beta == 0.04 and args.temperature == 0.9 and args.max_new_tokens == 512 and args.uses_reference
    assert not parse(rlhf_type='grpo', reward_funcs=['accuracy'], beta=0.0).uses_reference
    # GRPO's ms-swift name for the completion length is an alias of the one name, max_new_tokens
    assert parse(rlhf_type='grpo', reward_funcs=['accuracy'], max_completion_length=64).max_new_tokens == 64
    with pytest.raises(SwiftError, match='GRPO needs rewards'):
        parse(rlhf_type='grpo')
    with pytest.raises(SwiftError, match='PPO needs one --reward_model'):
        parse(rlhf_type='ppo')
    with pytest.raises(SwiftError, match='num_generations must be 2'):
        parse(rlhf_type='grpo', reward_funcs=['format'], num_generations=1)
    with pytest.raises(SwiftError, match='--reward_weights has 1 values for 2 rewards'):
        parse(rlhf_type='grpo', reward_funcs=['format', 'accuracy'], reward_weights=[1.0])


def test_bad_values_name_the_flag_and_suggest():
    with pytest.raises(SwiftError, match="--rlhf_type must be one of .*Did you mean: dpo"):
        parse(rlhf_type='dpoo')
    with pytest.raises(SwiftError, match="--loss_type must be one of sigmoid, .*not 'sigmod'.*Did you mean: sigmoid"):
        parse(loss_type=['sigmod'])
    with pytest.raises(SwiftError, match='2 --loss_type values'):
        parse(loss_type=['sigmoid', 'hinge'], loss_weights=[1.0])
    with pytest.raises(SwiftError, match='only DPO mixes'):
        parse(rlhf_type='cpo', loss_type=['sigmoid', 'hinge'])
    with pytest.raises(SwiftError, match='--reference_free is a DPO option; this run is simpo'):
        parse(rlhf_type='simpo', reference_free=True)
    with pytest.raises(SwiftError, match='--ref_model is a DPO/KTO/PPO/GRPO option; this run is orpo'):
        parse(rlhf_type='orpo', ref_model='x')
    with pytest.raises(SwiftError, match='--precompute_ref_log_probs is a DPO/KTO option; this run is grpo'):
        parse(rlhf_type='grpo', reward_funcs=['format'], precompute_ref_log_probs=True)
    with pytest.raises(SwiftError, match='label_smoothing'):
        parse(label_smoothing=0.5)
    with pytest.raises(SwiftError, match='--reference_free uses no reference model'):
        parse(reference_free=True, ref_model='x')


def test_dpo_loss_mix_and_flags_from_the_command_line():
    args = parse_args(RLHFArguments, ['--model', 'm', '--dataset', 'd.jsonl', '--loss_type', 'sigmoid', 'bco_pair',
                                      '--loss_weights', '0.8', '0.2', '--rpo_alpha', '1', '--kl_coef', '0.3'])
    assert args.loss_type == ['sigmoid', 'bco_pair'] and args.loss_weights == [0.8, 0.2]
    assert args.rpo_alpha == 1.0 and args.beta == 0.3


def test_yaml_config(tmp_path):
    config = tmp_path / 'dpo.yaml'
    config.write_text('rlhf_type: simpo\nbeta: 2.5\nsimpo_gamma: 0.5\nmodel: m\ndataset: [pairs.jsonl]\n')
    args = parse_args(RLHFArguments, [str(config), '--beta', '3'])
    assert type(args) is SimPOArguments and args.beta == 3.0 and args.simpo_gamma == 0.5
    config.write_text('rlhf_type: dpo\nmodel: m\ndataset: [pairs.jsonl]\n')
    assert type(parse_args(RLHFArguments, [str(config), '--rlhf_type', 'kto'])).__name__ == 'KTOArguments'


def test_cli_help_and_errors(capsys):
    assert cli_main(['rlhf', '--help']) == 0
    text = capsys.readouterr().out
    for flag in ('--rlhf_type', '--beta', '--loss_type', '--rpo_alpha', '--ref_model', '--lora_rank', '--dataset'):
        assert flag in text, flag
    assert '--rlhf_type <type> --help' in text and '--num_generations' not in text
    assert cli_main(['rlhf', '--rlhf_type', 'grpo', '--help']) == 0
    text = capsys.readouterr().out
    for flag in ('--num_generations', '--reward_funcs', '--use_vllm', '--temperature', '--max_new_tokens'):
        assert flag in text, flag
    assert '--rpo_alpha' not in text and '--max_completion_length → --max_new_tokens' in text
    assert cli_main(['rlhf', '--model', 'm', '--dataset', 'd.jsonl', '--rlhf_type', 'ppoo']) == 1
    assert "Did you mean: ppo" in capsys.readouterr().err
