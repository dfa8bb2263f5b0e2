"""Load a model and its tokenizer from a registry ID, alias, hub ID or local directory.

    model, tokenizer = get_model_tokenizer('smollm2-135m-instruct')

Every loaded model carries `model.model_info` (what was loaded, from where, with which template),
so later stages (training, inference, export) never have to ask again.
"""
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from swift.utils import SwiftError, get_logger
from swift.utils.device import detect_device, resolve_dtype

from .hqq_format import WEIGHT_FILE, HqqQuantization, is_hqq_dir, load_hqq_model, quantize_with_hqq
from .hub import get_model_dir as hub_model_dir
from .registry import get_model_meta, lookup_model
from .requirements import check_requirements
from .resolve import resolve_model

logger = get_logger()


@dataclass
class ModelInfo:
    model_id: str  # what the user asked for
    model_dir: str  # where the weights are on disk
    model_type: Optional[str]  # registry type, None for an unknown model
    template: Optional[str]  # template name, None → the tokenizer's own chat_template
    torch_dtype: Any = None
    source: str = 'registry'
    is_multimodal: bool = False
    # the tokenizer loaded with the model, so a module passed on (train(model=model)) brings what training needs
    tokenizer: Any = field(default=None, repr=False, compare=False)
    # a multimodal model's transformers processor (image processor + tokenizer); templates encode media with it
    processor: Any = field(default=None, repr=False, compare=False)
    # --model_kwargs media size controls (max_pixels, ...): what templates built on this tokenizer apply
    media_kwargs: Optional[Dict[str, Any]] = field(default=None, compare=False)


def get_model_dir(model: str, *, use_hf: Optional[bool] = None, revision: Optional[str] = None,
                  offline: Optional[bool] = None) -> Path:
    """A local directory for `model`: as given when it is one, else from the hub (or the embedded copy)."""
    path = Path(os.path.expanduser(model))
    if path.is_dir():
        return path.resolve()
    return Path(hub_model_dir(model, use_hf=use_hf, revision=revision, offline=offline))


def resolve_model_info(model: str, model_dir: Path, model_type: Optional[str] = None,
                       template: Optional[str] = None) -> ModelInfo:
    """Registry type and template for a model, from explicit choices, args.json, the registry or config.json."""
    resolved = resolve_model(model, template=template, model_type=model_type)
    if resolved.model_meta is None and resolved.template is None and not Path(model).is_dir():
        # An unregistered hub ID: its downloaded config.json may still name a registered family.
        resolved = resolve_model(str(model_dir), template=template, model_type=model_type)
    meta = get_model_meta(model_type) if model_type else resolved.model_meta
    if meta is not resolved.model_meta:  # --model_type chose another family than the directory suggests: its template
        template = template or meta.template
    template = template or resolved.template or (meta.template if meta else None)
    return ModelInfo(model_id=model, model_dir=str(model_dir), model_type=meta.model_type if meta else None,
                     template=template, source=resolved.source, is_multimodal=bool(meta and meta.is_multimodal))


def remote_code_refused(model_dir) -> SwiftError:
    return SwiftError(f'{model_dir} ships its own Python code (auto_map in its config), which swift runs only with '
                      '--trust_remote_code true (trust_remote_code=True in Python): pass it if you trust this '
                      'repository, or use a model that transformers supports natively')


