"""Arguments of the helper commands: `swift download` and `swift data check`."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from swift.utils import SwiftError

from .base import BaseArguments, check_range


@dataclass
class DownloadArguments(BaseArguments):
    GROUP_TITLE = 'swift download'

    model: Optional[str] = field(default=None, metadata={'help': 'registry ID or alias, or a hub ID (org/name)'})
    use_hf: bool = field(default=False, metadata={'help': 'download from Hugging Face instead of ModelScope'})
    revision: Optional[str] = field(default=None, metadata={'help': 'branch, tag or commit'})
    local_dir: Optional[str] = field(default=None, metadata={'help': 'put the files here instead of the hub cache'})
    offline: bool = field(default=False, metadata={'help': 'never contact a hub; only report a local copy'})
    allow_patterns: List[str] = field(default_factory=list, metadata={'help': 'only files matching these globs'})
    ignore_patterns: List[str] = field(default_factory=list, metadata={'help': 'skip files matching these globs'})

    ALIASES = {'model_id_or_path': 'model', 'model_revision': 'revision'}

    def __post_init__(self):
        super().__post_init__()
        if not self.model:
            raise SwiftError('--model is required: a registry ID such as smollm2-135m-instruct, or a hub ID (org/name)')


@dataclass
class DataCheckArguments(BaseArguments):
    GROUP_TITLE = 'swift data check'

    dataset: List[str] = field(default_factory=list,
                               metadata={'help': '[hf::|ms::]ID_OR_PATH[:subset][#N], several are concatenated'})
    model: Optional[str] = field(default=None, metadata={'help': 'model whose tokenizer and template measure lengths'})
    val_dataset: List[str] = field(default_factory=list)
    max_length: Optional[int] = field(default=2048, metadata={'help': 'count the rows longer than this'})
    columns: Optional[Dict[str, str]] = field(default=None, metadata={'help': 'JSON map of column renames'})
    strict: bool = field(default=False, metadata={'help': 'stop at the first bad row'})
    use_hf: bool = field(default=False, metadata={'help': 'hub datasets from Hugging Face instead of ModelScope'})
    template: Optional[str] = field(default=None, metadata={'help': "template name (default: the model's)"})
    model_name: List[str] = field(default_factory=list, metadata={'help': 'name for swift/self-cognition'})
    model_author: List[str] = field(default_factory=list, metadata={'help': 'author for swift/self-cognition'})
    split_dataset_ratio: float = field(default=0.0, metadata={'help': 'fraction held out as validation rows'})
    output_dir: Optional[str] = field(default=None, metadata={'help': 'also save the report as JSON here'})
    show_bad_rows: int = field(default=20, metadata={'help': 'how many bad rows to list'})
    image_folder: Optional[str] = field(
        default=None, metadata={'help': 'folder where relative image/video/audio paths are looked up first'})
    trust_remote_code: bool = field(default=False,
                                    metadata={'help': 'run the Python code the model repository ships (a custom '
                                                      'tokenizer); only for repositories you trust'})

    def __post_init__(self):
        super().__post_init__()
        if not self.dataset and not self.val_dataset:
            raise SwiftError('--dataset is required (a file, directory, registered or hub dataset)')
        check_range('max_length', self.max_length, low=1)
        check_range('show_bad_rows', self.show_bad_rows, low=0)
