"""Typed argument dataclasses, parsed the same way from flags, a YAML/JSON file and keywords.

    @dataclass
    class InferArguments(BaseArguments):
        max_new_tokens: int = 512

    args = parse_args(InferArguments, ['cfg.yaml', '--max_new_tokens', '64'])
    args = parse_args(InferArguments, {'max_new_tokens': 64})

Rules:
- A first positional argument ending in .yaml/.yml/.json is a config file; flags override it.
- `--flag value`, `--flag=value`; list fields take several values (`--dataset a b`); a bare
  boolean flag means true.
- Unknown keys are errors with a did-you-mean. Renamed keys live in the class attribute
  `ALIASES = {'old_name': 'new_name'}` and print the new name.
"""
import dataclasses
import json
import os
import types
import typing
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from .errors import SwiftError, did_you_mean
from .logger import get_logger

T = TypeVar('T')
logger = get_logger()
_TRUE = {'true', '1', 'yes', 'on', 't', 'y'}
_FALSE = {'false', '0', 'no', 'off', 'f', 'n'}


def _unwrap_optional(tp):
    origin = typing.get_origin(tp)
    if origin in (Union, getattr(types, 'UnionType', Union)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        return args  # a real union: tried in order
    return tp


def _is_list(tp) -> bool:
    tp = _unwrap_optional(tp)
    return not isinstance(tp, list) and typing.get_origin(tp) in (list, List, tuple, Sequence)


def _convert(name: str, tp, value: Any):
    """Convert one raw value (string from the CLI or any object from YAML/kwargs) to type tp."""
    tp = _unwrap_optional(tp)
    if value is None:
        return None
    if isinstance(tp, list):  # Union[A, B]: first that converts
        for t in tp:
            try:
                return _convert(name, t, value)
            except (SwiftError, ValueError, TypeError):
                continue
        raise SwiftError(f'--{name}: cannot read {value!r}')
    if isinstance(value, str) and value.lower() in ('none', 'null') and tp is not str:
        return None
    origin = typing.get_origin(tp)
    if origin in (list, List, tuple, Sequence):
        (item_tp, *_) = typing.get_args(tp) or (str, )
        if isinstance(value, str):
            value = [value]
        return [_convert(name, item_tp, v) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in _TRUE:
            return True
        if str(value).lower() in _FALSE:
            return False
        raise SwiftError(f'--{name}: expected true or false, got {value!r}')
    if tp in (int, float):
        try:
            if tp is int and isinstance(value, str) and ('e' in value.lower() or '.' in value):
                as_float = float(value)  # '1e3' is a fine int
                if as_float != int(as_float):
                    raise ValueError(value)
                return int(as_float)
            return tp(value)
        except (TypeError, ValueError):
            raise SwiftError(f'--{name}: expected {tp.__name__}, got {value!r}') from None
    if origin in (dict, Dict) or tp in (dict, Dict):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise SwiftError(f'--{name}: expected JSON, got {value!r} ({e.msg})') from None
        if not isinstance(value, dict):
            raise SwiftError(f'--{name}: expected a JSON object, got {value!r}')
        return value
    if tp is Any:
        return value
    if tp is str:
        return str(value)
    return value


def load_config_file(path: str) -> Dict[str, Any]:
    if not os.path.isfile(path):
        raise SwiftError(f'config file not found: {path}')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        if path.endswith('.json'):
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as e:
        raise SwiftError(f'{path}: cannot parse config file: {e}') from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SwiftError(f'{path}: a config file must hold a mapping of argument names to values')
    return data


def _split_argv(argv: Sequence[str]) -> Tuple[Dict[str, Any], List[str]]:
    """argv → (raw values by flag name, positional arguments)."""
    raw: Dict[str, Any] = {}
    positional: List[str] = []
    key: Optional[str] = None
    for token in argv:
        if token.startswith('--') and len(token) > 2:
            name, eq, val = token[2:].partition('=')
            key = name.replace('-', '_')
            raw[key] = [val] if eq else []
            if eq:  # '--name=value' takes exactly that value
                key = None
        elif key is not None:
            raw[key].append(token)
        else:
            positional.append(token)
    return raw, positional


def _field_map(cls) -> Dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _aliases(cls) -> Dict[str, str]:
    """ALIASES of the class and every base it composes (most derived wins)."""
    merged: Dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get('ALIASES', {}))
    return merged


def _resolve_key(cls, key: str, fields: Mapping[str, Any]) -> str:
    aliases = _aliases(cls)
    if key in fields:
        return key
    if key in aliases:
        new = aliases[key]
        logger.warning(f'--{key} is renamed: use --{new}')
        return new
    raise SwiftError(f'unknown argument --{key}.{did_you_mean(key, list(fields) + list(aliases))}')


def _finalize_flag_values(name: str, tp, values: List[str]):
    if _is_list(tp):
        if len(values) == 1 and values[0].startswith('['):
            try:
                return json.loads(values[0])
            except json.JSONDecodeError:
                pass
        return values
    if not values:
        if _unwrap_optional(tp) is bool:
            return True
        raise SwiftError(f'--{name} needs a value')
    if len(values) > 1:
        raise SwiftError(f'--{name} takes one value, got {len(values)}: {" ".join(values)}')
    return values[0]


def parse_args(cls: Type[T], args: Union[None, Sequence[str], Mapping[str, Any], T] = None, **kwargs) -> T:
    """Build `cls` from argv, a mapping, or keywords (and an optional config file)."""
    if isinstance(args, cls):
        if kwargs:
            return dataclasses.replace(args, **kwargs)
        return args
    fields = _field_map(cls)
    hints = typing.get_type_hints(cls)
    values: Dict[str, Any] = {}

    def put(key, value, from_flags=False):
        name = _resolve_key(cls, key, fields)
        if from_flags:
            value = _finalize_flag_values(name, hints[name], value)
        values[name] = _convert(name, hints[name], value)

    if args is None:
        args = []
    if isinstance(args, Mapping):
        for k, v in args.items():
            put(k, v)
    else:
        raw, positional = _split_argv(list(args))
        config_files = [p for p in positional if p.endswith(('.yaml', '.yml', '.json'))]
        extra = [p for p in positional if p not in config_files]
        if extra:
            raise SwiftError(f'unexpected argument {extra[0]!r}: options are written --name value')
        for path in config_files:
            for k, v in load_config_file(path).items():
                put(k, v)
        for k, v in raw.items():
            put(k, v, from_flags=True)
    for k, v in kwargs.items():
        put(k, v)
    return cls(**values)


def to_dict(args) -> Dict[str, Any]:
    """The arguments as a JSON-ready dict (for args.json)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(args) if f.init}


def format_help(cls, prog: str) -> str:
    lines = [f'usage: {prog} [config.yaml] [--name value ...]', '', 'options:']
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else 'required')
        doc = f.metadata.get('help', '')
        tp = _unwrap_optional(hints[f.name])
        tname = getattr(tp, '__name__', str(tp)).replace('typing.', '')
        lines.append(f'  --{f.name} ({tname}, default {default!r}) {doc}'.rstrip())
    return '\n'.join(lines)
