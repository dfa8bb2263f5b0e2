"""Arguments of `swift rlhf`: what every training command takes, plus the flags of the chosen --rlhf_type only.

Each algorithm has its own class with exactly its own fields and defaults, so `--rlhf_type simpo` gets
SimPO's beta of 2.0 while DPO gets 0.1, and `swift rlhf --rlhf_type dpo --vf_coef 0.1` is refused
("--vf_coef is a PPO option; this run is dpo"). Parsing picks the class from --rlhf_type:

    args = parse_args(RLHFArguments, ['--rlhf_type', 'kto', ...])     # a KTOArguments
    args = RLHFArguments(rlhf_type='grpo', model=..., dataset=[...])  # a GRPOArguments
"""
from dataclasses import dataclass, field
from typing import ClassVar, Dict, List, Optional, Type

from swift.utils import SwiftError

from .base import ArgumentGroup, check_choice, check_range, override
from .data import DataArguments
from .generation import GenerationArguments
from .training import TrainingCommonArguments

# The loss variants each algorithm implements (swift.training.rlhf.losses dispatches on these names).
DPO_LOSS_TYPES = ('sigmoid', 'hinge', 'ipo', 'exo_pair', 'nca_pair', 'robust', 'bco_pair', 'sppo_hard', 'aot',
                  'aot_unpaired', 'apo_zero', 'apo_down', 'discopop', 'sigmoid_norm')
CPO_LOSS_TYPES = ('sigmoid', 'hinge', 'ipo', 'simpo')
KTO_LOSS_TYPES = ('kto', 'apo_zero_unpaired')
GRPO_LOSS_TYPES = ('grpo', 'bnpo', 'dr_grpo', 'dapo')
SCALE_REWARDS = ('group', 'batch', 'none')  # TRL's --scale_rewards


def _check_loss_type(rlhf_type: str, loss_type: List[str], allowed, several: bool = False) -> None:
    if not loss_type:
        raise SwiftError(f'--loss_type needs a value for {rlhf_type}: one of {", ".join(allowed)}')
    for name in loss_type:
        check_choice('loss_type', name, allowed)
    if len(loss_type) > 1 and not several:
        raise SwiftError(f'{rlhf_type} takes one --loss_type; only DPO mixes several')


@dataclass
class RLHFArguments(TrainingCommonArguments):
    """`swift rlhf`: the common part; parsing and construction give the class of --rlhf_type."""
    GROUP_TITLE = 'alignment'
    RLHF_TYPE: ClassVar[Optional[str]] = None
    OFFLINE: ClassVar[bool] = True  # rows carry answers (False: prompts, answered while training)
    PAIRWISE: ClassVar[bool] = False  # rows need a rejected answer

    rlhf_type: str = field(default='dpo', metadata={'help': 'dpo | orpo | simpo | cpo | kto | rm | ppo | grpo | gkd'})
    # Pairs and KTO score the last answer only, as TRL does; a row's earlier turns are its prompt.
    loss_scale: str = override(DataArguments, 'loss_scale', 'last_round')

    def __new__(cls, *args, **kwargs):
        if cls is RLHFArguments:  # the common class stands for the class of its rlhf_type
            cls = rlhf_arguments_class(kwargs.get('rlhf_type', 'dpo'))
            cls.check_keys(kwargs)
        return super().__new__(cls)

    @classmethod
    def resolve_class(cls, lookup) -> Type['RLHFArguments']:
        """The class of --rlhf_type (parse_args asks before reading the other keys)."""
        if cls is not RLHFArguments:
            return cls
        return rlhf_arguments_class(lookup('rlhf_type') or 'dpo')

    @classmethod
    def foreign_key(cls, key: str) -> Optional[str]:
        """Why --key is refused when another algorithm (or another command) takes it."""
        owners = [t for t, c in RLHF_ARGUMENT_CLASSES.items() if key in c.__dataclass_fields__]
        if owners:
            names = '/'.join(t.upper() for t in owners)
            return f'--{key} is {"an" if names[0] in "AEIOR" else "a"} {names} option; this run is {cls.RLHF_TYPE}'
        return super().foreign_key(key)

    def __post_init__(self):
        super().__post_init__()
        if self.rlhf_type != self.RLHF_TYPE:
            raise SwiftError(f'{type(self).__name__} is for --rlhf_type {self.RLHF_TYPE}, not {self.rlhf_type!r}')

    @property
    def uses_reference(self) -> bool:
        """Whether the algorithm compares the policy with a frozen reference model."""
        return False


