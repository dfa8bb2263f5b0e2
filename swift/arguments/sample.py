"""Arguments of `swift sample`: rejection sampling (several answers per prompt, scored, the best kept) and
distillation (a model's answers to the prompts), written as a dataset swift sft trains on."""
from dataclasses import dataclass, field
from typing import List, Optional

from swift.utils import SwiftError

from .base import check_choice, check_range, override
from .generation import GenerationArguments
from .infer import _InferCommon

SAMPLER_TYPES = ('sample', 'distill')


@dataclass
class SampleArguments(_InferCommon):
    """`swift sample`."""
    GROUP_TITLE = 'swift sample'

    sampler_type: str = field(default='sample', metadata={'help': 'sample: several answers per prompt, scored, the '
                                                                  'best kept | distill: the model\'s answers as data'})
    dataset: List[str] = field(default_factory=list, metadata={'help': 'the prompts: dataset files or IDs (a final '
                                                                       'assistant turn is dropped; it stays as '
                                                                       '`solution` for the accuracy reward)'})
    num_return_sequences: int = field(default=64, metadata={'help': 'answers sampled per prompt'})
    n_best_to_keep: int = field(default=5, metadata={'help': 'answers kept per prompt: the highest-scoring '
                                                             'distinct ones'})
    orm_model: Optional[str] = field(default=None, metadata={'help': 'outcome reward: a reward function name '
                                                                     '(accuracy, format, ... or a plugin\'s) or a '
                                                                     'reward model (swift rlhf --rlhf_type rm output)'})
    reward_funcs: List[str] = field(default_factory=list, metadata={'help': 'more reward functions, summed with '
                                                                            '--orm_model'})
    min_reward: Optional[float] = field(default=None, metadata={'help': 'drop answers scoring below this'})
    output_dir: str = field(default='sample_output', metadata={'help': 'where the output file goes'})
    output_file: Optional[str] = field(default=None, metadata={'help': 'JSONL file name in --output_dir (default: '
                                                                       '<sampler_type>.jsonl)'})
    temperature: float = override(GenerationArguments, 'temperature', 1.0)

    def __post_init__(self):
        super().__post_init__()
        check_choice('sampler_type', self.sampler_type, SAMPLER_TYPES)
        if not self.dataset:
            raise SwiftError('swift sample needs --dataset: the prompts to answer')
        check_range('num_return_sequences', self.num_return_sequences, low=1)
        check_range('n_best_to_keep', self.n_best_to_keep, low=1)
        if self.sampler_type == 'sample' and not (self.orm_model or self.reward_funcs):
            raise SwiftError('--sampler_type sample keeps the best answers, so it needs a score: --orm_model (a '
                             'reward function or reward model) and/or --reward_funcs; use --sampler_type distill '
                             'to keep answers unscored')
        if self.n_best_to_keep > self.num_return_sequences:
            raise SwiftError(f'--n_best_to_keep {self.n_best_to_keep} is more than --num_return_sequences '
                             f'{self.num_return_sequences}')
        if self.output_file and ('/' in self.output_file or not self.output_file.endswith('.jsonl')):
            raise SwiftError('--output_file is a .jsonl file name inside --output_dir, e.g. sample.jsonl')
