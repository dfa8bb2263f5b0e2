"""Arguments of `swift rlhf`: everything `swift sft` takes, plus the alignment flags (ms-swift's names).

Defaults that depend on the algorithm (beta, loss_type) are None here and filled in __post_init__,
so `--rlhf_type simpo` gets SimPO's beta of 2.0 while DPO gets 0.1.
"""
from dataclasses import dataclass, field
from typing import List, Optional

from swift.train.arguments import SftArguments
from swift.utils import SwiftError, did_you_mean

RLHF_TYPES = ('dpo', 'orpo', 'simpo', 'cpo', 'kto', 'rm', 'ppo', 'grpo')
PAIRWISE_TYPES = ('dpo', 'orpo', 'simpo', 'cpo', 'rm')  # rows need a rejected answer
ONLINE_TYPES = ('ppo', 'grpo')  # rows are prompts; answers are generated while training
# Types that compare the policy with a frozen reference model.
REFERENCE_TYPES = ('dpo', 'kto', 'ppo', 'grpo')

DEFAULT_BETA = {'dpo': 0.1, 'orpo': 0.1, 'simpo': 2.0, 'cpo': 0.1, 'kto': 0.1, 'ppo': 0.05, 'grpo': 0.04}
DEFAULT_LOSS_TYPE = {'dpo': 'sigmoid', 'cpo': 'sigmoid', 'simpo': 'simpo', 'kto': 'kto', 'grpo': 'grpo'}


def _loss_types_of(rlhf_type: str):
    from . import losses
    return {'dpo': losses.DPO_LOSS_TYPES, 'cpo': losses.CPO_LOSS_TYPES, 'simpo': ('simpo', ),
            'kto': losses.KTO_LOSS_TYPES, 'grpo': losses.GRPO_LOSS_TYPES}.get(rlhf_type, ())


