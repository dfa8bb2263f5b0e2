"""Hardware detection: which device to run on and which dtype suits it."""
from typing import Optional

from .errors import SwiftError, did_you_mean


def detect_device() -> str:
    """'cuda', 'npu' (Ascend), 'mps' (Apple) or 'cpu', in that order of preference."""
    import torch
    if torch.cuda.is_available():
        return 'cuda'
    if hasattr(torch, 'npu') and torch.npu.is_available():  # torch_npu registers torch.npu
        return 'npu'
    if getattr(torch.backends, 'mps', None) is not None and torch.backends.mps.is_available():
        return 'mps'
    return 'cpu'


def resolve_dtype(torch_dtype: Optional[str], device: Optional[str] = None):
    """'auto' → bf16 where the hardware does it well, fp16 on older GPUs and MPS, fp32 on CPU."""
    import torch
    names = {'bfloat16': torch.bfloat16, 'bf16': torch.bfloat16, 'float16': torch.float16, 'fp16': torch.float16,
             'half': torch.float16, 'float32': torch.float32, 'fp32': torch.float32, 'float': torch.float32}
    if torch_dtype not in (None, 'auto'):
        if isinstance(torch_dtype, torch.dtype):
            return torch_dtype
        if torch_dtype not in names:
            raise SwiftError(f'--torch_dtype {torch_dtype!r} is not a dtype.{did_you_mean(torch_dtype, names)}')
        return names[torch_dtype]
    device = device or detect_device()
    if device == 'cuda':
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == 'npu':
        return torch.bfloat16
    if device == 'mps':
        return torch.float16
    return torch.float32


_DTYPE_NAMES = {'bf16': 'bfloat16', 'fp16': 'float16', 'half': 'float16', 'fp32': 'float32', 'float': 'float32'}


def dtype_name(torch_dtype) -> str:
    """The canonical name of a --torch_dtype value or torch dtype: 'bfloat16', 'float16', 'float32' or 'auto'
    (for engines such as vLLM that take the name; torch is not imported for a string)."""
    if torch_dtype is None:
        return 'auto'
    name = str(torch_dtype).replace('torch.', '')
    return _DTYPE_NAMES.get(name, name)
