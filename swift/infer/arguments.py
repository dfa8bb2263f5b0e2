import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from swift.arguments import BaseArguments, GenerationArguments, ModelArguments, TemplateArguments
from swift.utils import SwiftError, get_logger

logger = get_logger()


@dataclass
class InferArguments(GenerationArguments, TemplateArguments, ModelArguments, BaseArguments):
    adapters: List[str] = field(default_factory=list, metadata={'help': 'LoRA/adapter checkpoint directories'})

    ALIASES = {'ckpt_dir': 'adapters'}

    def __post_init__(self):
        super().__post_init__()
        self._fill_from_checkpoint()
        if not self.model:
            raise SwiftError('--model is required (a registry ID such as smollm2-135m-instruct, a hub ID or '
                             'a local directory), or --adapters a swift checkpoint')

    def _fill_from_checkpoint(self):
        """`--adapters checkpoint-N` alone is enough: model, template and system come from its args.json."""
        for adapter in self.adapters:
            args_file = Path(adapter) / 'args.json'
            if not args_file.is_file():
                args_file = Path(adapter).parent / 'args.json'
            if not args_file.is_file():
                continue
            saved = json.loads(args_file.read_text(encoding='utf-8'))
            for key in ('model', 'model_type', 'template', 'system'):
                if getattr(self, key) is None and saved.get(key) is not None:
                    setattr(self, key, saved[key])
            logger.info(f'Using model {self.model!r} from {args_file}')
            return