@dataclass
class ReferenceArguments(ArgumentGroup):
    GROUP_TITLE = 'reference model'

    ref_model: Optional[str] = field(default=None, metadata={'help': 'reference model (default: --model; with LoRA '
                                                                     'the base with the adapter off)'})
    ref_adapters: List[str] = field(default_factory=list, metadata={'help': 'adapters applied to the reference'})

    ALIASES = {'ref_model_id_or_path': 'ref_model'}


@dataclass
class RewardSourceArguments(ArgumentGroup):
    GROUP_TITLE = 'reward model'

    reward_model: List[str] = field(default_factory=list, metadata={
        'help': 'reward models (swift rlhf --rlhf_type rm output); GRPO takes several, PPO one'})
    reward_adapters: List[str] = field(default_factory=list, metadata={'help': 'adapters of --reward_model (one '
                                                                               'reward model)'})

    ALIASES = {'reward_model_id_or_path': 'reward_model'}

    def __post_init__(self):
        super().__post_init__()
        if self.reward_adapters and len(self.reward_model) > 1:
            raise SwiftError(f'--reward_adapters applies to one --reward_model, got {len(self.reward_model)}: merge '
                             'each adapter into its model (swift export --merge_lora true) and pass the merged models')


@dataclass
class RolloutArguments(GenerationArguments):
    """Sampling completions while training (PPO, GRPO): the generation flags, with sampling on by default."""
    GROUP_TITLE = 'rollouts'

    temperature: float = override(GenerationArguments, 'temperature', 0.9)
    epsilon: float = field(default=0.2, metadata={'help': 'clip range of the probability ratio'})
    epsilon_high: Optional[float] = field(default=None, metadata={'help': 'upper clip range (DAPO), default epsilon'})
    use_vllm: bool = field(default=False, metadata={'help': 'generate with vLLM (needs vllm and a GPU)'})
    vllm_gpu_memory_utilization: float = field(
        default=0.3, metadata={'help': '--use_vllm: share of GPU memory the vLLM engine takes (it sits beside training)'})
    vllm_max_model_len: Optional[int] = field(
        default=None, metadata={'help': '--use_vllm: vLLM context length (default: the model\'s)'})
    vllm_enable_sleep_mode: bool = field(
        default=False, metadata={'help': '--use_vllm: free vLLM\'s memory between rollouts (sleep / wake_up)'})
    vllm_mode: str = field(default='colocate', metadata={'help': '--use_vllm: colocate (an engine in this process) | '
                                                                 'server (a `swift rollout` server)'})
    vllm_server_host: str = field(default='127.0.0.1', metadata={'help': '--vllm_mode server: the server\'s host'})
    vllm_server_port: int = field(default=8000, metadata={'help': '--vllm_mode server: the server\'s port'})
    vllm_server_timeout: float = field(default=240.0, metadata={'help': '--vllm_mode server: seconds to wait for '
                                                                        'the server (start-up, one rollout)'})
    sleep_level: int = field(default=0, metadata={'help': '--use_vllm colocate: 1 or 2 puts vLLM to sleep between '
                                                          'rollouts at that level (2 also frees the weights)'})
    offload_model: bool = field(default=False, metadata={'help': '--use_vllm colocate: move the policy to CPU while '
                                                                 'vLLM generates'})
    offload_optimizer: bool = field(default=False, metadata={'help': '--use_vllm colocate: move the optimizer state '
                                                                     'to CPU while vLLM generates'})

    def __post_init__(self):
        super().__post_init__()
        if self.max_new_tokens is None:
            raise SwiftError('--max_new_tokens (--max_completion_length) must be set for rollouts')
        check_choice('vllm_mode', self.vllm_mode, ('colocate', 'server'))
        check_choice('sleep_level', self.sleep_level, (0, 1, 2))
        colocate_only = [f'--{name}' for name in ('sleep_level', 'offload_model', 'offload_optimizer')
                         if getattr(self, name)]
        if colocate_only and not (self.use_vllm and self.vllm_mode == 'colocate'):
            raise SwiftError(f'{", ".join(colocate_only)} free GPU memory for a vLLM engine that shares the GPU with '
                             'training: they apply to --use_vllm true --vllm_mode colocate only (without vLLM the '
                             'policy generates itself; a rollout server has its own memory)')
        if self.vllm_mode == 'server' and not self.use_vllm:
            raise SwiftError('--vllm_mode server generates on a `swift rollout` server: add --use_vllm true (ms-swift '
                             'spells it so; the server may run any --infer_backend)')
        check_range('vllm_gpu_memory_utilization', self.vllm_gpu_memory_utilization, what='in (0, 1]', low=1e-9,
                    high=1)


