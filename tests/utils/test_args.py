"""Arguments parse the same way from flags, a YAML file and keywords; mistakes are clear errors."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import pytest

from swift.utils import SwiftError
from swift.utils.args import parse_args


@dataclass
class Base:
    model: Optional[str] = None
    ALIASES = {'model_id_or_path': 'model'}


@dataclass
class Args(Base):
    learning_rate: float = 1e-4
    max_steps: int = -1
    dataset: List[str] = field(default_factory=list)
    packing: bool = False
    columns: Dict[str, str] = field(default_factory=dict)
    tuner_type: str = 'lora'
    ALIASES = {'train_type': 'tuner_type'}


def test_flags_yaml_and_kwargs_agree(tmp_path):
    cfg = tmp_path / 'cfg.yaml'
    cfg.write_text('model: m\nlearning_rate: 2.0e-4\ndataset: [a, b]\npacking: true\nmax_steps: 10\n')
    from_flags = parse_args(Args, ['--model', 'm', '--learning_rate', '2e-4', '--dataset', 'a', 'b', '--packing',
                                   '--max_steps', '10'])
    from_yaml = parse_args(Args, [str(cfg)])
    from_kwargs = parse_args(Args, dict(model='m', learning_rate=2e-4, dataset=['a', 'b'], packing=True,
                                        max_steps=10))
    assert from_flags == from_yaml == from_kwargs


def test_flags_override_config_file(tmp_path):
    cfg = tmp_path / 'cfg.json'
    cfg.write_text('{"learning_rate": 0.5, "max_steps": 3}')
    args = parse_args(Args, [str(cfg), '--learning_rate', '1e-4'])
    assert args.learning_rate == 1e-4 and args.max_steps == 3


def test_unknown_key_suggests_the_closest(tmp_path):
    with pytest.raises(SwiftError, match='unknown argument --learnig_rate.*learning_rate'):
        parse_args(Args, ['--learnig_rate', '1'])
    cfg = tmp_path / 'c.yaml'
    cfg.write_text('lerning_rate: 1\n')
    with pytest.raises(SwiftError, match='learning_rate'):
        parse_args(Args, [str(cfg)])


def test_aliases_from_every_base_print_the_new_name(caplog):
    import logging
    logging.getLogger('swift').propagate = True
    try:
        with caplog.at_level('WARNING', logger='swift'):
            args = parse_args(Args, ['--train_type', 'full', '--model_id_or_path', 'x'])
    finally:
        logging.getLogger('swift').propagate = False
    assert args.tuner_type == 'full' and args.model == 'x'
    assert '--tuner_type' in caplog.text and '--model' in caplog.text


def test_bad_values_name_the_flag():
    with pytest.raises(SwiftError, match="--max_steps: expected a whole number, got 'ten'"):
        parse_args(Args, ['--max_steps', 'ten'])
    with pytest.raises(SwiftError, match='--packing: expected true or false'):
        parse_args(Args, ['--packing', 'maybe'])
    with pytest.raises(SwiftError, match='--columns: expected JSON'):
        parse_args(Args, ['--columns', '{bad'])
    with pytest.raises(SwiftError, match='--model takes one value'):
        parse_args(Args, ['--model', 'a', 'b'])


def test_json_and_scalar_conversions():
    args = parse_args(Args, ['--columns', '{"question": "query"}', '--max_steps=1e3', '--packing', 'false'])
    assert args.columns == {'question': 'query'} and args.max_steps == 1000 and args.packing is False


@dataclass
class Weights(Args):
    reward_weights: List[float] = field(default_factory=list)
    lora_rank: int = 8


@pytest.mark.parametrize('yaml_text, message', [
    ('lora_rank: 8.5\n', "--lora_rank: expected a whole number, got 8.5"),
    ('lora_rank: true\n', '--lora_rank: expected a whole number, got a boolean'),
    ('max_steps: 1e400\n', "--max_steps: expected a finite number, got '1e400'"),
    ('learning_rate: .nan\n', '--learning_rate: expected a finite number, got nan'),
    ('reward_weights: {a: 1}\n', '--reward_weights: expected a list, got a mapping'),
    ('model: [a, b]\n', '--model: expected a string, got a list'),
    ('columns: [a]\n', '--columns: expected a JSON object, got a list'),
    ('packing: maybe\n', '--packing: expected true or false'),
    ('1: x\n', "key 1 is not an argument name"),
    ('- just a list\n', 'must hold a mapping'),
    ('model: [unclosed\n', 'cannot parse config file'),
])
def test_bad_yaml_values_are_clear_errors(tmp_path, yaml_text, message):
    cfg = tmp_path / 'cfg.yaml'
    cfg.write_text(yaml_text)
    with pytest.raises(SwiftError) as error:
        parse_args(Weights, [str(cfg)])
    assert message in str(error.value)


def test_numbers_convert_exactly_or_not_at_all():
    assert parse_args(Weights, ['--max_steps', '1e3', '--lora_rank', '16.0']).max_steps == 1000
    assert parse_args(Weights, ['--max_steps', '12345678901234567890']).max_steps == 12345678901234567890
    with pytest.raises(SwiftError, match="--max_steps: expected a finite number, got '1e400'"):
        parse_args(Weights, ['--max_steps', '1e400'])
    with pytest.raises(SwiftError, match='--lora_rank: expected a whole number'):
        parse_args(Weights, {'lora_rank': 8.5})


def test_one_value_for_a_list_is_a_list_of_one_whichever_way_it_comes(tmp_path):
    cfg = tmp_path / 'cfg.yaml'
    cfg.write_text('reward_weights: 1.0\ndataset: data.jsonl\n')
    from_yaml = parse_args(Weights, [str(cfg)])
    from_flags = parse_args(Weights, ['--reward_weights', '1.0', '--dataset', 'data.jsonl'])
    from_kwargs = parse_args(Weights, reward_weights=1.0, dataset='data.jsonl')
    assert from_yaml == from_flags == from_kwargs and from_yaml.reward_weights == [1.0]


def test_every_unknown_flag_and_bad_value_is_reported_at_once():
    with pytest.raises(SwiftError) as error:
        parse_args(Weights, ['--lerning_rate', '1', '--max_step', '3', '--lora_rank', 'x', '--packing', 'maybe'])
    assert str(error.value).splitlines() == [
        'unknown argument --lerning_rate. Did you mean: learning_rate?',
        'unknown argument --max_step. Did you mean: max_steps?',
        "--lora_rank: expected a whole number, got 'x'",
        "--packing: expected true or false, got 'maybe'",
    ]


def test_a_non_string_keyword_is_refused():
    with pytest.raises(SwiftError, match='is not an argument name'):
        parse_args(Weights, {1: 'x'})


BILLION_LAUGHS = 'columns:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n' + ''.join(
    f'  a{i}: &a{i} [{", ".join([f"*a{i - 1}"] * 10)}]\n' for i in range(1, 9))


@pytest.mark.parametrize('yaml_text, message', [
    ('model: "hi \\ud800"\n', '--model holds a lone UTF-16 surrogate (\\ud800) at character 3'),
    ('dataset: [ok.jsonl, "b\\udfff.jsonl"]\n', '--dataset[1] holds a lone UTF-16 surrogate (\\udfff) at character 1'),
    ('columns: {"\\ud800": query}\n', '--columns.\\ud800 is a key that holds a lone UTF-16 surrogate'),
    ('columns: &x {a: *x}\n', '--columns: nested more than 32 levels deep, or contains itself'),
    ('columns: {a: .inf}\n', '--columns.a: expected a finite number, got inf'),
    (BILLION_LAUGHS, '--columns: more than 100,000 values'),
    (f'max_steps: {"9" * 5000}\n', 'cannot parse config file: Exceeds the limit (4300 digits)'),
    ('columns: ' + '[' * 5000 + ']' * 5000 + '\n', 'cannot parse config file'),
])
def test_crafted_yaml_values_are_clear_errors(tmp_path, yaml_text, message):
    """What printing or saving the arguments would crash on (or never finish) is refused while parsing."""
    cfg = tmp_path / 'cfg.yaml'
    cfg.write_text(yaml_text)
    with pytest.raises(SwiftError) as error:
        parse_args(Weights, [str(cfg)])
    assert message in str(error.value)
    str(error.value).encode('utf-8')  # the message itself prints anywhere: no surrogate in it


def test_flag_bytes_that_are_not_utf8_are_a_clear_error():
    # Python decodes such argv bytes to lone surrogates (surrogateescape); printing them fails later
    with pytest.raises(SwiftError, match=r'--model holds a lone UTF-16 surrogate \(\\udcff\) at character 1'):
        parse_args(Weights, ['--model', 'x\udcff'])
    with pytest.raises(SwiftError, match='--columns.a: expected a finite number, got nan'):
        parse_args(Weights, {'columns': {'a': float('nan')}})
