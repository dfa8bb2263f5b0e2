"""Which rows a run trains on and how they are encoded: the data group of swift sft / pt / rlhf."""
from dataclasses import dataclass, field
from typing import ClassVar, List, Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, check_choice, check_range

TRUNCATION_STRATEGIES = ('delete', 'left', 'right', 'error', 'split')  # split: swift pt only
LOSS_SCALES = ('default', 'last_round', 'all')
# ms-swift's weightings on top of a base strategy, e.g. hermes, last_round+hermes, hermes+ignore_empty_think
LOSS_SCALE_WEIGHTINGS = ('react', 'hermes', 'ignore_empty_think')  # swift.template.loss_scale


def split_loss_scale(value: str):
    """'last_round+hermes' → ('last_round', ['hermes']); 'react' → ('default', ['react'])."""
    parts = [p for p in str(value).split('+') if p]
    base = parts.pop(0) if parts and parts[0] in LOSS_SCALES else 'default'
    for part in parts:
        check_choice('loss_scale', part, LOSS_SCALES + LOSS_SCALE_WEIGHTINGS)
        if part in LOSS_SCALES:
            raise SwiftError(f'--loss_scale {value}: {part!r} is a base strategy; it may only come first')
    if not parts and value not in LOSS_SCALES:
        check_choice('loss_scale', value, LOSS_SCALES + LOSS_SCALE_WEIGHTINGS)
    return base, parts


@dataclass
class DataArguments(ArgumentGroup):
    GROUP_TITLE = 'data'
    SPLIT_TRUNCATION: ClassVar[bool] = False  # swift pt's class allows --truncation_strategy split
    DATASET_REQUIRED: ClassVar[bool] = True  # (unless --cached_dataset brings the samples)

    dataset: List[str] = field(default_factory=list,
                               metadata={'help': '[hf::|ms::]ID_OR_PATH[:subset][#N], several are concatenated'})
    val_dataset: List[str] = field(default_factory=list, metadata={'help': 'validation rows, in the same forms'})
    split_dataset_ratio: float = field(default=0.0, metadata={'help': 'fraction of --dataset held out for eval'})
    columns: dict = field(default_factory=dict, metadata={'help': 'JSON map of column renames'})
    strict: bool = field(default=False, metadata={'help': 'stop at the first bad row instead of dropping it'})
    truncation_strategy: str = field(default='delete', metadata={'help': ' | '.join(TRUNCATION_STRATEGIES)})
    model_name: List[str] = field(default_factory=list, metadata={'help': 'name for swift/self-cognition'})
    model_author: List[str] = field(default_factory=list, metadata={'help': 'author for swift/self-cognition'})
    loss_scale: str = field(default='default', metadata={
        'help': 'which answers are trained: ' + ' | '.join(LOSS_SCALES) + ', optionally + a weighting: '
                + ' | '.join(LOSS_SCALE_WEIGHTINGS) + ' (e.g. last_round+hermes)'})
    data_seed: Optional[int] = field(default=None, metadata={
        'help': 'seed of the data\'s sampling, split and shuffle (default: --seed)'})
    dataset_shuffle: bool = field(default=True, metadata={
        'help': 'training rows in a seeded random order; false: file order, and #N takes the first N rows'})
    val_dataset_shuffle: bool = field(default=False, metadata={'help': 'validation rows in a seeded random order'})
    dataset_num_proc: int = field(default=1, metadata={'help': 'processes that encode (tokenize) the rows'})
    load_from_cache_file: bool = field(default=False, metadata={
        'help': 'reuse the encoded rows of an earlier run with the same data, tokenizer, template and settings '
                '($SWIFT_CACHE/encoded)'})
    image_folder: Optional[str] = field(
        default=None, metadata={'help': 'folder where relative image/video/audio paths are looked up first '
                                        "(else the dataset file's folder)"})
    use_chat_template: bool = field(default=True, metadata={
        'help': "false: plain text with no chat format (template 'raw'; swift pt's default)"})

    def __post_init__(self):
        super().__post_init__()
        if not self.dataset and self.DATASET_REQUIRED and not getattr(self, 'cached_dataset', None):
            raise SwiftError('--dataset is required (a file, directory, registered or hub dataset; or '
                             '--cached_dataset, a dataset swift export --to_cached_dataset wrote)')
        check_range('split_dataset_ratio', self.split_dataset_ratio, what='in [0, 1)', low=0, high=0.999999)
        check_choice('truncation_strategy', self.truncation_strategy, TRUNCATION_STRATEGIES)
        check_range('dataset_num_proc', self.dataset_num_proc, low=1)
        if self.truncation_strategy == 'split' and not self.SPLIT_TRUNCATION:
            raise SwiftError('--truncation_strategy split cuts plain text into max_length pieces: it is for swift pt '
                             '(a conversation cut in pieces loses its prompt); use delete, left or right')
        split_loss_scale(self.loss_scale)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.columns.items()):
            raise SwiftError(f'--columns must map column names to names, e.g. {{"question": "query"}}; '
                             f'got {self.columns!r}')


@dataclass
class CachedDataArguments(ArgumentGroup):
    """Samples encoded beforehand by `swift export --to_cached_dataset true` (swift.dataset.cached)."""
    GROUP_TITLE = 'cached data'

    cached_dataset: List[str] = field(default_factory=list, metadata={
        'help': 'pre-tokenized training samples: a directory swift export --to_cached_dataset wrote, or its train '
                'folder (with --dataset, both are trained on)'})
    cached_val_dataset: List[str] = field(default_factory=list, metadata={
        'help': 'pre-tokenized validation samples (default: the val folder of a --cached_dataset directory)'})
