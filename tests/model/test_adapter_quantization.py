"""Which quantization config a checkpoint loads with (swift/model/loader.py): compressed-tensors dequantized
for adapters (peft cannot wrap packed weights) and for asymmetric int weights (packed zero points);
GPTQModel/AutoAWQ formats need GPTQModel for adapters.
(The training run on an exported GPTQ directory is in tests/export/test_quantize.py.)"""
import importlib.util
import json

import pytest

from swift.model.loader import checkpoint_quantization_config
from swift.utils import SwiftError


def _model_dir(tmp_path, quantization=None):
    config = {'model_type': 'llama'}
    if quantization:
        config['quantization_config'] = quantization
    (tmp_path / 'config.json').write_text(json.dumps(config))
    return tmp_path


def test_plain_and_bnb_directories_load_as_they_are(tmp_path):
    assert checkpoint_quantization_config(_model_dir(tmp_path), True) is None
    assert checkpoint_quantization_config(_model_dir(tmp_path, {'quant_method': 'bitsandbytes'}), True) is None
    assert checkpoint_quantization_config(tmp_path / 'missing', True) is None


def test_compressed_tensors_directories_are_dequantized(tmp_path):
    config = checkpoint_quantization_config(_model_dir(tmp_path, {'quant_method': 'compressed-tensors'}), True)
    assert type(config).__name__ == 'CompressedTensorsConfig' and config.dequantize
    # serving without adapters: compressed layers, except asymmetric int4 (packed zero points)
    groups = {'group_0': {'weights': {'num_bits': 4, 'type': 'int', 'symmetric': True}}}
    assert checkpoint_quantization_config(_model_dir(tmp_path, {'quant_method': 'compressed-tensors',
                                                                'config_groups': groups})) is None
    groups['group_0']['weights']['symmetric'] = False
    assert checkpoint_quantization_config(_model_dir(tmp_path, {'quant_method': 'compressed-tensors',
                                                                'config_groups': groups})).dequantize


@pytest.mark.skipif(importlib.util.find_spec('gptqmodel') is not None, reason='GPTQModel is installed here')
@pytest.mark.parametrize('method', ['gptq', 'awq'])
def test_gptqmodel_formats_say_what_they_need(tmp_path, method):
    with pytest.raises(SwiftError, match=rf'{method.upper()} checkpoint in GPTQModel/AutoAWQ format.*'
                                         rf'pip install gptqmodel.*--quant_method {method} \(compressed-tensors'):
        checkpoint_quantization_config(_model_dir(tmp_path, {'quant_method': method}), True)
