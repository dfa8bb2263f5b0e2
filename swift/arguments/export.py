"""Arguments of `swift export`: the model (or `--adapters checkpoint-N`, whose args.json names it), what to
export (a merged model, a quantized model, a GGUF, an Ollama directory, a pre-tokenized dataset), where, and
whether to push it to a hub (ModelScope, or Hugging Face with --use_hf)."""
import re
from dataclasses import MISSING, dataclass, field, fields
from typing import ClassVar, List, Optional

from swift.utils import SwiftError

from .base import BaseArguments, check_choice
from .data import DataArguments
from .model import AdapterArguments, ModelArguments
from .quantization import check_hqq_axis
from .template import TemplateArguments

# method → the bit widths it writes; the formats each library serializes (swift.export.quantize)
EXPORT_QUANT_BITS = {'bnb': (4, 8), 'gptq': (4, 8), 'awq': (4, ), 'fp8': (8, ), 'hqq': (2, 3, 4, 8)}
# --quant_method fp8: w8a8 = FP8 weights + dynamic per-token FP8 activations (compressed-tensors FP8_DYNAMIC, the
# scheme vLLM's FP8 docs describe; ms-swift's FP8 export is W8A8 too); w8a16 = FP8 weights only (vLLM's
# compressed-tensors W8A16-FP8 scheme)
FP8_SCHEMES = ('w8a8', 'w8a16')
HUB_MODEL_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$')  # org/name on both hubs
GGUF_QUANTS = ('f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q2_k', 'q3_k_s', 'q3_k_m', 'q3_k_l',
               'q4_k_s', 'q4_k_m', 'q5_k_s', 'q5_k_m', 'q6_k')


# ms-swift's modes: 'train' (swift sft / pt), 'rlhf' (swift rlhf --rlhf_type dpo|orpo|simpo|cpo|rm) and 'kto'
# (swift rlhf --rlhf_type kto); the online algorithms (ppo, grpo, gkd) generate from prompts: nothing to cache
TEMPLATE_MODES = ('train', 'rlhf', 'kto')
# what calibration rows use besides --dataset; the other data flags shape a --to_cached_dataset export only
CALIBRATION_DATA_FLAGS = ('dataset', 'truncation_strategy')
CALIBRATION_LENGTH = 512  # tokens per calibration / perplexity row when --max_length is not given


