"""How a model is trained: the tuner flags of swift sft / pt / rlhf (ms-swift's names)."""
from dataclasses import dataclass, field
from typing import List, Optional, Union

from swift.utils import SwiftError

from .base import ArgumentGroup, check_range


@dataclass
class TunerArguments(ArgumentGroup):
    GROUP_TITLE = 'tuner'

    adapters: List[str] = field(
        default_factory=list,
        metadata={'help': 'continue training these saved adapters (checkpoint directories) instead of new ones'})
    tuner_type: str = field(
        default='lora',
        metadata={'help': 'full | freeze | lora | adalora | vera | boft | ia3 | llamapro, or a plugin\'s tuner'})
    target_modules: List[str] = field(
        default_factory=lambda: ['all-linear'],
        metadata={'help': 'module names to adapt; all-linear = every nn.Linear except lm_head; '
                          'all-embedding = the embedding layers'})
    target_regex: Optional[str] = field(
        default=None, metadata={'help': 'a regex over full module names; replaces --target_modules'})
    modules_to_save: List[str] = field(
        default_factory=list, metadata={'help': 'modules trained in full and saved beside the adapter'})
    trainable_token_indices: List[int] = field(
        default_factory=list,
        metadata={'help': 'LoRA: token ids whose embedding rows (and tied output head rows) train beside the adapter, '
                          'e.g. added special tokens, which LoRA alone cannot learn'})

    # LoRA
    lora_rank: int = field(default=8, metadata={'help': 'LoRA rank r'})
    lora_alpha: int = field(default=32, metadata={'help': 'LoRA scaling numerator (scale = alpha / r)'})
    lora_dropout: float = field(default=0.05, metadata={'help': 'dropout on the LoRA input'})
    lora_bias: str = field(default='none', metadata={'help': "none | all | lora_only: which biases train"})
    use_dora: bool = field(default=False, metadata={'help': 'DoRA: learn a magnitude vector beside LoRA'})
    use_rslora: bool = field(default=False, metadata={'help': 'rank-stabilised LoRA: scale = alpha / sqrt(r)'})
    init_weights: Union[bool, str] = field(
        default=True,
        metadata={'help': 'true | false | gaussian | pissa | pissa_niter_[n] | olora | orthogonal | loftq '
                          '(loftq needs --quant_bits 4)'})
    lorap_lr_ratio: Optional[float] = field(
        default=None, metadata={'help': 'LoRA+: the learning rate of lora_B is learning_rate times this (e.g. 16)'})

    # full fine-tuning with parts frozen (tuner_type full or freeze)
    freeze_parameters: List[str] = field(
        default_factory=list, metadata={'help': 'parameter name prefixes to freeze'})
    freeze_parameters_ratio: float = field(
        default=0.0, metadata={'help': 'freeze this fraction of all parameters, counted from the bottom (0..1)'})
    trainable_parameters: List[str] = field(
        default_factory=list, metadata={'help': 'parameter name prefixes trained even when frozen above'})

    # multimodal models: their parts, by the registry's model_arch prefixes (ms-swift's names and defaults)
    freeze_llm: bool = field(default=False, metadata={'help': 'multimodal: leave the language model untrained'})
    freeze_vit: bool = field(default=True, metadata={'help': 'multimodal: leave the vision tower untrained'})
    freeze_aligner: bool = field(
        default=True, metadata={'help': 'multimodal: leave the aligner (projector) untrained; false trains it in '
                                        'full, also beside LoRA'})
    vit_lr: Optional[float] = field(default=None, metadata={'help': 'multimodal: learning rate of the vision tower'})
    aligner_lr: Optional[float] = field(default=None, metadata={'help': 'multimodal: learning rate of the aligner'})

    # AdaLoRA
    adalora_target_r: int = field(default=8, metadata={'help': 'AdaLoRA: average rank after budgeting'})
    adalora_init_r: int = field(default=12, metadata={'help': 'AdaLoRA: initial rank of every matrix'})
    adalora_tinit: int = field(default=0, metadata={'help': 'AdaLoRA: warm-up steps before budgeting'})
    adalora_tfinal: int = field(default=0, metadata={'help': 'AdaLoRA: final steps with the rank fixed'})
    adalora_deltaT: int = field(default=1, metadata={'help': 'AdaLoRA: steps between two budget allocations'})
    adalora_beta1: float = field(default=0.85, metadata={'help': 'AdaLoRA: EMA factor of the sensitivity'})
    adalora_beta2: float = field(default=0.85, metadata={'help': 'AdaLoRA: EMA factor of the uncertainty'})
    adalora_orth_reg_weight: float = field(default=0.5, metadata={'help': 'AdaLoRA: orthogonality penalty'})
    adalora_total_step: Optional[int] = field(
        default=None, metadata={'help': 'AdaLoRA: total optimizer steps (default: --max_steps)'})

    # VeRA
    vera_rank: int = field(default=256, metadata={'help': 'VeRA: rank of the shared random projections'})
    vera_projection_prng_key: int = field(default=0, metadata={'help': 'VeRA: seed of the shared projections'})
    vera_dropout: float = field(default=0.0, metadata={'help': 'VeRA: dropout'})
    vera_d_initial: float = field(default=0.1, metadata={'help': 'VeRA: initial value of the d vector'})

    # BOFT
    boft_block_size: int = field(default=4, metadata={'help': 'BOFT: block size (or set --boft_block_num)'})
    boft_block_num: int = field(default=0, metadata={'help': 'BOFT: number of blocks (0: from block size)'})
    boft_n_butterfly_factor: int = field(default=1, metadata={'help': 'BOFT: butterfly factors (1 = plain OFT)'})
    boft_dropout: float = field(default=0.0, metadata={'help': 'BOFT: multiplicative dropout'})

    # IA3
    ia3_feedforward_modules: List[str] = field(
        default_factory=list,
        metadata={'help': 'IA3: target modules that are feed-forward (scaled on the input side); '
                          'default: PEFT\'s choice for the model type'})

    # LLaMA-Pro
    llamapro_num_new_blocks: int = field(default=4, metadata={'help': 'LLaMA-Pro: decoder blocks to add'})
    llamapro_num_groups: Optional[int] = field(
        default=None, metadata={'help': 'LLaMA-Pro: groups the layers are split into (default: new blocks)'})

    ALIASES = {'train_type': 'tuner_type', 'sft_type': 'tuner_type', 'lora_target_modules': 'target_modules',
               'lora_modules_to_save': 'modules_to_save'}

    def __post_init__(self):
        super().__post_init__()
        check_range('freeze_parameters_ratio', self.freeze_parameters_ratio, 0, 1)
        if self.trainable_token_indices and self.tuner_type != 'lora':
            raise SwiftError(f'--trainable_token_indices works with --tuner_type lora (PEFT\'s LoraConfig), not '
                             f'{self.tuner_type}: train the embeddings with --modules_to_save instead')
        for flag in ('lora_rank', 'adalora_target_r', 'adalora_init_r', 'vera_rank', 'llamapro_num_new_blocks'):
            check_range(flag, getattr(self, flag), low=1)
