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
    with pytest.raises(SwiftError, match='--max_steps: expected int'):
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
