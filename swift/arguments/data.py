"""Which rows a run trains on and how they are encoded: the data group of swift sft / pt / rlhf."""
from dataclasses import dataclass, field
from typing import List, Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, check_choice, check_range

TRUNCATION_STRATEGIES = ('delete', 'left', 'right', 'error')
LOSS_SCALES = ('default', 'last_round', 'all')


@dataclass
class DataArguments(ArgumentGroup):
    GROUP_TITLE = 'data'

    dataset: List[str] = field(default_factory=list,
                               metadata={'help': '[hf::|ms::]ID_OR_PATH[:subset][#N], several are concatenated'})
    val_dataset: List[str] = field(default_factory=list, metadata={'help': 'validation rows, in the same forms'})
    split_dataset_ratio: float = field(default=0.0, metadata={'help': 'fraction of --dataset held out for eval'})
    columns: dict = field(default_factory=dict, metadata={'help': 'JSON map of column renames'})
    strict: bool = field(default=False, metadata={'help': 'stop at the first bad row instead of dropping it'})
    truncation_strategy: str = field(default='delete', metadata={'help': ' | '.join(TRUNCATION_STRATEGIES)})
    model_name: List[str] = field(default_factory=list, metadata={'help': 'name for swift/self-cognition'})
    model_author: List[str] = field(default_factory=list, metadata={'help': 'author for swift/self-cognition'})
    loss_scale: str = field(default='default', metadata={'help': 'which answers are trained: ' + ' | '.join(LOSS_SCALES)})
    image_folder: Optional[str] = field(
        default=None, metadata={'help': 'folder where relative image/video/audio paths are looked up first '
                                        "(else the dataset file's folder)"})
    use_chat_template: bool = field(default=True, metadata={
        'help': "false: plain text with no chat format (template 'raw'; swift pt's default)"})

    def __post_init__(self):
        super().__post_init__()
        if not self.dataset:
            raise SwiftError('--dataset is required (a file, directory, registered or hub dataset)')
        check_range('split_dataset_ratio', self.split_dataset_ratio, what='in [0, 1)', low=0, high=0.999999)
        check_choice('truncation_strategy', self.truncation_strategy, TRUNCATION_STRATEGIES)
        check_choice('loss_scale', self.loss_scale, LOSS_SCALES)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.columns.items()):
            raise SwiftError(f'--columns must map column names to names, e.g. {{"question": "query"}}; '
                             f'got {self.columns!r}')
