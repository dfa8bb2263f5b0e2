"""Saving a tuned model and loading adapters back.

- PEFT tuners save a standard PEFT adapter (adapter_config.json + adapter_model.safetensors) that
  `peft.PeftModel.from_pretrained` loads onto the untouched base model.
- full / freeze / llamapro save the whole model (safetensors + config.json); LLaMA-Pro's config
  already says the new layer count.
- PiSSA / OLoRA initialisation moves part of the base weights into the adapter. As in ms-swift,
  the adapter is saved twice: as trained (PEFT redoes the SVD/QR on load; resumable), and under
  `converted/default` as a plain LoRA of twice the rank relative to the ORIGINAL base weights
  (PEFT's path_initial_model_for_weight_conversion), which is exact even for the randomised
  pissa_niter_[n] and combines with other adapters. `load_adapters` prefers the converted copy.
  For the conversion, prepare remembers the adapter's initial weights (CPU memory, adapter-sized).
"""
import tempfile
import weakref
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

from swift.utils import SwiftError, get_logger
from swift.utils.checkpoint import ADAPTER_CONFIG, MODEL_CONFIG, parse_adapter_spec

logger = get_logger()

CONVERTED_SUBDIR = Path('converted') / 'default'  # ms-swift's place for the converted PiSSA/OLoRA adapter
_INITIAL_ADAPTER_DIR = 'swift_initial_adapter'
# PeftModel → its adapter's initial weights, for models initialised with PiSSA / OLoRA
_initial_adapters: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()


def remember_initial_adapter(peft_model, adapter_name: str = 'default') -> None:
    from peft import get_peft_model_state_dict
    state = get_peft_model_state_dict(peft_model, adapter_name=adapter_name)
    _initial_adapters[peft_model] = {k: v.detach().to('cpu', copy=True).contiguous() for k, v in state.items()}


def is_peft_model(model) -> bool:
    """Whether `model` carries PEFT adapters (a peft.PeftModel)."""
    from peft import PeftModel
    return isinstance(model, PeftModel)


def save_tuned_model(model, output_dir: Union[str, Path], tokenizer=None) -> Path:
    """Write what `prepare_tuner` trained into `output_dir` (adapter or full weights), plus the tokenizer."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if is_peft_model(model):
        _save_adapter(model, output_dir)
    else:
        model.save_pretrained(str(output_dir))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(output_dir))
    return output_dir


def _save_adapter(model, output_dir: Path) -> None:
    model.save_pretrained(str(output_dir))
    initial = _initial_adapters.get(model)
    if initial is None:
        return
    from safetensors.torch import save_file
    with tempfile.TemporaryDirectory(prefix='swift-initial-adapter-') as tmp:
        initial_dir = Path(tmp) / _INITIAL_ADAPTER_DIR
        initial_dir.mkdir()
        save_file(initial, str(initial_dir / 'adapter_model.safetensors'))
        # PEFT writes the initial adapter's config there itself, then saves (trained - initial) as LoRA.
        model.save_pretrained(str(output_dir / CONVERTED_SUBDIR),
                              path_initial_model_for_weight_conversion=str(initial_dir))
    logger.info(f'{output_dir / CONVERTED_SUBDIR}: the PiSSA/OLoRA adapter as plain LoRA for the original base')


def _adapter_dir(path: str) -> str:
    """The directory to load for `path`: its converted PiSSA/OLoRA copy when there is one."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise SwiftError(f'adapter directory not found: {path}')
    if (directory / CONVERTED_SUBDIR / ADAPTER_CONFIG).is_file():
        return str(directory / CONVERTED_SUBDIR)
    if not (directory / ADAPTER_CONFIG).is_file():
        hint = (' It holds full model weights: pass it as --model instead.' if (directory / MODEL_CONFIG).is_file()
                else '')
        raise SwiftError(f'{path} is not an adapter directory (no {ADAPTER_CONFIG}).{hint}')
    return str(directory)


def load_adapters(model, adapter_dirs: Sequence[str], is_trainable: bool = False):
    """Load one or more PEFT adapters onto `model`; returns the PeftModel.

    Each entry is a directory or 'name=directory'. The first adapter stays active; the others are
    loaded under their names (model.set_adapter(name) switches). A directory with a converted
    PiSSA/OLoRA adapter (converted/default) loads that one.
    """
    from peft import PeftModel
    specs: List[Tuple[str, str]] = [parse_adapter_spec(s, i) for i, s in enumerate(adapter_dirs)]
    names = [n for n, _ in specs]
    if len(set(names)) != len(names):
        raise SwiftError(f'adapter names must be unique, got {", ".join(names)}')
    specs = [(name, _adapter_dir(path)) for name, path in specs]
    for index, (name, path) in enumerate(specs):
        try:
            if index == 0 and not is_peft_model(model):
                model = PeftModel.from_pretrained(model, path, adapter_name=name, is_trainable=is_trainable)
            else:
                model.load_adapter(path, adapter_name=name, is_trainable=is_trainable)
        except (ValueError, KeyError, RuntimeError) as e:
            # A mismatched base (other hidden size, other module names) surfaces here.
            raise SwiftError(f'cannot load adapter {path} onto this model: {e}') from None
        logger.info(f'loaded adapter {name!r} from {path}')
    return model


def adapter_names(model) -> Dict[str, str]:
    """Adapter name → PEFT type for a PeftModel (empty for a plain model)."""
    if not is_peft_model(model):
        return {}
    return {name: str(config.peft_type.value) for name, config in model.peft_config.items()}

