"""Pre-tokenized datasets: `swift export --to_cached_dataset true` writes them, `--cached_dataset` trains on them
without encoding again (ms-swift's flags and layout).

    DIR/train/manifest.json + samples.jsonl      --cached_dataset DIR/train (or DIR: its train, and its val)
    DIR/val/manifest.json + samples.jsonl        --cached_val_dataset DIR/val

A sample is what encode_rows returns (input_ids, labels, loss weights...; chosen_* and rejected_* for the pairs of
--template_mode rlhf), one JSON object per line. The manifest
names everything the samples depend on: the model, the template (name, class, system prompt), the tokenizer (a
hash of its whole definition, as the encoding cache keys it), the encoding settings (max_length,
truncation_strategy, loss_scale, agent template, ...) and the template mode. A training run computes the same
description for itself and refuses a cached dataset that differs, naming each field: samples encoded for another
tokenizer or length would train on wrong tokens without any error. The directory is written in one step (a
temporary sibling renamed), so an interrupted export leaves nothing that looks finished.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError, atomic_dir, get_logger
from swift.version import __version__

from .cache import tokenizer_fingerprint

logger = get_logger()

FORMAT = 'swift-cached-dataset/1'
MANIFEST = 'manifest.json'
SAMPLES = 'samples.jsonl'
SPLITS = ('train', 'val')
TOKEN_KEYS = ('input_ids', 'chosen_input_ids')  # a sample of swift sft / pt or kto, a pair of swift rlhf


def encoding_settings(args) -> Dict[str, Any]:
    """The flags that change samples beyond the template's name and system prompt (DataArguments and
    TemplateArguments of the export and of the training run)."""
    return {'max_length': args.max_length, 'truncation_strategy': args.truncation_strategy,
            'loss_scale': args.loss_scale, 'agent_template': getattr(args, 'agent_template', None),
            'enable_thinking': getattr(args, 'enable_thinking', None)}


def describe_encoding(template, model: Optional[str], settings: Dict[str, Any], mode: str = 'train'
                      ) -> Dict[str, Any]:
    """What the samples depend on (the manifest without the counts): the same for the export and the run."""
    return {'model': model, 'template': getattr(template, 'name', None),
            'template_class': type(template).__qualname__, 'system': getattr(template, 'default_system', None),
            'tokenizer': tokenizer_fingerprint(getattr(template, 'tokenizer', None)), 'template_mode': mode,
            'settings': {k: settings[k] for k in sorted(settings)}}


def write_cached_dataset(output_dir, splits: Dict[str, List[Dict[str, Any]]], description: Dict[str, Any],
                         sources: Sequence[str] = ()) -> Path:
    """DIR/<split>/{manifest.json, samples.jsonl} for each non-empty split, all renamed into place at once."""
    output_dir = Path(output_dir)
    with atomic_dir(output_dir) as tmp:
        for split, samples in splits.items():
            if not samples:
                continue
            folder = tmp / split
            folder.mkdir()
            with open(folder / SAMPLES, 'w', encoding='utf-8') as f:
                for sample in samples:
                    f.write(json.dumps(sample, ensure_ascii=False) + '\n')
            manifest = {'format': FORMAT, 'swift': __version__, 'split': split, 'samples': len(samples),
                        'datasets': list(sources), **description}
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + '\n',
                                           encoding='utf-8')
    return output_dir


def split_folder(path, split: str = 'train') -> Path:
    """The folder holding manifest.json: `path` itself, or `path/<split>` for the directory export wrote."""
    path = Path(path).expanduser()
    if (path / MANIFEST).is_file():
        return path
    if (path / split / MANIFEST).is_file():
        return path / split
    raise SwiftError(f'{path}: no {MANIFEST} there (nor in {path / split}); write one with '
                     f'swift export --to_cached_dataset true --dataset ... --output_dir DIR')


def read_manifest(folder: Path) -> Dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding='utf-8'))
    except ValueError as e:
        raise SwiftError(f'{folder / MANIFEST}: not valid JSON ({e})') from None
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise SwiftError(f'{folder / MANIFEST}: not a swift cached dataset (format {FORMAT!r} expected)')
    return manifest


def read_cached_dataset(folder: Path) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """(samples, manifest) of one split folder; a line that is not a JSON object is an error naming it."""
    manifest = read_manifest(folder)
    samples = []
    with open(folder / SAMPLES, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            try:
                sample = json.loads(line)
            except ValueError as e:
                raise SwiftError(f'{folder / SAMPLES}:{number}: not valid JSON ({e})') from None
            if not isinstance(sample, dict) or not any(isinstance(sample.get(k), list) for k in TOKEN_KEYS):
                raise SwiftError(f'{folder / SAMPLES}:{number}: a sample must be an object with input_ids '
                                 '(chosen_input_ids for pairs)')
            samples.append(sample)
    if len(samples) != manifest.get('samples'):
        raise SwiftError(f'{folder}: the manifest counts {manifest.get("samples")} samples, {SAMPLES} holds '
                         f'{len(samples)}: the folder was changed after export; export it again')
    return samples, manifest


def _mismatches(cached: Dict[str, Any], run: Dict[str, Any]) -> List[str]:
    differences = []
    if cached.get('tokenizer') != run['tokenizer']:
        differences.append(f'the tokenizer: exported with model {cached.get("model")}, this run\'s model '
                           f'{run["model"]} tokenizes differently')
    for key in ('template', 'template_class', 'system', 'template_mode'):
        if cached.get(key) != run[key]:
            differences.append(f'{key}: exported {cached.get(key)!r}, this run {run[key]!r}')
    exported = cached.get('settings') or {}
    for key in sorted(set(exported) | set(run['settings'])):
        if exported.get(key) != run['settings'].get(key):
            differences.append(f'--{key}: exported {exported.get(key)!r}, this run {run["settings"].get(key)!r}')
    return differences


def load_cached_samples(paths: Sequence[str], run: Dict[str, Any], split: str = 'train') -> List[Dict[str, Any]]:
    """The samples of every --cached_dataset (or --cached_val_dataset) path, in order, after checking that each
    was encoded exactly as this run would encode (describe_encoding of the run)."""
    samples = []
    for path in paths:
        folder = split_folder(path, split)
        part, manifest = read_cached_dataset(folder)
        differences = _mismatches(manifest, run)
        if differences:
            raise SwiftError(f'{folder} was encoded differently from this run, so its tokens would be wrong here:\n  '
                             + '\n  '.join(differences) + '\nexport it again with this run\'s model and flags, '
                             'or pass the flags it was exported with')
        logger.info(f'{len(part)} pre-tokenized samples from {folder} (exported from {manifest.get("datasets")})')
        samples += part
    return samples


def cached_val_paths(args) -> List[str]:
    """--cached_val_dataset, else the val folder of each --cached_dataset directory export wrote (ms-swift
    names DIR/train and DIR/val separately; DIR alone brings both)."""
    if args.cached_val_dataset:
        return list(args.cached_val_dataset)
    roots = [Path(p).expanduser() for p in args.cached_dataset]
    return [str(root / 'val') for root in roots
            if not (root / MANIFEST).is_file() and (root / 'val' / MANIFEST).is_file()]


def cached_samples_for(args, template, mode: str = 'train') -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(train, val) samples of --cached_dataset / --cached_val_dataset, each checked against this run's
    tokenizer, template, encoding flags and template mode (a mismatch is an error naming the fields)."""
    if not (args.cached_dataset or args.cached_val_dataset):
        return [], []
    run = describe_encoding(template, args.model, encoding_settings(args), mode)
    return load_cached_samples(args.cached_dataset, run, 'train'), load_cached_samples(cached_val_paths(args), run,
                                                                                       'val')
