"""What `swift sft` trains the model as (ms-swift's --task_type) and the losses of the non-generative tasks."""
from dataclasses import dataclass, field
from typing import Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, check_choice, check_range

TASK_TYPES = ('causal_lm', 'seq_cls', 'embedding', 'reranker', 'generative_reranker')
PROBLEM_TYPES = ('regression', 'single_label_classification', 'multi_label_classification')
EMBEDDING_LOSSES = ('infonce', 'cosine_similarity', 'contrastive', 'online_contrastive')
RERANKER_LOSSES = ('pointwise_reranker', 'listwise_reranker')
# ms-swift 3 named the generative reranker losses apart; they are the same losses on yes/no logits
RERANKER_LOSS_ALIASES = {'reranker': 'pointwise_reranker', 'generative_reranker': 'pointwise_reranker',
                         'listwise_generative_reranker': 'listwise_reranker'}
TASK_LOSSES = {'embedding': EMBEDDING_LOSSES, 'reranker': RERANKER_LOSSES, 'generative_reranker': RERANKER_LOSSES}
DEFAULT_TASK_LOSS = {'embedding': 'infonce', 'reranker': 'pointwise_reranker',
                     'generative_reranker': 'pointwise_reranker'}


@dataclass
class TaskArguments(ArgumentGroup):
    """--task_type and its settings (swift.training.tasks implements them)."""
    GROUP_TITLE = 'task'

    task_type: str = field(default='causal_lm', metadata={'help': ' | '.join(TASK_TYPES)})
    num_labels: Optional[int] = field(default=None, metadata={'help': 'seq_cls: classes (1 with regression)'})
    problem_type: Optional[str] = field(default=None, metadata={
        'help': 'seq_cls: ' + ' | '.join(PROBLEM_TYPES) + ' (default: from num_labels and the label column)'})
    loss_type: Optional[str] = field(default=None, metadata={
        'help': 'embedding: ' + ' | '.join(EMBEDDING_LOSSES) + ' (default infonce); reranker / generative_reranker: '
                + ' | '.join(RERANKER_LOSSES) + ' (default pointwise_reranker)'})

    def __post_init__(self):
        super().__post_init__()
        check_choice('task_type', self.task_type, TASK_TYPES)
        check_range('num_labels', self.num_labels, low=1)
        if self.problem_type is not None:
            check_choice('problem_type', self.problem_type, PROBLEM_TYPES)
        if self.task_type == 'seq_cls' and self.num_labels is None:
            raise SwiftError('--task_type seq_cls needs --num_labels (the number of classes; 1 for regression)')
        if self.task_type != 'seq_cls' and (self.num_labels is not None or self.problem_type is not None):
            if not (self.task_type == 'reranker' and self.num_labels == 1):
                raise SwiftError(f'--num_labels / --problem_type are for --task_type seq_cls, not {self.task_type}')
        if self.task_type == 'reranker':
            self.num_labels = 1
        self.loss_type = RERANKER_LOSS_ALIASES.get(self.loss_type, self.loss_type)
        allowed = TASK_LOSSES.get(self.task_type)
        if allowed is None:
            if self.loss_type is not None:
                raise SwiftError(f'--loss_type {self.loss_type} is for --task_type embedding / reranker / '
                                 f'generative_reranker; {self.task_type} trains with its own loss')
            return
        self.loss_type = self.loss_type or DEFAULT_TASK_LOSS[self.task_type]
        check_choice('loss_type', self.loss_type, allowed)