@dataclass
class ExportArguments(AdapterArguments, TemplateArguments, ModelArguments, DataArguments, BaseArguments):
    GROUP_TITLE = 'swift export'
    DATASET_REQUIRED: ClassVar[bool] = False  # only calibration and --to_cached_dataset read rows
    SPLIT_TRUNCATION: ClassVar[bool] = True  # a cached dataset for swift pt may be split

    merge_lora: bool = field(default=False, metadata={'help': 'merge the adapter into the base weights'})
    output_dir: Optional[str] = field(
        default=None, metadata={'help': 'where to write (default: <adapter dir or model name>-<kind>); must not exist'})
    max_shard_size: str = field(default='5GB', metadata={'help': 'largest safetensors shard, e.g. 2GB'})
    to_gguf: bool = field(default=False, metadata={'help': 'write a GGUF file (llama.cpp, LM Studio)'})
    gguf_quant: str = field(default='f16', metadata={'help': ' | '.join(GGUF_QUANTS) + ' (K-quants need llama.cpp)'})
    to_ollama: bool = field(default=False, metadata={'help': 'write a GGUF and an Ollama Modelfile'})
    quant_method: Optional[str] = field(default=None, metadata={'help': ' | '.join(EXPORT_QUANT_BITS)})
    quant_bits: Optional[int] = field(default=None, metadata={'help': 'bits per weight (e.g. 4 or 8)'})
    bnb_4bit_quant_type: str = field(default='nf4', metadata={'help': 'nf4 | fp4 (--quant_method bnb)'})
    bnb_4bit_use_double_quant: bool = field(default=True, metadata={'help': 'also quantize the scales (bnb)'})
    fp8_scheme: str = field(default='w8a8', metadata={
        'help': 'w8a8: FP8 weights and activations (FP8_DYNAMIC) | w8a16: FP8 weights only (--quant_method fp8)'})
    dataset: List[str] = field(default_factory=list, metadata={
        'help': 'rows of --to_cached_dataset, or calibration and perplexity rows, [hf::|ms::]ID_OR_PATH[#N] '
                '(calibration default: swift\'s built-in sample)'})
    quant_n_samples: int = field(default=64, metadata={'help': 'calibration rows (the rest measure perplexity)'})
    quant_batch_size: int = field(default=1, metadata={'help': 'calibration batch size'})
    max_length: Optional[int] = field(default=None, metadata={
        'help': f'max tokens per sample (--to_cached_dataset), per calibration / perplexity row (default '
                f'{CALIBRATION_LENGTH})'})
    group_size: int = field(default=128, metadata={'help': 'weights sharing one scale (gptq, awq, hqq)'})
    hqq_axis: int = field(default=1, metadata={
        'help': 'hqq: 1 (hqq\'s default) groups --group_size consecutive inputs of one output row (as GPTQ/AWQ and '
                'GGUF blocks), 0 groups weights of one input column across output rows'})
    to_cached_dataset: bool = field(default=False, metadata={
        'help': 'encode --dataset (and its validation rows) once, into --output_dir/train and /val, for '
                'swift sft / pt --cached_dataset'})
    loss_scale: Optional[str] = field(default=None, metadata={
        'help': 'which answers --to_cached_dataset trains (as --loss_scale of swift sft / rlhf; default: swift sft\'s '
                'default, last_round with --template_mode rlhf|kto as swift rlhf)'})
    template_mode: str = field(default='train', metadata={
        'help': 'the encoding of --to_cached_dataset: train (swift sft / pt), rlhf (swift rlhf --rlhf_type '
                'dpo|orpo|simpo|cpo|rm: chosen and rejected) or kto (swift rlhf --rlhf_type kto)'})
    push_to_hub: bool = field(default=False, metadata={
        'help': 'upload the export (alone: the --adapters checkpoint or --model directory as it is) to ModelScope, '
                'or to Hugging Face with --use_hf'})
    hub_model_id: Optional[str] = field(default=None, metadata={'help': 'the repository, org/name (created if '
                                                                        'missing)'})
    hub_private_repo: bool = field(default=False, metadata={'help': 'create the repository private'})
    hub_token: Optional[str] = field(default=None, metadata={
        'help': 'a token with write access (default: HF_TOKEN / MODELSCOPE_API_TOKEN, or a saved login)'})
    commit_message: Optional[str] = field(default=None, metadata={'help': 'the hub commit\'s message'})

    def __post_init__(self):
        if self.loss_scale is None:  # the default of the command that trains on the export
            self.loss_scale = 'default' if self.template_mode == 'train' else 'last_round'
        super().__post_init__()
        check_choice('gguf_quant', self.gguf_quant, GGUF_QUANTS)
        self._check_push()
        actions = [name for name, on in (('--merge_lora', self.merge_lora), ('--to_gguf', self.to_gguf),
                                         ('--to_ollama', self.to_ollama),
                                         ('--quant_method', self.quant_method is not None),
                                         ('--to_cached_dataset', self.to_cached_dataset)) if on]
        if not actions and not self.push_to_hub:
            raise SwiftError('nothing to export: pass --merge_lora true (with --adapters checkpoint-N), '
                             '--quant_method, --to_gguf true, --to_ollama true, --to_cached_dataset true or '
                             '--push_to_hub true')
        if len(actions) > 1:
            raise SwiftError(f'{" and ".join(actions)}: one export at a time (--adapters with any of them merges '
                             'the adapter first)')
        if len(self.adapters) > 1 or (self.merge_lora and len(self.adapters) != 1):
            raise SwiftError(f'--merge_lora merges one adapter, got {len(self.adapters)}: pass one --adapters '
                             'directory (merge several by exporting one, then passing its output as --model)')
        self._check_quant()
        self._check_data_flags()
        placed = [f'--{k}' for k in ('device_map', 'max_memory') if getattr(self, k) is not None]
        if placed and not self.merge_lora:  # the other exports load the weights their own way
            raise SwiftError(f'{" and ".join(placed)}: swift export places the weights only for --merge_lora true')

    def _check_data_flags(self) -> None:
        """The data flags mean something to --to_cached_dataset (all) and to calibration (--dataset,
        --truncation_strategy, --max_length): anywhere else they would be accepted and ignored."""
        check_choice('template_mode', self.template_mode, TEMPLATE_MODES)
        if self.to_cached_dataset:
            if not self.dataset:
                raise SwiftError('--to_cached_dataset encodes --dataset: pass one or more datasets')
            if self.adapters:
                raise SwiftError('--to_cached_dataset: samples depend on the tokenizer and template only, not on '
                                 'adapters; pass --model (and --template) instead of --adapters')
            return
        allowed = CALIBRATION_DATA_FLAGS + ('max_length', ) if self.quant_method else ()
        given = [f.name for f in fields(DataArguments) if f.name not in allowed and getattr(self, f.name) !=
                 (f.default_factory() if f.default_factory is not MISSING else f.default)]
        given += ['max_length'] if self.max_length is not None and 'max_length' not in allowed else []
        given += ['template_mode'] if self.template_mode != 'train' else []
        if given:
            what = 'quantization uses --dataset, --max_length and --truncation_strategy only' if self.quant_method \
                else 'this export reads no rows'
            raise SwiftError(f'{", ".join("--" + g for g in given)}: {what}; the data flags shape the dataset of '
                             '--to_cached_dataset true')

    @property
    def calibration_length(self) -> int:
        return self.max_length or CALIBRATION_LENGTH

    def _check_push(self) -> None:
        if not self.push_to_hub:
            given = [f'--{name}' for name in ('hub_model_id', 'hub_token', 'commit_message') if getattr(self, name)]
            given += ['--hub_private_repo'] if self.hub_private_repo else []
            if given:
                raise SwiftError(f'{", ".join(given)} without --push_to_hub true: add it to upload, or leave them out')
            return
        if not self.hub_model_id:
            raise SwiftError('--push_to_hub needs --hub_model_id org/name (the repository to create or update)')
        if not HUB_MODEL_ID.match(self.hub_model_id):
            raise SwiftError(f'--hub_model_id {self.hub_model_id!r}: expected org/name (letters, digits, "-", "_", '
                             '"."), e.g. my-org/qwen2.5-7b-lora')
        if self.hub_token is not None and not self.hub_token.strip():
            raise SwiftError('--hub_token is empty: give a token, or leave the flag out to use HF_TOKEN / '
                             'MODELSCOPE_API_TOKEN or a saved login')

    @property
    def push_only(self) -> bool:
        """--push_to_hub alone: upload the --adapters checkpoint or the --model directory as it is."""
        return self.push_to_hub and not (self.merge_lora or self.to_gguf or self.to_ollama or self.quant_method
                                          or self.to_cached_dataset)

    def _check_quant(self) -> None:
        check_choice('fp8_scheme', self.fp8_scheme, FP8_SCHEMES)
        if self.fp8_scheme != 'w8a8' and self.quant_method != 'fp8':
            raise SwiftError(f'--fp8_scheme {self.fp8_scheme} is for --quant_method fp8, not '
                             f'{self.quant_method or "an export without --quant_method"}')
        check_hqq_axis(self.hqq_axis, self.quant_method)
        if self.quant_method is None:
            if self.quant_bits is not None:
                raise SwiftError(f'--quant_bits {self.quant_bits} needs --quant_method '
                                 f'(one of: {", ".join(EXPORT_QUANT_BITS)})')
            return
        check_choice('quant_method', self.quant_method, tuple(EXPORT_QUANT_BITS))
        bits = EXPORT_QUANT_BITS[self.quant_method]
        if self.quant_bits not in bits:
            raise SwiftError(f'--quant_method {self.quant_method} writes {" or ".join(map(str, bits))}-bit weights, '
                             f'not --quant_bits {self.quant_bits}')
        check_choice('bnb_4bit_quant_type', self.bnb_4bit_quant_type, ('nf4', 'fp4'))
        for name in ('quant_n_samples', 'quant_batch_size', 'group_size'):
            if getattr(self, name) < 1:
                raise SwiftError(f'--{name} must be at least 1, not {getattr(self, name)}')

    @property
    def export_kind(self) -> str:
        """What is written: merged | gguf | ollama | <method>-int<bits> | cached (also the default output suffix);
        checkpoint | model when --push_to_hub uploads a directory as it is."""
        if self.to_cached_dataset:
            return 'cached'
        if self.push_only:
            return 'checkpoint' if self.adapters else 'model'
        if self.quant_method:
            return f'{self.quant_method}-int{self.quant_bits}'
        return 'gguf' if self.to_gguf else 'ollama' if self.to_ollama else 'merged'
