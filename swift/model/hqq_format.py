"""HQQ through hqq's own API: transformers 5.x cannot make or load HQQ models (its HqqConfig path raises
NotImplementedError, checked with transformers 5.25 and hqq 0.2.8.post1).

- Directories in hqq's own format (`swift export --quant_method hqq`: config.json + qmodel.pt) load with hqq's
  AutoHQQHFModel.from_quantized (from_pretrained would find no weights there).
- `swift sft --quant_method hqq` (QLoRA on HQQ weights) loads the model as usual and replaces its Linear layers by
  HQQLinear in place (`HqqQuantization`, what build_quantization_config returns for hqq); peft wraps HQQLinear
  with its own LoRA layer (peft.tuners.lora.hqq).
"""
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from swift.utils import SwiftError

WEIGHT_FILE = 'qmodel.pt'  # hqq's BaseHQQModel.get_weight_file
INSTALL = 'DISABLE_CUDA=1 pip install --no-deps "swift-llm[hqq]" (its setup builds CUDA kernels unless DISABLE_CUDA=1)'


def require_hqq(what: str) -> None:
    if importlib.util.find_spec('hqq') is None:
        raise SwiftError(f'{what} needs the hqq package: {INSTALL}')


@dataclass(frozen=True)
class HqqQuantization:
    """The loader's quantization_config for HQQ: applied to the loaded model (hqq quantizes in place)."""
    bits: int
    group_size: int = 64  # hqq's BaseQuantizeConfig default
    axis: int = 1  # hqq's BaseQuantizeConfig default: groups of consecutive inputs of one output row


def quantize_with_hqq(model, bits: int, group_size: int, axis: int = 1, compute_dtype=None):
    """Replace every Linear layer but the output head by HQQLinear in place, on the model's device, computing in
    `compute_dtype` (default float32)."""
    import torch
    require_hqq('--quant_method hqq')
    from hqq.core.quantize import BaseQuantizeConfig
    from hqq.models.hf.base import AutoHQQHFModel
    device = str(next(model.parameters()).device)
    config = BaseQuantizeConfig(nbits=bits, group_size=group_size, axis=axis)
    AutoHQQHFModel.quantize_model(model, quant_config=config, compute_dtype=compute_dtype or torch.float32,
                                  device=device)
    return model


def has_hqq_layers(model) -> bool:
    """The model's Linear layers were replaced by hqq's HQQLinear (--quant_method hqq, or an HQQ directory)."""
    return any(type(module).__name__ == 'HQQLinear' for module in model.modules())


def is_hqq_dir(model_dir) -> bool:
    return (Path(model_dir) / WEIGHT_FILE).is_file() and (Path(model_dir) / 'config.json').is_file()


def load_hqq_model(model_dir, dtype=None, device: str = 'cpu', **kwargs):
    """The model with its HQQLinear layers, on `device`, computing in `dtype` (float32 when None), eval mode, with
    the directory's generation_config.json. kwargs: attn_implementation only (what hqq's loader passes on)."""
    import torch
    require_hqq(f'{model_dir} (an HQQ directory)')
    from hqq.models.hf.base import AutoHQQHFModel
    from transformers import GenerationConfig
    extra = {key: kwargs[key] for key in ('attn_implementation', ) if kwargs.get(key)}
    model = AutoHQQHFModel.from_quantized(str(model_dir), device=device, compute_dtype=dtype or torch.float32,
                                          **extra)
    if (Path(model_dir) / 'generation_config.json').is_file():
        model.generation_config = GenerationConfig.from_pretrained(str(model_dir))
    return model.eval()  # training (LoRA through peft's HQQ layer) switches it back
