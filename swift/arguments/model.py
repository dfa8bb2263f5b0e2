"""Which model to load and how: the group of every command that loads one."""
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError, did_you_mean, env_flag
from swift.utils.media import check_model_kwargs

from .base import ArgumentGroup

# --torch_dtype names (checked here without torch; swift.utils.device maps them to torch dtypes)
DTYPE_NAMES = ('auto', 'bfloat16', 'bf16', 'float16', 'fp16', 'half', 'float32', 'fp32', 'float')
# ms-swift's --attn_impl spellings → transformers' attn_implementation names
ATTN_IMPLEMENTATIONS = {'sdpa': 'sdpa', 'eager': 'eager', 'flash_attn': 'flash_attention_2',
                        'flash_attention_2': 'flash_attention_2', 'flash_attention_3': 'flash_attention_3'}


SPREADING_DEVICE_MAPS = ('auto', 'sequential', 'balanced', 'balanced_low_0')  # accelerate's, which read max_memory


def _json_value(flag: str, value: Any) -> Any:
    """A JSON object given inline or as a file path (ms-swift accepts both); a dict (from YAML) as it is."""
    if isinstance(value, dict):
        return value
    text = str(value).strip()
    if not text.startswith('{') and os.path.isfile(os.path.expanduser(text)):
        with open(os.path.expanduser(text), encoding='utf-8') as f:
            text = f.read()
    try:
        parsed = json.loads(text)
    except ValueError as e:
        raise SwiftError(f'--{flag} {value!r}: not a JSON object nor a file holding one ({e})') from None
    if not isinstance(parsed, dict):
        raise SwiftError(f'--{flag} {value!r}: expected a JSON object, got {type(parsed).__name__}')
    return parsed


def _device_key(key: str) -> Any:
    """accelerate names GPUs by index: "0" in JSON means device 0."""
    return int(key) if isinstance(key, str) and key.isdigit() else key


def parsed_device_map(value: Any) -> Any:
    """--device_map as from_pretrained takes it: a strategy or device name, or {module: device}."""
    if value is None:
        return None
    if isinstance(value, dict) or str(value).strip().startswith('{') or str(value).endswith('.json'):
        return {module: _device_key(device) for module, device in _json_value('device_map', value).items()}
    return str(value)


def parsed_max_memory(value: Any) -> Dict[Any, Any]:
    return {_device_key(device): size for device, size in _json_value('max_memory', value).items()}


@dataclass
class ModelArguments(ArgumentGroup):
    GROUP_TITLE = 'model'

    model: Optional[str] = field(
        default=None, metadata={'help': 'registry ID or alias, hub ID, or local directory'})
    model_type: Optional[str] = field(default=None, metadata={'help': 'registry model type (when auto-detection fails)'})
    revision: Optional[str] = field(default=None, metadata={'help': 'hub revision (branch, tag or commit)'})
    torch_dtype: str = field(default='auto', metadata={'help': 'auto | bfloat16 | float16 | float32'})
    attn_impl: Optional[str] = field(default=None, metadata={'help': 'sdpa | eager | flash_attn (flash_attention_2)'})
    use_hf: bool = field(default_factory=lambda: env_flag('USE_HF'),  # ms-swift's USE_HF=1 means the same
                         metadata={'help': 'download from Hugging Face instead of ModelScope (default: $USE_HF)'})
    offline: bool = field(default=False, metadata={'help': 'never contact a hub; use local copies only'})
    trust_remote_code: bool = field(
        default=False, metadata={'help': 'run the Python code a model repository ships (its auto_map), as the models '
                                         'that transformers does not support natively need; only for repositories '
                                         'you trust'})
    model_kwargs: Optional[Dict[str, Any]] = field(default=None, metadata={
        'help': 'media size controls of a multimodal model, as JSON (ms-swift\'s): max_pixels, min_pixels, '
                'image_max_token_num, video_max_pixels, fps, fps_max_frames, sampling_rate (Qwen-VL also '
                'video_min_pixels, video_total_pixels, fps_min_frames); the same as the '
                'environment variables MAX_PIXELS, ... (this wins); a key the model\'s processor lacks is an error'})

    device_map: Optional[str] = field(default=None, metadata={
        'help': 'where the weights go, passed to from_pretrained (ms-swift\'s): auto | sequential | balanced | cpu | '
                'cuda:0 | a JSON object {module: device} or a JSON file holding one (default: the one device found)'})
    max_memory: Optional[str] = field(default=None, metadata={
        'help': 'JSON {device: size}, e.g. \'{"0": "20GB", "cpu": "60GB"}\': how much of each device --device_map '
                'auto|sequential|balanced may fill (passed to from_pretrained)'})

    ALIASES = {'model_id_or_path': 'model', 'model_revision': 'revision', 'dtype': 'torch_dtype'}

    def __post_init__(self):
        super().__post_init__()
        if self.torch_dtype not in DTYPE_NAMES:
            raise SwiftError(f'--torch_dtype {self.torch_dtype!r} is not a dtype: choose one of '
                             f'{", ".join(DTYPE_NAMES)}.{did_you_mean(self.torch_dtype, DTYPE_NAMES)}')
        if self.attn_impl is not None:
            if self.attn_impl not in ATTN_IMPLEMENTATIONS:
                raise SwiftError(f'--attn_impl {self.attn_impl!r}: choose one of {", ".join(ATTN_IMPLEMENTATIONS)}.'
                                 f'{did_you_mean(self.attn_impl, ATTN_IMPLEMENTATIONS)}')
            self.attn_impl = ATTN_IMPLEMENTATIONS[self.attn_impl]
        self.model_kwargs = check_model_kwargs(self.model_kwargs) or None
        parsed_device_map(self.device_map)  # a bad value fails now, not when the model loads
        if self.max_memory is not None:
            parsed_max_memory(self.max_memory)
            if self.device_map not in SPREADING_DEVICE_MAPS:
                raise SwiftError(f'--max_memory applies with --device_map {"|".join(SPREADING_DEVICE_MAPS)} (which '
                                 f'spread the weights over devices), not with --device_map {self.device_map}')

    def load_kwargs(self) -> dict:
        """Keywords for swift.model.loader.get_model_tokenizer."""
        kwargs = dict(torch_dtype=self.torch_dtype, attn_implementation=self.attn_impl, model_type=self.model_type,
                      use_hf=self.use_hf or None, revision=self.revision, offline=self.offline or None,
                      trust_remote_code=self.trust_remote_code)
        if self.model_kwargs:
            kwargs['media_kwargs'] = dict(self.model_kwargs)
        if self.device_map is not None:  # (only when given: every loader that takes these keys gets them)
            kwargs['device_map'] = parsed_device_map(self.device_map)
        if self.max_memory is not None:
            kwargs['model_kwargs'] = {'max_memory': parsed_max_memory(self.max_memory)}
        return kwargs

    def require_model(self, alternatives: str = '') -> None:
        if not self.model:
            raise SwiftError('--model is required (a registry ID such as smollm2-135m-instruct, a hub ID or a local '
                             f'directory){alternatives}')


@dataclass
class AdapterArguments(ArgumentGroup):
    """Saved adapters applied on top of --model (inference, evaluation, export)."""
    GROUP_TITLE = 'adapters'

    adapters: List[str] = field(default_factory=list,
                                metadata={'help': 'LoRA/adapter checkpoint directories (name=path to name them); '
                                                  'a swift checkpoint alone also names its base model'})

    ALIASES = {'ckpt_dir': 'adapters'}
