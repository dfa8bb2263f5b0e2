import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.arguments import BaseArguments, GenerationArguments, ModelArguments, TemplateArguments
from swift.utils import SwiftError, did_you_mean, get_logger

logger = get_logger()

INFER_BACKENDS = ('pt', 'vllm', 'sglang', 'lmdeploy')


@dataclass
class InferArguments(GenerationArguments, TemplateArguments, ModelArguments, BaseArguments):
    adapters: List[str] = field(default_factory=list,
                                metadata={'help': 'LoRA/adapter checkpoint directories (name=path to name them)'})
    infer_backend: str = field(default='pt', metadata={'help': 'pt | vllm | sglang | lmdeploy'})
    max_batch_size: int = field(default=32, metadata={'help': 'most sequences decoded together'})
    merge_lora: bool = field(default=False, metadata={'help': 'merge the adapter into the weights before serving'})
    val_dataset: List[str] = field(default_factory=list,
                                   metadata={'help': 'batch mode: dataset files or IDs to answer, row by row'})
    result_path: Optional[str] = field(default=None,
                                       metadata={'help': 'batch mode: JSONL output (resumed when it exists)'})
    engine_kwargs: Optional[Dict[str, Any]] = field(
        default=None, metadata={'help': 'extra keywords for the backend engine, as JSON (e.g. gpu_memory_utilization)'})

    ALIASES = {'ckpt_dir': 'adapters'}

    def __post_init__(self):
        super().__post_init__()
        if self.infer_backend not in INFER_BACKENDS:
            raise SwiftError(f'--infer_backend {self.infer_backend!r} is not one of {", ".join(INFER_BACKENDS)}.'
                             f'{did_you_mean(self.infer_backend, INFER_BACKENDS)}')
        if self.max_batch_size < 1:
            raise SwiftError(f'--max_batch_size must be >= 1, got {self.max_batch_size}')
        if self.result_path and not self.val_dataset:
            raise SwiftError('--result_path is for batch mode: pass --val_dataset FILE_OR_ID as well')
        self._fill_from_checkpoint()
        if not self.model:
            raise SwiftError('--model is required (a registry ID such as smollm2-135m-instruct, a hub ID or '
                             'a local directory), or --adapters a swift checkpoint')

    def _fill_from_checkpoint(self):
        """`--adapters checkpoint-N` alone is enough: model, template and system come from its args.json."""
        fill_from_checkpoint(self)


def fill_from_checkpoint(args, keys=('model', 'model_type', 'template', 'system')) -> Optional[Path]:
    """Fill the unset `keys` of `args` from the first adapter checkpoint's args.json (in the checkpoint
    or its output directory); returns that file, or None. Shared by infer, deploy and eval."""
    from swift.tuners.saving import parse_adapter_spec
    for index, spec in enumerate(args.adapters):
        _, adapter = parse_adapter_spec(spec, index)
        for args_file in (Path(adapter) / 'args.json', Path(adapter).parent / 'args.json'):
            if args_file.is_file():
                saved = json.loads(args_file.read_text(encoding='utf-8'))
                for key in keys:
                    if getattr(args, key, None) is None and saved.get(key) is not None:
                        setattr(args, key, saved[key])
                logger.info(f'Using model {args.model!r} from {args_file}')
                return args_file
    return None
