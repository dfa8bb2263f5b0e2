"""Which quantization config a checkpoint loads with when LoRA adapters go on top (swift/model/loader.py):
compressed-tensors dequantized (peft cannot wrap packed weights), GPTQModel/AutoAWQ formats need GPTQModel.
(The training run on an exported GPTQ directory is in tests/export/test_quantize.py.)"""
import importlib.util
import json

import pytest

from swift.model.loader import adapter_quantization_config
from swift.utils import SwiftError


def _model_dir(tmp_path, quantization=None):
    config = {'model_type': 'llama'}
    if quantization:
        config['quantization_config'] = quantization
    (tmp_path / 'config.json').write_text(json.dumps(config))
    return tmp_path


def test_plain_and_bnb_directories_load_as_they_are(tmp_path):
    assert adapter_quantization_config(_model_dir(tmp_path), 'cpu') is None
    assert adapter_quantization_config(_model_dir(tmp_path, {'quant_method': 'bitsandbytes'}), 'cpu') is None
    assert adapter_quantization_config(tmp_path / 'missing', 'cpu') is None


def test_compressed_tensors_directories_are_dequantized(tmp_path):
    config = adapter_quantization_config(_model_dir(tmp_path, {'quant_method': 'compressed-tensors'}), 'cpu')
    assert type(config).__name__ == 'CompressedTensorsConfig' and config.dequantize


@pytest.mark.skipif(importlib.util.find_spec('gptqmodel') is not None, reason='GPTQModel is installed here')
@pytest.mark.parametrize('method', ['gptq', 'awq'])
def test_gptqmodel_formats_say_what_they_need(tmp_path, method):
    with pytest.raises(SwiftError, match=rf'{method.upper()} checkpoint in GPTQModel/AutoAWQ format.*'
                                         rf'pip install gptqmodel.*--quant_method {method} \(compressed-tensors'):
        adapter_quantization_config(_model_dir(tmp_path, {'quant_method': method}), 'cpu')
