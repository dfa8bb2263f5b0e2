"""`swift export --quant_method hqq --quant_bits 2|3|4|8`: HQQ (half-quadratic, calibration-free) weights written
in hqq's own format (config.json + qmodel.pt), which hqq's loader opens without swift:

    from hqq.models.hf.base import AutoHQQHFModel
    model = AutoHQQHFModel.from_quantized(dir, device='cpu', compute_dtype=torch.float32)

and `swift infer --model dir` loads the same way (swift/model/hqq_format.py). Why hqq's format and not
transformers': transformers 5.x (5.25 here) has no HQQ path in its new weight loader (`from_pretrained(...,
quantization_config=HqqConfig(...))` raises NotImplementedError "QuantizationMethod.HQQ is not available yet"), so
neither making nor loading HQQ through transformers works; hqq 0.2.8's own quantize/save/load does, on CPU too
(checked with transformers 5.25). Every nn.Linear except lm_head is quantized (hqq's and transformers' HqqConfig
default), --group_size weights per scale/zero: along hqq's default axis 1 (BaseQuantizeConfig's: consecutive
inputs of one row, as GPTQ/AWQ groups) or, with --hqq_axis 0, weights of one input column across rows.
"""
from swift.model.hqq_format import load_hqq_model, quantize_with_hqq, require_hqq  # noqa: F401 (require_hqq: used by quantize.py)
from swift.utils import SwiftError


def check_group_size(model, group_size: int, axis: int) -> None:
    """hqq reshapes each flattened weight [out, in] to [-1, group_size] (axis 1: consecutive inputs of one row) or
    [group_size, -1] (axis 0: weights numel / group_size apart, one input column across rows when the group divides
    the output width): axis 1 needs the group to tile the input width, axis 0 the weight count (hqq asserts it deep
    inside); a clear error before quantizing instead."""
    import torch
    for name, module in model.named_modules():
        if type(module) is not torch.nn.Linear or name.split('.')[-1] == 'lm_head':
            continue
        width, what = (module.in_features, 'input width') if axis == 1 else (module.weight.numel(), 'weight count')
        if width % group_size:
            raise SwiftError(f'--group_size {group_size} does not divide the {what} {width} of {name} '
                             f'(--hqq_axis {axis}): choose a divisor of every layer\'s (e.g. 32, 64 or 128)')


def quantize(model, bits: int, group_size: int, axis: int = 1):
    """Replace the model's Linear layers by HQQLinear in place (fp32 compute, on the model's device)."""
    return quantize_with_hqq(model, bits, group_size, axis).eval()


def save(model, directory) -> None:
    from hqq.models.hf.base import AutoHQQHFModel
    AutoHQQHFModel.save_quantized(model, str(directory))
    model.generation_config.save_pretrained(str(directory))


def load(directory, device: str = 'cpu'):
    """The directory as a consumer opens it: hqq's loader (not transformers' from_pretrained)."""
    return load_hqq_model(directory, device=device)
