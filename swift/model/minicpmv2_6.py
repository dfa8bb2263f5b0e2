"""MiniCPM-V 2.6: the checkpoint's own code (MiniCPMV, MiniCPMVProcessor), run only with --trust_remote_code.

transformers ships no MiniCPM-V 2.6 classes: the model directory carries them (config.json auto_map →
modeling_minicpmv.MiniCPMV; preprocessor_config.json auto_map → image_processing_minicpmv.MiniCPMVImageProcessor).
Without the flag, or without that code, loading stops with a SwiftError saying what to do. Verified: no (no
checkpoint with its code was available here; the arguments are built as ms-swift's MiniCPMV2_6Template builds them).
"""
import json
from pathlib import Path

from swift.utils import SwiftError


def remote_code_problem(model_dir, trust_remote_code: bool):
    """Why MiniCPM-V 2.6 cannot load from model_dir (None when it can): its code must be there and be trusted."""
    config_file = Path(model_dir) / 'config.json'
    try:
        auto_map = json.loads(config_file.read_text(encoding='utf-8')).get('auto_map') or {}
    except (OSError, ValueError, AttributeError):
        auto_map = {}
    if not auto_map.get('AutoModel'):
        return (f'{model_dir}: MiniCPM-V 2.6 (minicpmv2_6) runs on the checkpoint\'s own code, and its config.json '
                'names none (no auto_map AutoModel entry): download the full openbmb/MiniCPM-V-2_6 repository '
                '(modeling_minicpmv.py, resampler.py, image_processing_minicpmv.py, processing_minicpmv.py with '
                'their auto_map), or use MiniCPM-V 4.6 (minicpmv4_6), which transformers supports natively')
    if not trust_remote_code:
        return (f'{model_dir}: MiniCPM-V 2.6 (minicpmv2_6) runs on the checkpoint\'s own code '
                f'({auto_map["AutoModel"]}), which swift runs only with --trust_remote_code true '
                '(trust_remote_code=True in Python): pass it if you trust this repository, or use MiniCPM-V 4.6 '
                '(minicpmv4_6), which transformers supports natively')
    return None


def _check(model_dir, trust_remote_code: bool) -> None:
    problem = remote_code_problem(model_dir, trust_remote_code)
    if problem:
        raise SwiftError(problem)


def load_processor(model_dir, trust_remote_code: bool = False):
    """The checkpoint's MiniCPMVProcessor (tokenizer + MiniCPMVImageProcessor), through AutoProcessor."""
    from transformers import AutoProcessor
    _check(model_dir, trust_remote_code)
    return AutoProcessor.from_pretrained(str(model_dir), trust_remote_code=True)


def load_model(model_class, model_dir, trust_remote_code: bool = False, **kwargs):
    """The checkpoint's MiniCPMV model (AutoModel → auto_map), as ms-swift loads it."""
    _check(model_dir, trust_remote_code)
    return model_class.from_pretrained(str(model_dir), trust_remote_code=True, **kwargs)
