"""Phi-3 / Phi-3.5-vision: remote code (Phi3VForCausalLM, Phi3VProcessor), which transformers does not ship.

swift runs it only when the checkpoint directory carries it (config.json `auto_map` naming its modules, the .py
files beside it) and the user passed --trust_remote_code true; otherwise a SwiftError says which of the two is
missing and what to do. The processor is the repository's own: `processor.image_processor(images)` gives
pixel_values, image_sizes and num_img_tokens, and the model takes image N's tokens as num_img_tokens[N-1] ids of
value -N (its Phi3ImageEmbedding finds them as `input_ids < 0`); the template (swift/template/templates/
phi_vision.py) writes them so. Verified without the remote code only: no Phi-3-vision code or weights here.
"""
import json
from pathlib import Path

from swift.utils import SwiftError

REPOS = 'microsoft/Phi-3.5-vision-instruct or microsoft/Phi-3-vision-128k-instruct'


def check_remote_code(model_dir, trust_remote_code: bool) -> None:
    """Refuse before transformers runs anything: the directory must carry the code, the user must trust it."""
    model_dir = Path(model_dir)
    config_file = model_dir / 'config.json'
    try:
        config = json.loads(config_file.read_text(encoding='utf-8'))
    except (OSError, ValueError) as e:
        raise SwiftError(f'{config_file}: cannot read the Phi-3-vision config ({e})') from None
    auto_map = config.get('auto_map') or {}
    modules = sorted({str(v).split('.')[0] for v in auto_map.values() if isinstance(v, str) and '--' not in v})
    missing = [m for m in modules if not (model_dir / f'{m}.py').is_file()]
    if not auto_map or missing:
        what = 'no auto_map in its config.json' if not auto_map else f'no {", ".join(m + ".py" for m in missing)}'
        raise SwiftError(f'{model_dir}: a Phi-3-vision checkpoint without its code ({what}); transformers does not '
                         f'ship Phi3VForCausalLM: download the whole repository ({REPOS}, with its *.py files) and '
                         'load it with --trust_remote_code true')
    if not trust_remote_code:
        raise SwiftError(f'{model_dir}: Phi-3-vision is remote code (its {", ".join(m + ".py" for m in modules)}); '
                         'swift runs it only with --trust_remote_code true (trust_remote_code=True in Python): pass '
                         'it if you trust this repository')


def load_remote_processor(model_dir, trust_remote_code: bool = False):
    check_remote_code(model_dir, trust_remote_code)
    from transformers import AutoProcessor
    return AutoProcessor.from_pretrained(str(model_dir), trust_remote_code=True)


def load_remote_model(model_dir, trust_remote_code: bool = False, **kwargs):
    check_remote_code(model_dir, trust_remote_code)
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(str(model_dir), trust_remote_code=True, **kwargs)