# ---------------------------------------------------------------- offline: pairs and unpaired rows


@dataclass
class DPOArguments(ReferenceArguments, RLHFArguments):
    GROUP_TITLE = 'DPO'
    RLHF_TYPE = 'dpo'
    PAIRWISE = True

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'dpo')
    beta: float = field(default=0.1, metadata={'help': 'KL coefficient: how far the policy may move from the '
                                                       'reference'})
    loss_type: List[str] = field(default_factory=lambda: ['sigmoid'], metadata={
        'help': ' '.join(DPO_LOSS_TYPES) + '; several are summed (see --loss_weights)'})
    loss_weights: List[float] = field(default_factory=list, metadata={'help': 'weights of several --loss_type'})
    rpo_alpha: Optional[float] = field(default=None, metadata={'help': 'add rpo_alpha × NLL of the chosen'})
    label_smoothing: float = field(default=0.0, metadata={'help': 'label noise of robust / exo_pair / aot'})
    reference_free: bool = field(default=False, metadata={'help': 'against a uniform reference (no model)'})
    precompute_ref_log_probs: bool = field(
        default=False, metadata={'help': 'score the data with the reference once, then free it'})

    ALIASES = {'kl_coef': 'beta'}

    def __post_init__(self):
        super().__post_init__()
        _check_loss_type('dpo', self.loss_type, DPO_LOSS_TYPES, several=True)
        if self.loss_weights and len(self.loss_weights) != len(self.loss_type):
            raise SwiftError(f'--loss_weights has {len(self.loss_weights)} values for {len(self.loss_type)} '
                             f'--loss_type values ({" ".join(self.loss_type)}): give one weight per loss type')
        check_range('label_smoothing', self.label_smoothing, what='in [0, 0.5)', low=0, high=0.4999999)
        if self.reference_free and (self.ref_model or self.ref_adapters or self.precompute_ref_log_probs):
            raise SwiftError('--reference_free uses no reference model: drop --ref_model / --ref_adapters / '
                             '--precompute_ref_log_probs')

    @property
    def uses_reference(self) -> bool:
        return not self.reference_free


@dataclass
class ORPOArguments(RLHFArguments):
    GROUP_TITLE = 'ORPO'
    RLHF_TYPE = 'orpo'
    PAIRWISE = True

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'orpo')
    beta: float = field(default=0.1, metadata={'help': 'weight of the odds-ratio term beside the NLL (lambda)'})


@dataclass
class SimPOArguments(RLHFArguments):
    GROUP_TITLE = 'SimPO'
    RLHF_TYPE = 'simpo'
    PAIRWISE = True

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'simpo')
    beta: float = field(default=2.0, metadata={'help': 'scale of the length-normalised reward'})
    simpo_gamma: float = field(default=1.0, metadata={'help': 'target reward margin'})
    cpo_alpha: float = field(default=0.0, metadata={'help': 'weight of the NLL of the chosen answer'})
    label_smoothing: float = field(default=0.0, metadata={'help': 'label noise'})

    def __post_init__(self):
        super().__post_init__()
        check_range('label_smoothing', self.label_smoothing, what='in [0, 0.5)', low=0, high=0.4999999)


@dataclass
class CPOArguments(RLHFArguments):
    GROUP_TITLE = 'CPO'
    RLHF_TYPE = 'cpo'
    PAIRWISE = True

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'cpo')
    beta: float = field(default=0.1, metadata={'help': 'temperature of the preference loss'})
    loss_type: List[str] = field(default_factory=lambda: ['sigmoid'], metadata={'help': ' '.join(CPO_LOSS_TYPES)})
    cpo_alpha: float = field(default=1.0, metadata={'help': 'weight of the NLL of the chosen answer'})
    simpo_gamma: float = field(default=1.0, metadata={'help': 'target reward margin of --loss_type simpo'})
    label_smoothing: float = field(default=0.0, metadata={'help': 'label noise'})

    def __post_init__(self):
        super().__post_init__()
        _check_loss_type('cpo', self.loss_type, CPO_LOSS_TYPES)
        check_range('label_smoothing', self.label_smoothing, what='in [0, 0.5)', low=0, high=0.4999999)


