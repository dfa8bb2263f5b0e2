"""The on-disk run format, in one place: where a run writes, its args.json, its checkpoints, and what a
checkpoint directory holds.

    output/<model>/v3-20261202-141500/        a run directory (resolve_output_dir)
        args.json                              the run's arguments + template, model_type (write_run_args)
        logging.jsonl, images/, runs/          logs, plots, TensorBoard
        checkpoint-40/                         a checkpoint (checkpoint_step → 40; last_checkpoint)
            args.json                          the same arguments, so a checkpoint alone names its base model
            adapter_config.json + weights      an adapter checkpoint ...
            config.json + weights              ... or full weights (checkpoint_kind)

Every reader above (training, inference, evaluation, export, model resolution) goes through these
functions; nothing here imports torch.
"""
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import SwiftError
from .io import atomic_write_json

ARGS_FILE = 'args.json'
ADAPTER_CONFIG = 'adapter_config.json'
MODEL_CONFIG = 'config.json'
CHECKPOINT_PREFIX = 'checkpoint-'
_CHECKPOINT_NAME = re.compile(r'^checkpoint-(\d+)$')
PathLike = Union[str, os.PathLike]

# what checkpoint_kind answers
ADAPTER, FULL, REWARD_MODEL, UNKNOWN = 'adapter', 'full', 'reward_model', 'unknown'


# ---------------------------------------------------------------- run directories


def model_folder_name(model: str) -> str:
    """'Qwen/Qwen2.5-7B-Instruct' → 'Qwen2.5-7B-Instruct'; a local path → its last component."""
    return Path(str(model).rstrip('/')).name or 'model'


def next_version_dir(root: Path) -> Path:
    """root/vN-YYYYMMDD-HHMMSS with N one more than the largest existing version."""
    versions = [int(m.group(1)) for p in (root.iterdir() if root.is_dir() else [])
                if (m := re.match(r'v(\d+)-', p.name))]
    stamp = datetime.now().strftime('%Y%m%d-%H%M%S')
    return root / f'v{max(versions, default=-1) + 1}-{stamp}'


def resolve_output_dir(output_dir: Optional[str], model: str, add_version: bool,
                       resume_from_checkpoint: Optional[str]) -> Path:
    """The run directory: the resumed checkpoint's run, or --output_dir[/vN-timestamp] (created)."""
    if resume_from_checkpoint:
        return check_resumable(resume_from_checkpoint).parent  # the same run continues where it stopped
    root = Path(output_dir) if output_dir else Path('output') / model_folder_name(model)
    path = next_version_dir(root) if add_version else root
    os.makedirs(path, exist_ok=True)
    return path.resolve()


# ---------------------------------------------------------------- checkpoints


def checkpoint_step(path: Optional[PathLike]) -> Optional[int]:
    """40 for '.../checkpoint-40', None for anything else (a run directory, an exported model, None)."""
    if not path:
        return None
    match = _CHECKPOINT_NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def list_checkpoints(run_dir: PathLike) -> List[Path]:
    """The run's complete checkpoints (staging folders are not named checkpoint-N), oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(checkpoint_step(p), p) for p in run_dir.iterdir() if p.is_dir()]
    return [p for step, p in sorted((s, p) for s, p in found if s is not None)]


def last_checkpoint(run_dir: PathLike) -> Optional[Path]:
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1] if checkpoints else None


def check_resumable(checkpoint: PathLike) -> Path:
    """The resolved checkpoint directory, or a SwiftError saying why training cannot go on from it."""
    path = Path(checkpoint).expanduser()
    if not path.is_dir():
        raise SwiftError(f'--resume_from_checkpoint: {checkpoint} is not a directory')
    if checkpoint_step(path) is None:
        found = last_checkpoint(path)
        hint = f' (its last checkpoint is {found})' if found else ''
        raise SwiftError(f'--resume_from_checkpoint: {checkpoint} is not a checkpoint-N folder{hint}')
    return path.resolve()


# ---------------------------------------------------------------- args.json


def write_run_args(directory: PathLike, args: Dict[str, Any]) -> Path:
    """Write args.json (atomically) into a run or checkpoint directory."""
    path = Path(directory) / ARGS_FILE
    atomic_write_json(path, args)
    return path


def run_args_file(path: PathLike) -> Optional[Path]:
    """The args.json that describes `path`: its own, or (for a checkpoint) its run directory's."""
    path = Path(path).expanduser()
    for candidate in (path / ARGS_FILE, path.parent / ARGS_FILE):
        if candidate.is_file():
            return candidate
    return None


def read_run_args(path: PathLike) -> Dict[str, Any]:
    """The arguments a swift run saved for `path` (a checkpoint, a run directory or an export), or {}."""
    args_file = run_args_file(path)
    if args_file is None:
        return {}
    return read_json_object(args_file)


def read_json_object(path: Path) -> Dict[str, Any]:
    """A JSON file that must hold an object; a SwiftError naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SwiftError(f'{path}: not valid JSON ({e})') from None
    if not isinstance(data, dict):
        raise SwiftError(f'{path}: expected a JSON object, got {type(data).__name__}')
    return data


# ---------------------------------------------------------------- what a directory holds


def is_scalar_classifier(path: PathLike) -> bool:
    """A full sequence-classification checkpoint with one output: a reward model saved in full."""
    config_file = Path(path) / MODEL_CONFIG
    if not config_file.is_file():
        return False
    config = read_json_object(config_file)
    architectures = config.get('architectures') or []
    return (any(name.endswith('ForSequenceClassification') for name in architectures)
            and len(config.get('id2label') or {'0': None}) == 1)


def checkpoint_kind(path: PathLike) -> str:
    """REWARD_MODEL (trained by --rlhf_type rm, adapter or full), ADAPTER, FULL (model weights) or UNKNOWN."""
    path = Path(path).expanduser()
    if not path.is_dir():
        return UNKNOWN
    if read_run_args(path).get('rlhf_type') == 'rm' or is_scalar_classifier(path):
        return REWARD_MODEL
    if (path / ADAPTER_CONFIG).is_file():
        return ADAPTER
    if (path / MODEL_CONFIG).is_file():
        return FULL
    return UNKNOWN


# ---------------------------------------------------------------- adapters named on the command line


def parse_adapter_spec(spec: str, index: int) -> Tuple[str, str]:
    """'name=path' or 'path' → (name, path); unnamed adapters are 'default', 'adapter_1', 'adapter_2', ..."""
    name, sep, path = spec.partition('=')
    if sep and name and not Path(spec).exists():
        return name, path
    return ('default' if index == 0 else f'adapter_{index}'), spec


def adapter_paths(specs: Sequence[str]) -> List[str]:
    """The directories of --adapters values (names dropped)."""
    return [parse_adapter_spec(spec, i)[1] for i, spec in enumerate(specs)]


def fill_from_checkpoint(args, keys: Sequence[str] = ('model', 'model_type', 'template', 'system')) -> Optional[Path]:
    """Fill the unset `keys` of `args` from the args.json of its first adapter checkpoint that has one, so that
    `--adapters checkpoint-N` alone is enough; returns that file, or None."""
    for adapter in adapter_paths(getattr(args, 'adapters', [])):
        args_file = run_args_file(adapter)
        if args_file is None:
            continue
        saved = read_json_object(args_file)
        for key in keys:
            if getattr(args, key, None) is None and saved.get(key) is not None:
                setattr(args, key, saved[key])
        return args_file
    return None
