"""Families that run on the checkpoint's own code, which transformers does not ship: Phi-3 / Phi-3.5-vision
(models/phi_vision.py) and MiniCPM-V 2.6 (models/minicpmv.py).

swift runs that code only when the model directory carries it (config.json's `auto_map` and the .py files it names)
and the user passed --trust_remote_code true; otherwise a SwiftError says which of the two is missing and what to
do, before transformers runs anything. Model and processor then load through transformers' Auto classes, as the
repository's model card does. Verified: no (no such code or weights here; docs/multimodal.md "Why Phi-3-vision and
MiniCPM-V 2.6 were not run" says what stops each).
"""
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from swift.utils import SwiftError


@dataclass(frozen=True)
class RemoteCodeFamily:
    name: str  # as the messages name it
    download: str  # what to download to get the code
    entry: str  # the auto_map key the model loads through (AutoModel, AutoModelForCausalLM)
    alternative: str = ''  # a family transformers supports natively, suggested in the messages

    def problem(self, model_dir, trust_remote_code: bool) -> Optional[str]:
        """Why the family cannot load from model_dir; None when it can."""
        config_file = Path(model_dir) / 'config.json'
        try:
            auto_map = json.loads(config_file.read_text(encoding='utf-8')).get('auto_map') or {}
        except (OSError, ValueError, AttributeError) as e:
            return f'{config_file}: cannot read the {self.name} config ({e})'
        instead = f', or use {self.alternative}, which transformers supports natively' if self.alternative else ''
        own_code = f'{model_dir}: {self.name} runs on the checkpoint\'s own code (transformers ships no classes for it)'
        if not auto_map.get(self.entry):
            return (f'{own_code}, and its config.json names none (no auto_map {self.entry} entry): '
                    f'download {self.download}{instead}')
        modules = sorted({v.split('--')[-1].split('.')[0] for v in auto_map.values() if isinstance(v, str)})
        missing = [f'{m}.py' for m in modules if not (Path(model_dir) / f'{m}.py').is_file()]
        if missing:
            return f'{own_code}, and the directory lacks {", ".join(missing)}: download {self.download}{instead}'
        if not trust_remote_code:
            return (f'{own_code} ({auto_map[self.entry]}), which swift runs only with --trust_remote_code true '
                    f'(trust_remote_code=True in Python): pass it if you trust this repository{instead}')
        return None

    def check(self, model_dir, trust_remote_code: bool) -> None:
        problem = self.problem(model_dir, trust_remote_code)
        if problem:
            raise SwiftError(problem)

    def load_processor(self, model_dir, trust_remote_code: bool = False):
        from transformers import AutoProcessor
        self.check(model_dir, trust_remote_code)
        with self._imports_named(model_dir):
            return AutoProcessor.from_pretrained(str(model_dir), trust_remote_code=True)

    def load_model(self, model_class, model_dir, trust_remote_code: bool = False, **kwargs):
        self.check(model_dir, trust_remote_code)
        with self._imports_named(model_dir):
            return model_class.from_pretrained(str(model_dir), trust_remote_code=True, **kwargs)

    @contextmanager
    def _imports_named(self, model_dir):
        """The repository's code imports packages swift does not install (Phi-3-vision's image processor imports
        torchvision; transformers checks a module's imports before running it): one SwiftError naming the family
        and transformers' own list of what is missing, instead of a traceback from inside the loader."""
        try:
            yield
        except ImportError as e:
            raise SwiftError(f'{model_dir}: the {self.name} repository\'s own code needs a package that is not '
                             f'installed: {e}') from e


PHI3_VISION = RemoteCodeFamily(
    'Phi-3-vision', 'the whole microsoft/Phi-3.5-vision-instruct or microsoft/Phi-3-vision-128k-instruct repository '
    '(with its *.py files)', 'AutoModelForCausalLM', 'Phi-4-multimodal (phi4_multimodal)')
MINICPMV2_6 = RemoteCodeFamily(
    'MiniCPM-V 2.6 (minicpmv2_6)', 'the full openbmb/MiniCPM-V-2_6 repository (modeling_minicpmv.py, resampler.py, '
    'image_processing_minicpmv.py, processing_minicpmv.py with their auto_map)', 'AutoModel',
    'MiniCPM-V 4.6 (minicpmv4_6)')