@dataclass
class KTOArguments(ReferenceArguments, RLHFArguments):
    GROUP_TITLE = 'KTO'
    RLHF_TYPE = 'kto'

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'kto')
    beta: float = field(default=0.1, metadata={'help': 'KL coefficient'})
    loss_type: List[str] = field(default_factory=lambda: ['kto'], metadata={'help': ' '.join(KTO_LOSS_TYPES)})
    desirable_weight: float = field(default=1.0, metadata={'help': 'weight of desirable (label true) rows'})
    undesirable_weight: float = field(default=1.0, metadata={'help': 'weight of undesirable rows'})
    precompute_ref_log_probs: bool = field(
        default=False, metadata={'help': 'score the data with the reference once, then free it'})

    def __post_init__(self):
        super().__post_init__()
        _check_loss_type('kto', self.loss_type, KTO_LOSS_TYPES)

    @property
    def uses_reference(self) -> bool:
        return True


@dataclass
class RMArguments(RLHFArguments):
    GROUP_TITLE = 'reward model training'
    RLHF_TYPE = 'rm'
    PAIRWISE = True

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'rm')
    center_rewards_coefficient: Optional[float] = field(
        default=None, metadata={'help': 'pull the rewards towards 0 (e.g. 0.01)'})

    def __post_init__(self):
        super().__post_init__()
        if self.eval_benchmarks:
            raise SwiftError('--eval_benchmarks scores a model that generates; a reward model (--rlhf_type rm) '
                             'scores conversations: evaluate it on held-out pairs with --val_dataset instead')
        if self.tuner_type not in ('lora', 'full', 'freeze'):
            raise SwiftError(f'--rlhf_type rm supports --tuner_type lora, full or freeze, not {self.tuner_type!r}')


# ---------------------------------------------------------------- online: prompts, answered while training


@dataclass
class PPOArguments(ReferenceArguments, RewardSourceArguments, RolloutArguments, RLHFArguments):
    GROUP_TITLE = 'PPO'
    RLHF_TYPE = 'ppo'
    OFFLINE = False

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'ppo')
    beta: float = field(default=0.05, metadata={'help': 'KL penalty on the token rewards'})
    vf_coef: float = field(default=0.1, metadata={'help': 'weight of the value loss'})
    cliprange_value: float = field(default=0.2, metadata={'help': 'clip range of the value update'})
    gamma: float = field(default=1.0, metadata={'help': 'discount'})
    lam: float = field(default=0.95, metadata={'help': 'GAE lambda'})
    missing_eos_penalty: Optional[float] = field(
        default=None, metadata={'help': 'subtract from the score of completions cut at --max_new_tokens'})

    ALIASES = {'kl_coef': 'beta'}

    def __post_init__(self):
        super().__post_init__()
        if len(self.reward_model) != 1:
            raise SwiftError('PPO needs one --reward_model: a sequence-classification reward model, e.g. the output '
                             f'of swift rlhf --rlhf_type rm (got {len(self.reward_model)})')

    @property
    def uses_reference(self) -> bool:
        return True


