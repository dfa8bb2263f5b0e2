"""Directories in hqq's own format (`swift export --quant_method hqq`: config.json + qmodel.pt), loaded with hqq's
AutoHQQHFModel.from_quantized: transformers 5.x cannot load HQQ (its HqqConfig path raises NotImplementedError,
checked with transformers 5.25 and hqq 0.2.8.post1), and from_pretrained would find no weights there."""
import importlib.util
from pathlib import Path

from swift.utils import SwiftError

WEIGHT_FILE = 'qmodel.pt'  # hqq's BaseHQQModel.get_weight_file
INSTALL = 'DISABLE_CUDA=1 pip install --no-deps "swift-llm[hqq]" (its setup builds CUDA kernels unless DISABLE_CUDA=1)'


def require_hqq(what: str) -> None:
    if importlib.util.find_spec('hqq') is None:
        raise SwiftError(f'{what} needs the hqq package: {INSTALL}')


def is_hqq_dir(model_dir) -> bool:
    return (Path(model_dir) / WEIGHT_FILE).is_file() and (Path(model_dir) / 'config.json').is_file()


def load_hqq_model(model_dir, dtype=None, device: str = 'cpu', for_adapters: bool = False, **kwargs):
    """The model with its HQQLinear layers, on `device`, computing in `dtype` (float32 when None), eval mode, with
    the directory's generation_config.json. kwargs: attn_implementation only (what hqq's loader passes on)."""
    import torch
    if for_adapters:
        raise SwiftError(f'{model_dir} is an HQQ directory (hqq\'s {WEIGHT_FILE}): swift does not train LoRA on or '
                         'serve adapters with HQQ weights (transformers 5.x cannot load HQQ for peft). Train on the '
                         'source model (--quant_method bnb for QLoRA) and export the merged model with '
                         '--quant_method hqq.')
    require_hqq(f'{model_dir} (an HQQ directory)')
    from hqq.models.hf.base import AutoHQQHFModel
    from transformers import GenerationConfig
    extra = {key: kwargs[key] for key in ('attn_implementation', ) if kwargs.get(key)}
    model = AutoHQQHFModel.from_quantized(str(model_dir), device=device, compute_dtype=dtype or torch.float32,
                                          **extra)
    if (Path(model_dir) / 'generation_config.json').is_file():
        model.generation_config = GenerationConfig.from_pretrained(str(model_dir))
    return model.eval()
