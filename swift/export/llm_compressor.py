"""GPTQ, AWQ and FP8 exports with llm-compressor (`oneshot`), saved as compressed-tensors.

    gptq  GPTQModifier: 4-bit W4A16_ASYM (asymmetric: a scale and an integer zero point per --group_size
          inputs), 8-bit W8A16 (symmetric), pack-quantized
    awq   AWQModifier (activation-aware scaling) + QuantizationModifier W4A16_ASYM, --group_size per scale:
          llm-compressor's AWQ recipe (the transform scales, the quantization modifier quantizes); asymmetric
          like its AWQ examples and ms-swift's AutoAWQ export (`zero_point: True`)
    fp8   GPTQModifier with an FP8 scheme: --fp8_scheme w8a8 (default) FP8_DYNAMIC, FP8 weights per channel
          and FP8 activations per token at run time (vLLM's W8A8-FP8; ms-swift's FP8 export is W8A8 too); w8a16
          the same FP8 weights with 16-bit activations (vLLM's W8A16-FP8 scheme: Marlin kernels, also on GPUs
          without FP8 math). GPTQ chooses the e4m3 weights column by column so that each layer's output on the
          calibration rows stays close (the rounding error of one column is pushed onto the columns not yet
          rounded), where round-to-nearest (QuantizationModifier) rounds each weight alone. The directory is the
          same FP8_DYNAMIC layout either way (e4m3 weights, one scale per channel); only which e4m3 values are
          stored differs. On the embedded SmolLM2-135M W8A8 goes from +6.9% to +1.5% perplexity (KL from the
          source 0.079 → 0.030 nats/token), within the 8-bit target of 2% (docs/benchmarks.md).

4-bit is asymmetric because a group's weights are rarely centred on zero: the zero point spends all 16 levels
between the group's minimum and maximum, where the symmetric grid wastes part of them (measured on the embedded
SmolLM2-135M, docs/benchmarks.md). Asymmetric directories store packed zero points, which transformers 5.24 with
compressed-tensors 0.19 cannot load into compressed layers (a size mismatch on every `weight_zero_point`: the
layers it builds expect them unpacked); it loads them with `CompressedTensorsConfig(dequantize=True)`, which
swift passes (swift/model/loader.py) and docs/export.md tells plain-transformers users to pass. vLLM's
compressed-tensors WNA16 scheme reads zero points (vLLM on GPU: not verified here).

The directory's config.json says `quant_method: compressed-tensors`: vLLM and SGLang load it natively
(`quantization='compressed-tensors'`), transformers loads it through its compressed-tensors integration
(CPU included: it decompresses the weights) with the `compressed-tensors` package installed.

Installed with --no-deps (see pyproject.toml, extra `llm-compressor`): llmcompressor 0.14 pins transformers
<= 5.17; swift runs it with the transformers it has (5.24 when this was written) and its tests check the result.
"""
import importlib.util
from typing import Any, Dict, List

from swift.utils import SwiftError, get_logger

logger = get_logger()

# compressed-tensors preset schemes per (method, bits): asymmetric int4, symmetric int8 (see above)
SCHEMES = {('gptq', 4): 'W4A16_ASYM', ('gptq', 8): 'W8A16', ('awq', 4): 'W4A16_ASYM', ('fp8', 8): 'FP8_DYNAMIC'}
IGNORE = ['lm_head']  # tied to the embedding in small models; vLLM keeps it unquantized too
INSTALL = ('install the `llm-compressor` extra of pyproject.toml without dependencies (make setup does): '
           'pip install --no-deps llmcompressor==0.14.0.1 compressed-tensors==0.19.0 loguru pydantic psutil')


def require_llm_compressor(method: str) -> None:
    missing = [name for name in ('llmcompressor', 'compressed_tensors') if importlib.util.find_spec(name) is None]
    if missing:
        raise SwiftError(f'--quant_method {method} uses llm-compressor ({", ".join(missing)} not installed): '
                         f'{INSTALL}')


def check_group_size(model, method: str, group_size: int) -> None:
    """GPTQ/AWQ group scales must tile each quantized Linear's input width: a clear error before calibration
    (llm-compressor would fail inside its observer with a reshape error)."""
    if method not in ('gptq', 'awq'):
        return
    import torch
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.split('.')[-1] not in IGNORE \
                and module.in_features % group_size:
            raise SwiftError(f'--group_size {group_size} does not divide the input width {module.in_features} of '
                             f'{name}: choose a divisor of every layer width (e.g. 32, 64 or 128)')


def quantize(model, method: str, bits: int, group_size: int, calibration: List[Dict[str, Any]], max_length: int,
             batch_size: int, fp8_scheme: str = 'w8a8') -> None:
    """Calibrate and quantize `model` in place (llm-compressor's oneshot on the rendered calibration rows)."""
    from datasets import Dataset
    from llmcompressor import oneshot
    oneshot(model=model, dataset=Dataset.from_list([{'input_ids': row['input_ids'],
                                                     'attention_mask': [1] * len(row['input_ids'])}
                                                    for row in calibration]),
            recipe=_recipe(method, bits, group_size, fp8_scheme), max_seq_length=max_length,
            num_calibration_samples=len(calibration), batch_size=batch_size, shuffle_calibration_samples=False)


def _recipe(method: str, bits: int, group_size: int, fp8_scheme: str = 'w8a8') -> list:
    from compressed_tensors.quantization import preset_name_to_scheme
    from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier
    scheme = SCHEMES[(method, bits)]
    if method == 'fp8':  # weight scales per channel; activation scales per token at run time (w8a8) or none
        fp8 = preset_name_to_scheme(scheme, ['Linear'])
        if fp8_scheme == 'w8a16':
            # compressed-tensors has no weight-only FP8 preset: FP8_DYNAMIC's weights (e4m3, per channel, static,
            # symmetric) without its input activations, the W8A16-FP8 layout vLLM's compressed-tensors loader reads
            fp8.input_activations = None
        return [GPTQModifier(config_groups={'group_0': fp8}, ignore=IGNORE)]
    grouped = preset_name_to_scheme(scheme, ['Linear'])
    grouped.weights.group_size = group_size  # the presets say 128
    if method == 'gptq':
        return [GPTQModifier(config_groups={'group_0': grouped}, ignore=IGNORE)]
    return [_awq_modifier()(), QuantizationModifier(config_groups={'group_0': grouped}, ignore=IGNORE)]


def _awq_modifier():
    """llm-compressor's AWQModifier; on a machine without an accelerator its smoothing step's
    `IntermediatesCache.pin_memory` (pinned host memory for faster GPU copies) raises "Cannot access accelerator
    device when none is available", so there the cached activations are left unpinned (nothing is copied to a
    device on CPU, so pinning has no purpose)."""
    import torch
    from llmcompressor.modifiers.transform.awq import AWQModifier

    class CpuSafeAWQModifier(AWQModifier):

        def _apply_smoothing(self, model) -> None:
            if not torch.accelerator.is_available():
                for cache in self._parent_args_cache.values():
                    cache.pin_memory = _no_pinning
            super()._apply_smoothing(model)

    CpuSafeAWQModifier.__name__ = 'AWQModifier'  # recipe.yaml names the modifier llm-compressor knows
    return CpuSafeAWQModifier


def _no_pinning(batch_index: int, input_names=None) -> None:
    return None