@dataclass
class RLHFArguments(SftArguments):
    rlhf_type: str = field(default='dpo', metadata={'help': ' | '.join(RLHF_TYPES)})
    # Pairs and KTO score the last answer only, as TRL does; a row's earlier turns are its prompt.
    loss_scale: str = field(default='last_round', metadata={'help': 'last_round | default | all'})

    # the reference model
    ref_model: Optional[str] = field(default=None, metadata={'help': 'reference model (default: --model)'})
    ref_adapters: List[str] = field(default_factory=list, metadata={'help': 'adapters applied to the reference'})
    reference_free: bool = field(default=False, metadata={'help': 'DPO against a uniform reference (no model)'})
    precompute_ref_log_probs: bool = field(
        default=False, metadata={'help': 'score the data with the reference once, then free it'})

    # preference losses
    beta: Optional[float] = field(default=None, metadata={'help': 'KL / temperature coefficient (per-type default)'})
    loss_type: List[str] = field(default_factory=list, metadata={'help': 'DPO: sigmoid hinge ipo robust bco_pair ...; '
                                                                          'several are summed (see --loss_weights)'})
    loss_weights: List[float] = field(default_factory=list, metadata={'help': 'weights of several --loss_type'})
    rpo_alpha: Optional[float] = field(default=None, metadata={'help': 'DPO: add rpo_alpha × NLL of the chosen'})
    label_smoothing: float = field(default=0.0, metadata={'help': 'DPO robust/exo_pair/aot, CPO: label noise'})
    simpo_gamma: float = field(default=1.0, metadata={'help': 'SimPO target reward margin'})
    cpo_alpha: Optional[float] = field(
        default=None, metadata={'help': 'CPO/SimPO: weight of the NLL of the chosen (default CPO 1, SimPO 0)'})
    desirable_weight: float = field(default=1.0, metadata={'help': 'KTO: weight of desirable (label true) rows'})
    undesirable_weight: float = field(default=1.0, metadata={'help': 'KTO: weight of undesirable rows'})
    center_rewards_coefficient: Optional[float] = field(
        default=None, metadata={'help': 'RM: pull the rewards towards 0 (e.g. 0.01)'})

    # online: reward sources
    reward_model: Optional[str] = field(default=None, metadata={'help': 'PPO/GRPO: a reward model (swift rm output)'})
    reward_adapters: List[str] = field(default_factory=list, metadata={'help': 'adapters of --reward_model'})
    reward_funcs: List[str] = field(default_factory=list,
                                    metadata={'help': 'GRPO: accuracy format length repetition, or a plugin\'s'})
    reward_weights: List[float] = field(default_factory=list, metadata={'help': 'GRPO: one weight per reward'})

    # online: generation
    num_generations: int = field(default=8, metadata={'help': 'GRPO: completions per prompt (the group)'})
    max_completion_length: int = field(default=512, metadata={'help': 'PPO/GRPO: max new tokens per completion'})
    temperature: float = field(default=0.9, metadata={'help': 'PPO/GRPO: sampling temperature'})
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    use_vllm: bool = field(default=False, metadata={'help': 'GRPO/PPO: generate with vLLM (needs vllm and a GPU)'})
    vllm_gpu_memory_utilization: float = field(
        default=0.3, metadata={'help': '--use_vllm: share of GPU memory the vLLM engine takes (it sits beside training)'})
    vllm_max_model_len: Optional[int] = field(
        default=None, metadata={'help': '--use_vllm: vLLM context length (default: the model\'s)'})
    vllm_enable_sleep_mode: bool = field(
        default=False, metadata={'help': '--use_vllm: free vLLM\'s memory between rollouts (sleep / wake_up)'})

    # online: optimisation
    epsilon: float = field(default=0.2, metadata={'help': 'PPO/GRPO: clip range of the probability ratio'})
    epsilon_high: Optional[float] = field(default=None, metadata={'help': 'upper clip range (DAPO), default epsilon'})
    scale_rewards: bool = field(default=True, metadata={'help': 'GRPO: divide advantages by the group std'})
    vf_coef: float = field(default=0.1, metadata={'help': 'PPO: weight of the value loss'})
    cliprange_value: float = field(default=0.2, metadata={'help': 'PPO: clip range of the value update'})
    gamma: float = field(default=1.0, metadata={'help': 'PPO: discount'})
    lam: float = field(default=0.95, metadata={'help': 'PPO: GAE lambda'})
    missing_eos_penalty: Optional[float] = field(
        default=None, metadata={'help': 'PPO: subtract from the score of completions cut at max_completion_length'})

    ALIASES = {'ref_model_id_or_path': 'ref_model', 'reward_model_id_or_path': 'reward_model',
               'max_new_tokens': 'max_completion_length', 'kl_coef': 'beta'}

    def __post_init__(self):
        if self.rlhf_type not in RLHF_TYPES:
            raise SwiftError(f'--rlhf_type must be one of {", ".join(RLHF_TYPES)}, not {self.rlhf_type!r}.'
                             f'{did_you_mean(self.rlhf_type, RLHF_TYPES)}')
        super().__post_init__()
        if self.beta is None:
            self.beta = DEFAULT_BETA.get(self.rlhf_type, 0.1)
        if self.cpo_alpha is None:
            self.cpo_alpha = 1.0 if self.rlhf_type == 'cpo' else 0.0
        self._check_loss_types()
        self._check_reference()
        self._check_online()
        if self.label_smoothing and not 0 <= self.label_smoothing < 0.5:
            raise SwiftError(f'--label_smoothing must be in [0, 0.5), got {self.label_smoothing}')
        if self.packing or self.padding_free:
            raise SwiftError(f'--packing / --padding_free are not supported by swift rlhf ({self.rlhf_type}): '
                             'chosen and rejected answers are scored row by row')

    def _check_loss_types(self):
        allowed = _loss_types_of(self.rlhf_type)
        if not self.loss_type:
            default = DEFAULT_LOSS_TYPE.get(self.rlhf_type)
            self.loss_type = [default] if default else []
        elif not allowed:
            raise SwiftError(f'--loss_type does not apply to --rlhf_type {self.rlhf_type}')
        for name in self.loss_type:
            if name not in allowed:
                raise SwiftError(f'--loss_type {name!r} is not a {self.rlhf_type} loss; choose from '
                                 f'{", ".join(allowed)}.{did_you_mean(name, allowed)}')
        if len(self.loss_type) > 1 and self.rlhf_type != 'dpo':
            raise SwiftError(f'{self.rlhf_type} takes one --loss_type; only DPO mixes several')
        if self.loss_weights and len(self.loss_weights) != len(self.loss_type):
            raise SwiftError(f'--loss_weights has {len(self.loss_weights)} values for {len(self.loss_type)} '
                             f'--loss_type values ({" ".join(self.loss_type)}): give one weight per loss type')

    def _check_reference(self):
        if self.reference_free and self.rlhf_type != 'dpo':
            raise SwiftError('--reference_free applies to DPO only (ORPO, SimPO and CPO never use a reference)')
        if (self.ref_model or self.ref_adapters) and self.rlhf_type not in REFERENCE_TYPES:
            raise SwiftError(f'{self.rlhf_type} uses no reference model: drop --ref_model / --ref_adapters')
        if self.precompute_ref_log_probs and self.rlhf_type not in ('dpo', 'kto'):
            raise SwiftError('--precompute_ref_log_probs applies to DPO and KTO (offline data); '
                             f'{self.rlhf_type} cannot precompute')

    def _check_online(self):
        if self.rlhf_type not in ONLINE_TYPES:
            return
        if self.rlhf_type == 'grpo' and not self.reward_funcs and not self.reward_model:
            raise SwiftError('GRPO needs rewards: --reward_funcs (accuracy, format, length, repetition or a plugin\'s) '
                             'and/or --reward_model')
        if self.rlhf_type == 'ppo' and not self.reward_model:
            raise SwiftError('PPO needs --reward_model: a sequence-classification reward model, e.g. the output '
                             'of swift rlhf --rlhf_type rm')
        if self.rlhf_type == 'grpo' and self.num_generations < 2:
            raise SwiftError('GRPO compares completions of the same prompt: --num_generations must be 2 or more')
        if self.reward_weights:
            sources = len(self.reward_funcs) + (1 if self.reward_model else 0)
            if len(self.reward_weights) != sources:
                raise SwiftError(f'--reward_weights has {len(self.reward_weights)} values for {sources} rewards '
                                 '(--reward_funcs, then --reward_model)')
        if self.max_completion_length < 1:
            raise SwiftError('--max_completion_length must be at least 1')

    @property
    def uses_reference(self) -> bool:
        if self.rlhf_type == 'dpo':
            return not self.reference_free
        if self.rlhf_type == 'grpo':
            return self.beta != 0.0
        return self.rlhf_type in REFERENCE_TYPES