@dataclass
class GRPOArguments(ReferenceArguments, RewardSourceArguments, RolloutArguments, RLHFArguments):
    GROUP_TITLE = 'GRPO'
    RLHF_TYPE = 'grpo'
    OFFLINE = False

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'grpo')
    beta: float = field(default=0.04, metadata={'help': 'KL coefficient (0: no reference model)'})
    loss_type: List[str] = field(default_factory=lambda: ['grpo'], metadata={'help': ' '.join(GRPO_LOSS_TYPES)})
    num_generations: int = field(default=8, metadata={'help': 'completions per prompt (the group)'})
    reward_funcs: List[str] = field(default_factory=list,
                                    metadata={'help': 'accuracy format length repetition, or a plugin\'s'})
    reward_weights: List[float] = field(default_factory=list,
                                        metadata={'help': 'one weight per reward: --reward_funcs, then --reward_model'})
    scale_rewards: str = field(default='group', metadata={
        'help': 'divide advantages by the std of: group (each prompt\'s completions) | batch | none; '
                'true = group, false = none'})
    num_iterations: int = field(default=1, metadata={'help': 'policy updates per rollout (GRPO\'s mu): each '
                                                             'step\'s prompts come back this many times'})
    log_completions: bool = field(default=False, metadata={'help': 'write every completion with its rewards and '
                                                                   'advantage to <output_dir>/completions.jsonl'})
    overlong_filter: bool = field(default=False, metadata={'help': 'completions cut at --max_new_tokens take no '
                                                                   'part in the loss (DAPO)'})
    dynamic_sample: bool = field(default=False, metadata={'help': 'replace groups whose rewards are all equal '
                                                                  '(no signal) by new prompts (DAPO)'})
    max_resample_times: int = field(default=3, metadata={'help': '--dynamic_sample: rounds of new prompts per '
                                                                 'step before keeping what it has'})

    def __post_init__(self):
        super().__post_init__()
        _check_loss_type('grpo', self.loss_type, GRPO_LOSS_TYPES)
        check_range('num_iterations', self.num_iterations, low=1)
        check_range('max_resample_times', self.max_resample_times, low=0)
        if not self.reward_funcs and not self.reward_model:
            raise SwiftError('GRPO needs rewards: --reward_funcs (accuracy, format, length, repetition or a plugin\'s) '
                             'and/or --reward_model')
        if self.num_generations < 2:
            raise SwiftError('GRPO compares completions of the same prompt: --num_generations must be 2 or more')
        # TRL's spelling: a boolean means group (true) or none (false)
        self.scale_rewards = {'true': 'group', 'false': 'none'}.get(str(self.scale_rewards).lower(),
                                                                    str(self.scale_rewards))
        check_choice('scale_rewards', self.scale_rewards, SCALE_REWARDS)
        sources = len(self.reward_funcs) + len(self.reward_model)
        if self.reward_weights and len(self.reward_weights) != sources:
            raise SwiftError(f'--reward_weights has {len(self.reward_weights)} values for {sources} rewards '
                             '(--reward_funcs, then each --reward_model)')
        if self.beta == 0.0 and (self.ref_model or self.ref_adapters):
            raise SwiftError('--beta 0 uses no reference model: drop --ref_model / --ref_adapters')

    @property
    def uses_reference(self) -> bool:
        return self.beta != 0.0


# ---------------------------------------------------------------- distillation


@dataclass
class GKDArguments(RolloutArguments, RLHFArguments):
    """GKD (Agarwal et al. 2024, TRL's GKDTrainer): the student learns the teacher's next-token distributions.

    Rows carry answers (off-policy steps train on them); with probability --lmbda a step answers the prompts
    with the student instead (on-policy), else with --seq_kd the teacher answers them.
    """
    GROUP_TITLE = 'GKD'
    RLHF_TYPE = 'gkd'

    rlhf_type: str = override(RLHFArguments, 'rlhf_type', 'gkd')
    teacher_model: Optional[str] = field(default=None, metadata={'help': 'the teacher (must share the student\'s '
                                                                         'tokenizer)'})
    teacher_adapters: List[str] = field(default_factory=list, metadata={'help': 'adapters merged into the teacher'})
    beta: float = field(default=0.5, metadata={'help': 'generalized JSD interpolation: 0 forward KL(teacher||student)'
                                                       ', 1 reverse KL, between: JSD'})
    lmbda: float = field(default=0.5, metadata={'help': 'probability that a step trains on the student\'s own '
                                                        'answers (on-policy)'})
    seq_kd: bool = field(default=False, metadata={'help': 'off-policy steps train on the teacher\'s answers instead '
                                                          'of the dataset\'s (sequence-level KD)'})
    sft_alpha: float = field(default=0.0, metadata={'help': 'add sft_alpha × the NLL of the labelled tokens'})

    ALIASES = {'teacher_model_id_or_path': 'teacher_model'}

    def __post_init__(self):
        super().__post_init__()
        if not self.teacher_model:
            raise SwiftError('GKD needs --teacher_model: a model with the same tokenizer as --model')
        check_range('beta', self.beta, what='in [0, 1]', low=0, high=1)
        check_range('lmbda', self.lmbda, what='in [0, 1]', low=0, high=1)
        check_range('sft_alpha', self.sft_alpha, low=0)
        if self.temperature <= 0:
            raise SwiftError('GKD samples answers and divides logits by --temperature: it must be > 0')


RLHF_ARGUMENT_CLASSES: Dict[str, Type[RLHFArguments]] = {
    c.RLHF_TYPE: c
    for c in (DPOArguments, ORPOArguments, SimPOArguments, CPOArguments, KTOArguments, RMArguments, PPOArguments,
              GRPOArguments, GKDArguments)
}
RLHF_TYPES = tuple(RLHF_ARGUMENT_CLASSES)


def rlhf_arguments_class(rlhf_type: str) -> Type[RLHFArguments]:
    check_choice('rlhf_type', rlhf_type, RLHF_TYPES)
    return RLHF_ARGUMENT_CLASSES[rlhf_type]
