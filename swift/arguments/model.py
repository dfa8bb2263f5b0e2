"""Which model to load and how: the group of every command that loads one."""
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
                'image_max_token_num, video_max_pixels, fps, fps_max_frames, sampling_rate; the same as the '
                'environment variables MAX_PIXELS, ... (this wins); a key the model\'s processor lacks is an error'})

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

    def load_kwargs(self) -> dict:
        """Keywords for swift.model.loader.get_model_tokenizer."""
        kwargs = dict(torch_dtype=self.torch_dtype, attn_implementation=self.attn_impl, model_type=self.model_type,
                      use_hf=self.use_hf or None, revision=self.revision, offline=self.offline or None,
                      trust_remote_code=self.trust_remote_code)
        if self.model_kwargs:
            kwargs['media_kwargs'] = dict(self.model_kwargs)
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
