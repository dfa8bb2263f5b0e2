"""Hardware detection: the device swift picks and the dtype 'auto' means there."""
import pytest
import torch

from swift.utils.device import detect_device, resolve_dtype
from swift.utils.errors import SwiftError


def test_this_machine_is_cpu_and_auto_is_float32():
    assert detect_device() == 'cpu'
    assert resolve_dtype('auto') is torch.float32 and resolve_dtype(None) is torch.float32


def test_cuda_is_preferred_and_auto_follows_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert detect_device() == 'cuda'
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert resolve_dtype('auto') is torch.bfloat16
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)  # e.g. a V100 or T4
    assert resolve_dtype('auto') is torch.float16


@pytest.mark.parametrize('device,dtype', [('npu', torch.bfloat16), ('mps', torch.float16), ('cpu', torch.float32)])
def test_auto_dtype_per_device(device, dtype):
    assert resolve_dtype('auto', device=device) is dtype


def test_mps_is_chosen_on_apple_when_there_is_no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: True)
    assert detect_device() == 'mps'


def test_explicit_dtypes_and_a_typo():
    assert resolve_dtype('bf16') is torch.bfloat16 and resolve_dtype('float16') is torch.float16
    assert resolve_dtype(torch.float32) is torch.float32
    with pytest.raises(SwiftError, match='bfloat16'):
        resolve_dtype('bfloat61')


def test_the_loader_places_the_model_on_the_detected_device(tiny_model_dir, monkeypatch):
    import transformers
    from swift.model import loader
    seen = {}

    def spy(path, **kwargs):
        seen.update(kwargs)
        return original(path, **{k: v for k, v in kwargs.items() if k != 'device_map'})

    original = transformers.AutoModelForCausalLM.from_pretrained
    monkeypatch.setattr(transformers.AutoModelForCausalLM, 'from_pretrained', spy)
    monkeypatch.setattr(loader, 'detect_device', lambda: 'cuda')  # as the loader calls it
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    loader.get_model_tokenizer(str(tiny_model_dir))
    assert seen['device_map'] == 'cuda' and seen['dtype'] is torch.bfloat16
