"""--device_map and --max_memory (ms-swift's model-loading flags) reach from_pretrained: values as JSON, inline or in
a file, device indexes as integers; refused where nothing would use them."""
import json

import pytest

from swift.arguments import InferArguments, SftArguments
from swift.model.loader import get_model_tokenizer
from swift.utils import SwiftError
from swift.utils.args import parse_args


def _kwargs(argv):
    return parse_args(SftArguments, ['--model', 'm', '--dataset', 'd.jsonl'] + argv).load_kwargs()


def test_values_are_parsed_as_from_pretrained_takes_them(tmp_path):
    assert _kwargs(['--device_map', 'auto'])['device_map'] == 'auto'
    assert 'device_map' not in _kwargs([]) and 'model_kwargs' not in _kwargs([])
    spread = _kwargs(['--device_map', 'sequential', '--max_memory', '{"0": "20GB", "cpu": "60GB"}'])
    assert spread['model_kwargs'] == {'max_memory': {0: '20GB', 'cpu': '60GB'}}
    path = tmp_path / 'map.json'
    path.write_text(json.dumps({'model.embed_tokens': 0, 'lm_head': 'cpu'}))
    assert _kwargs(['--device_map', str(path)])['device_map'] == {'model.embed_tokens': 0, 'lm_head': 'cpu'}
    with pytest.raises(SwiftError, match='--max_memory applies with --device_map auto'):
        _kwargs(['--device_map', 'cpu', '--max_memory', '{"cpu": "1GB"}'])
    with pytest.raises(SwiftError, match='--max_memory .*not a JSON object'):
        _kwargs(['--device_map', 'auto', '--max_memory', '{cpu: 1GB}'])
    with pytest.raises(SwiftError, match='options of the transformers backend'):
        from swift.infer.checks import check_infer_args
        check_infer_args(parse_args(InferArguments, ['--model', 'm', '--infer_backend', 'vllm', '--device_map',
                                                     'auto']))


def test_they_reach_from_pretrained(tiny_model_dir):
    model, _ = get_model_tokenizer(str(tiny_model_dir), **_kwargs(['--device_map', 'cpu', '--torch_dtype', 'float32']))
    assert {p.device.type for p in model.parameters()} == {'cpu'}
    # a cpu budget of 1000 bytes: accelerate's auto map offloads everything to disk, so the budget was read
    model, _ = get_model_tokenizer(str(tiny_model_dir), **_kwargs(['--device_map', 'auto', '--max_memory',
                                                                    '{"cpu": 1000}', '--torch_dtype', 'float32']))
    assert model.hf_device_map == {'': 'disk'}
