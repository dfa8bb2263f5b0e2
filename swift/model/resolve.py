"""What a `--model` argument names: a registered model, a local directory, or an unknown hub ID.

    resolve_model('qwen2.5-7b-instruct')      # registry: Qwen/Qwen2.5-7B-Instruct, template qwen2_5
    resolve_model('output/v0/checkpoint-100')  # args.json written by training: its model_type/template
    resolve_model('/models/my-llama')          # config.json architectures + the directory's name
    resolve_model('someorg/new-model')         # an unregistered hub ID: allowed, with a warning

Resolution only says what the model is: it never downloads (swift/model/hub.py does) and never
imports torch or transformers. The rules, in order:

1. An existing directory is local.
   a. With args.json (saved by swift training: `model`, `model_type`, `template`), those win.
   b. Else config.json. A name identifies the model: config's `_name_or_path`, a Hugging Face
      cache folder `models--org--name`, or the directory's own name (ModelScope's cache writes
      `Qwen2___5-7B-Instruct` for `Qwen2.5-7B-Instruct`). It matches a registered ID exactly, or
      else the longest registered name it starts with (`Qwen2.5-7B-Instruct-merged` →
      Qwen/Qwen2.5-7B-Instruct). Types whose architectures match config.json's are preferred.
      Without a name match, the registered types with one of config.json's `architectures`
      are the candidates and the first one registered wins (the import order of
      swift/model/models/__init__.py, then the order inside the family file), with a warning
      naming the others. No candidate at all: source 'unknown', no template, so the template
      layer falls back to the tokenizer's own chat_template.
2. A registered hub ID (either hub), alias or model_type, case-insensitive.
3. An unregistered `org/name` is taken for a hub ID: source 'unknown', with a warning.
4. Anything else is a SwiftError that names the closest registered IDs.
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from swift.utils import SwiftError, closest_matches, env_flag, get_logger
from swift.utils.checkpoint import ARGS_FILE, read_json_object

from .registry import Model, ModelMeta, get_model_meta, list_model_metas, list_model_types, lookup_model

logger = get_logger()

SOURCES = ('registry', 'local', 'args.json', 'unknown')


@dataclass
class ResolvedModel:
    model_id: Optional[str]  # hub ID on the chosen hub; for args.json, the model it was trained from
    local_dir: Optional[Path]  # the directory, when `model` is one
    model_meta: Optional[ModelMeta]
    template: Optional[str]  # None: use the tokenizer's own chat_template
    source: str  # one of SOURCES
    model: Optional[Model] = None  # the registry entry, when one checkpoint was identified

    @property
    def model_type(self) -> Optional[str]:
        return self.model_meta.model_type if self.model_meta else None


def resolve_model(model: Union[str, os.PathLike], *, use_hf: Optional[bool] = None, template: Optional[str] = None,
                  model_type: Optional[str] = None) -> ResolvedModel:
    """Resolve a `--model` value (see the module docstring for the rules). template / model_type: what the command
    chose itself (--template, --model_type); a local directory's guess from config.json then names them in its
    warning, or (--model_type) needs none."""
    text = os.fspath(model).strip()
    if not text:
        raise SwiftError('--model is empty: give a registered model ID, a hub ID (org/name) or a local directory')
    if use_hf is None:
        use_hf = env_flag('USE_HF')
    path = Path(os.path.expanduser(text))
    if path.is_dir():
        return _resolve_local_dir(path.resolve(), use_hf, template, model_type)
    if path.exists():
        raise SwiftError(f'--model {text}: a file, not a model directory (a local model is a directory with '
                         'config.json)')
    if _looks_like_path(text):
        raise SwiftError(f'--model {text}: no such directory')
    found = lookup_model(text)
    if found is not None:
        meta, entry = found
        return ResolvedModel(
            model_id=entry.hub_id(use_hf) if entry else None,
            local_dir=None,
            model_meta=meta,
            template=meta.template_for(entry),
            source='registry',
            model=entry)
    if _looks_like_hub_id(text):
        logger.warning(f'{text} is not in the model registry: the template will come from its tokenizer\'s '
                       f'chat_template (pass --template to choose one).{_did_you_mean(text)}')
        return ResolvedModel(model_id=text, local_dir=None, model_meta=None, template=None, source='unknown')
    raise SwiftError(f'unknown model {text!r}: not a local directory, a registered model ID, alias or model_type, '
                     f'nor a hub ID of the form org/name.{_did_you_mean(text)} `swift list models` shows them all.')


def _looks_like_path(text: str) -> bool:
    """Written as a file system path rather than an `org/name` hub ID."""
    return (text.startswith(('/', './', '../', '~', '.\\')) or '\\' in text or text.count('/') > 1
            or text.endswith('/'))


def _looks_like_hub_id(text: str) -> bool:
    org, slash, name = text.partition('/')
    return bool(slash and org and name and not any(c.isspace() for c in text))


def _did_you_mean(text: str) -> str:
    """' Did you mean: A, B?' over registered IDs, comparing with and without the organisation."""
    by_name: Dict[str, str] = {}
    for meta in list_model_metas():
        for entry in meta.models:
            for model_id in entry.ids:
                by_name.setdefault(model_id, model_id)
                by_name.setdefault(model_id.split('/', 1)[-1], model_id)
    suggestions = []
    for name in closest_matches(text, by_name, n=6):
        if by_name[name] not in suggestions:
            suggestions.append(by_name[name])
    return f" Did you mean: {', '.join(suggestions[:3])}?" if suggestions else ''


# ---------------------------------------------------------------- local directories


def _resolve_local_dir(local_dir: Path, use_hf: bool, template: Optional[str] = None,
                       model_type: Optional[str] = None) -> ResolvedModel:
    args = _read_json(local_dir / ARGS_FILE)  # its own: a checkpoint names its base model itself
    if args is not None:
        return _resolve_args_json(local_dir, args, use_hf)
    config = _read_json(local_dir / 'config.json')
    if config is None:
        logger.warning(f'{local_dir} has neither args.json nor config.json: the model type is unknown and the '
                       "template will come from the tokenizer's chat_template.")
        return ResolvedModel(model_id=None, local_dir=local_dir, model_meta=None, template=None, source='unknown')
    matched = _match_config(local_dir, config, template, model_type)
    if matched is None:
        architectures = ', '.join(_architectures(config, local_dir)) or 'none'
        logger.warning(f'{local_dir}: no registered model type has the architecture of its config.json '
                       f"({architectures}): the template will come from the tokenizer's chat_template "
                       '(pass --template to choose one).')
        return ResolvedModel(model_id=None, local_dir=local_dir, model_meta=None, template=None, source='unknown')
    meta, entry = matched
    return ResolvedModel(
        model_id=entry.hub_id(use_hf) if entry else None,
        local_dir=local_dir,
        model_meta=meta,
        template=meta.template_for(entry),
        source='local',
        model=entry)


def _read_json(path: Path) -> Optional[dict]:
    return read_json_object(path) if path.is_file() else None


def _resolve_args_json(local_dir: Path, args: dict, use_hf: bool) -> ResolvedModel:
    """A training output: args.json records the base model, its type and the template used."""
    path = local_dir / ARGS_FILE
    for key in ('model', 'model_type', 'template'):
        if args.get(key) is not None and not isinstance(args[key], str):
            raise SwiftError(f'{path}: "{key}" must be a string, got {args[key]!r}')
    base_model, model_type, template = args.get('model'), args.get('model_type'), args.get('template')
    found = lookup_model(base_model) if base_model else None
    entry = found[1] if found else None
    meta = None
    if model_type:
        if model_type in list_model_types():
            meta = get_model_meta(model_type)
        else:
            logger.warning(f'{path}: model_type {model_type!r} is not registered (was it added by a plugin? '
                           'pass the same --external_plugins as in training).')
    elif found:
        meta = found[0]
    if entry is not None and meta is not None and entry not in meta.models:
        entry = None  # args.json's model_type overrides what the base model ID is registered as
    if not template and meta is not None:
        template = meta.template_for(entry)
    model_id = entry.hub_id(use_hf) if entry else base_model
    return ResolvedModel(
        model_id=model_id, local_dir=local_dir, model_meta=meta, template=template, source='args.json', model=entry)


def _architectures(config: dict, local_dir: Path) -> List[str]:
    value = config.get('architectures') or []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise SwiftError(f'{local_dir / "config.json"}: "architectures" must be a list of class names, got {value!r}')
    return value


def _match_config(local_dir: Path, config: dict, template: Optional[str] = None,
                  model_type: Optional[str] = None) -> Optional[Tuple[ModelMeta, Optional[Model]]]:
    architectures = set(_architectures(config, local_dir))
    metas = list_model_metas()
    candidates = [meta for meta in metas if architectures & set(meta.architectures)]
    # Architecture-compatible types first, so that they win a name both could claim.
    named = _match_name(_name_hints(local_dir, config), candidates + [m for m in metas if m not in candidates])
    if named is not None:
        meta = named[0]
        if architectures and meta not in candidates:
            logger.warning(f'{local_dir}: named like {named[1].ids[0]} ({meta.model_type}), but its architectures '
                           f'{sorted(architectures)} differ from {meta.architectures}; using the template '
                           f'{meta.template_for(named[1])!r}.')
        return named
    if not candidates:
        return None
    chosen = candidates[0]
    others = [m.model_type for m in candidates[1:]]
    if others and not model_type:  # (--model_type: the command uses that type, not this guess)
        # the template actually used: --template when the command gave one, else the guessed type's
        used = f'--template {template!r}' if template else f'template {chosen.template!r}'
        logger.warning(f'{local_dir}: its name matches no registered model, and {sorted(architectures)} is shared '
                       f'by the model types {chosen.model_type}, {", ".join(others)}; using {chosen.model_type} '
                       f'({used}). Pass --model_type or --template to choose another.')
    return chosen, None


def _name_hints(local_dir: Path, config: dict) -> List[str]:
    """Names the directory may carry, most explicit first."""
    hints = []
    name_or_path = config.get('_name_or_path')
    if isinstance(name_or_path, str) and name_or_path.strip():
        hints.append(name_or_path.strip())
    for part in reversed(local_dir.parts):  # Hugging Face cache: models--Qwen--Qwen2.5-7B/snapshots/<hash>
        if part.startswith('models--'):
            hints.append(part[len('models--'):].replace('--', '/'))
            break
    hints.append(local_dir.name)
    return hints


def _short_name(name: str) -> str:
    """'Qwen/Qwen2.5-7B-Instruct' or '/cache/modelscope/Qwen/Qwen2___5-7B-Instruct' → 'qwen2.5-7b-instruct'."""
    return name.replace('\\', '/').rstrip('/').rsplit('/', 1)[-1].replace('___', '.').lower()


def _match_name(hints: List[str], metas: List[ModelMeta]) -> Optional[Tuple[ModelMeta, Model]]:
    by_name: Dict[str, Tuple[ModelMeta, Model]] = {}
    for meta in metas:
        for entry in meta.models:
            for name in entry.ids + entry.aliases:
                by_name.setdefault(_short_name(name), (meta, entry))
    for hint in hints:
        short = _short_name(hint)
        if short in by_name:
            return by_name[short]
        # A fine-tune named after its base: the longest registered name followed by a separator.
        prefixes = [
            name for name in by_name if len(short) > len(name) and short.startswith(name) and short[len(name)] in '-_.'
        ]
        if prefixes:
            return by_name[max(prefixes, key=len)]
    return None