def needs_remote_code(model_dir) -> bool:
    """Whether loading this model means running the repository's code, as transformers decides it: its config maps
    an Auto class to a module of its own (auto_map) and transformers does not know its model_type natively."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    config_file = Path(model_dir) / 'config.json'
    try:
        config = json.loads(config_file.read_text(encoding='utf-8')) if config_file.is_file() else {}
    except (OSError, ValueError):
        return False  # an unreadable config fails later, with the loader's own message
    return isinstance(config, dict) and bool(config.get('auto_map')) and config.get('model_type') not in \
        CONFIG_MAPPING_NAMES


def load_error(model_dir, what: str, error: Exception) -> SwiftError:
    """The SwiftError for a transformers load that failed (a refusal to run remote code names the flag)."""
    if 'trust_remote_code' in str(error):  # transformers' refusal to run the repository's code without the flag
        return remote_code_refused(model_dir)
    return SwiftError(f'{model_dir}: cannot load {what} ({error})')


def load_tokenizer(model: str, **hub_kwargs):
    """The tokenizer of `model` (registry ID, alias, hub ID or directory), without loading weights."""
    _, tokenizer = get_model_tokenizer(model, load_model=False, **hub_kwargs)
    return tokenizer


def get_model_tokenizer(model: str,
                        *,
                        torch_dtype: Any = 'auto',
                        device_map: Any = None,
                        attn_implementation: Optional[str] = None,
                        quantization_config: Any = None,
                        model_type: Optional[str] = None,
                        template: Optional[str] = None,
                        load_model: bool = True,
                        use_hf: Optional[bool] = None,
                        revision: Optional[str] = None,
                        offline: Optional[bool] = None,
                        trust_remote_code: bool = False,
                        model_kwargs: Optional[Dict[str, Any]] = None,
                        media_kwargs: Optional[Dict[str, Any]] = None,
                        for_adapters: bool = False) -> Tuple[Any, Any]:
    """(model or None, tokenizer), both tagged with `.model_info`.

    The model type's `requires` are checked before anything is read: a registered ID or an explicit
    model_type before the download, any model type once it is resolved (a local directory's from its
    config.json), so an incompatible install stops with a pip command instead of failing inside the model code.
    A repository's own Python code runs only with trust_remote_code=True (--trust_remote_code), as in transformers.
    media_kwargs: the media size controls (--model_kwargs '{"max_pixels": ...}'), kept on model_info for the
    templates built on this tokenizer (swift/template/media_options.py); refused for a text-only model.
    for_adapters: the model will be trained or LoRA adapters will wrap its layers (training, serving with
    --adapters): a quantized checkpoint is loaded in a form that trains (see checkpoint_quantization_config).
    """
    from transformers import AutoTokenizer

    found = None if model_type or Path(os.path.expanduser(model)).is_dir() else lookup_model(model)
    if model_type or found:
        check_requirements(get_model_meta(model_type) if model_type else found[0])
    model_dir = get_model_dir(model, use_hf=use_hf, revision=revision, offline=offline)
    info = resolve_model_info(model, model_dir, model_type=model_type, template=template)
    if info.model_type:
        check_requirements(get_model_meta(info.model_type))
    if media_kwargs:
        if not info.is_multimodal:
            raise SwiftError(f'--model_kwargs {sorted(media_kwargs)}: {model} is a text-only model; media size '
                             'controls apply to multimodal models only')
        info.media_kwargs = dict(media_kwargs)
    meta = get_model_meta(info.model_type) if info.model_type else None
    try:
        if info.is_multimodal and meta is not None and meta.load_processor is not None:
            info.processor = meta.load_processor(model_dir, trust_remote_code=trust_remote_code)
            tokenizer = info.processor.tokenizer
        elif info.is_multimodal:
            from transformers import AutoProcessor
            info.processor = AutoProcessor.from_pretrained(str(model_dir), trust_remote_code=trust_remote_code)
            tokenizer = info.processor.tokenizer
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(model_dir), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise load_error(model_dir, 'a processor' if info.is_multimodal else 'a tokenizer', e) from None
    if tokenizer.pad_token is None:
        # Padding positions are masked by position, so reusing EOS as pad never hides a trained EOS.
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.model_info = info
    info.tokenizer = tokenizer
    if not load_model:
        return None, tokenizer

    import transformers
    auto_class = transformers.AutoModelForImageTextToText if info.is_multimodal else transformers.AutoModelForCausalLM
    if meta is not None and meta.model_class:
        auto_class = getattr(transformers, meta.model_class)
    device = detect_device()
    dtype = resolve_dtype(torch_dtype, device)
    info.torch_dtype = dtype
    if device_map is None and device != 'cpu':
        device_map = device
    kwargs = dict(model_kwargs or {})
    if attn_implementation:
        kwargs['attn_implementation'] = attn_implementation
    if is_hqq_dir(model_dir):  # hqq's format: hqq's loader (hqq_format.py)
        if quantization_config is not None:
            raise SwiftError(f'{model_dir} is quantized already (hqq\'s {WEIGHT_FILE}): drop --quant_method')
        one_device = device_map if isinstance(device_map, str) and device_map != 'auto' else device
        hf_model = load_hqq_model(model_dir, dtype, one_device, **kwargs)
        hf_model.model_info = info
        logger.info(f'Loaded {model} from {model_dir} with hqq (type {info.model_type or "unknown"}, '
                    f'template {info.template or "tokenizer chat_template"}, compute dtype {dtype}, device {device})')
        return hf_model, tokenizer
    hqq = quantization_config if isinstance(quantization_config, HqqQuantization) else None
    if quantization_config is None:
        quantization_config = checkpoint_quantization_config(model_dir, for_adapters)
    if quantization_config is not None and hqq is None:
        kwargs['quantization_config'] = quantization_config
    try:
        load = meta.load_model if meta is not None and meta.load_model is not None else _from_pretrained
        hf_model = load(auto_class, str(model_dir), dtype=dtype, device_map=device_map,
                        trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError) as e:
        raise load_error(model_dir, 'the model', e) from None
    if hqq is not None:  # transformers cannot quantize with HQQ: hqq replaces the loaded Linear layers
        quantize_with_hqq(hf_model, hqq.bits, hqq.group_size, hqq.axis, compute_dtype=dtype)
    hf_model.model_info = info
    logger.info(f'Loaded {model} from {model_dir} (type {info.model_type or "unknown"}, '
                f'template {info.template or "tokenizer chat_template"}, dtype {dtype}, device {device})')
    return hf_model, tokenizer


def _from_pretrained(model_class, model_dir: str, **kwargs):
    return model_class.from_pretrained(model_dir, **kwargs)


def checkpoint_quantization_config(model_dir, for_adapters: bool = False) -> Any:
    """The quantization config a quantized checkpoint loads with (None: the one in its config.json).

    compressed-tensors directories (swift export --quant_method gptq|awq|fp8, llm-compressor's format) load with
    `dequantize=True` (the weights become their quantized values in float) in two cases:
      - asymmetric int weights (packed zero points): transformers 5.24 / compressed-tensors 0.19 build compressed
        layers that expect the zero points unpacked and stop on a size mismatch; the dequantizing load reads them;
      - for_adapters: the weights stay packed in `weight_packed` otherwise, and peft has no LoRA layer for that
        (transformers' own advice for fine-tuning them is dequantize=True); the base stays frozen at its
        quantized values and the adapter applies to the compressed directory in vLLM.
    bitsandbytes directories need nothing (peft wraps Linear4bit / Linear8bitLt). GPTQModel / AutoAWQ
    directories (quant_method gptq / awq) load through GPTQModel in transformers 5 (peft wraps its layers):
    without it installed, a clear error for adapters instead of transformers' ImportError halfway through (not
    verified with GPTQModel installed: it is not part of this environment)."""
    config_file = Path(model_dir) / 'config.json'
    if not config_file.is_file():
        return None
    quantization = json.loads(config_file.read_text(encoding='utf-8')).get('quantization_config') or {}
    method = quantization.get('quant_method')
    if method == 'compressed-tensors' and (for_adapters or _asymmetric_int(quantization)):
        from transformers import CompressedTensorsConfig
        logger.info(f'{model_dir}: compressed-tensors weights are dequantized at load '
                    f'({"for training or adapters" if for_adapters else "asymmetric zero points"})')
        return CompressedTensorsConfig(dequantize=True)
    if for_adapters and method in ('gptq', 'awq'):
        import importlib.util
        if importlib.util.find_spec('gptqmodel') is None:
            raise SwiftError(f'{model_dir} is a {method.upper()} checkpoint in GPTQModel/AutoAWQ format (config.json '
                             f'quant_method "{method}"): transformers loads it, and peft trains LoRA on it, only '
                             'through GPTQModel (pip install gptqmodel optimum; its kernels are mostly CUDA). Or '
                             f'export the source model with swift export --quant_method {method} (compressed-tensors, '
                             'trains on CPU), or use --quant_method bnb.')
    return None


def _asymmetric_int(quantization: Dict[str, Any]) -> bool:
    groups = (quantization.get('config_groups') or {}).values()
    return any((group.get('weights') or {}).get('type', 'int') == 'int'
               and (group.get('weights') or {}).get('symmetric') is False for group in groups)
