"""Typed argument dataclasses, parsed the same way from flags, a YAML/JSON file and keywords.

    args = parse_args(InferArguments, ['cfg.yaml', '--max_new_tokens', '64'])
    args = parse_args(InferArguments, {'max_new_tokens': 64})
    args = parse_args(InferArguments, max_new_tokens=64)

Rules:
- A first positional argument ending in .yaml/.yml/.json is a config file; flags override it.
- `--flag value`, `--flag=value`; list fields take several values (`--dataset a b`), and one value
  anywhere (flag, file or keyword) is a list of one; a bare boolean flag means true.
- Values are checked against the field's type: `lora_rank: 8.5` or `--max_steps 1e400` is an error,
  not a silent 8 or a traceback. Inside mappings and lists too, nothing that would crash a later step gets
  through: text with a lone surrogate (a "\\ud800" escape in a config file, bytes that are not UTF-8 on the
  command line: printing or saving it fails), a non-finite number, a YAML alias inside its own anchor, or
  aliases that expand to millions of values.
- Every unknown key is reported at once, each with a did-you-mean. Renamed keys live in the class
  attribute `ALIASES = {'old_name': 'new_name'}` and print the new name.
- A class may pick a more specific class from the raw values (`resolve_class`, e.g. `swift rlhf`
  picks the class of its --rlhf_type) and explain keys that belong to a sibling (`foreign_key`).

Nothing here imports torch: a typo in a long command line answers in about a second.
"""
import dataclasses
import json
import math
import os
import types
import typing
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from .errors import SwiftError
from .logger import get_logger
from .untrusted import find_problem

T = TypeVar('T')
logger = get_logger()
_TRUE = {'true', '1', 'yes', 'on', 't', 'y'}
_FALSE = {'false', '0', 'no', 'off', 'f', 'n'}
CONFIG_SUFFIXES = ('.yaml', '.yml', '.json')
# Far beyond any real argument value (a few levels of engine_kwargs, a few hundred dataset names); a value past
# them is a YAML alias that contains itself or expands exponentially, which printing or saving would never finish.
MAX_VALUE_DEPTH = 32
MAX_VALUE_ITEMS = 100_000


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


def _describe(value: Any) -> str:
    kinds = {dict: 'a mapping', list: 'a list', tuple: 'a list', bool: 'a boolean'}
    return kinds.get(type(value), repr(value))


def _to_number(name: str, tp, value: Any):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SwiftError(f'--{name}: expected {"a whole number" if tp is int else "a number"}, got {_describe(value)}')
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        raise SwiftError(f'--{name}: expected {"a whole number" if tp is int else "a number"}, '
                         f'got {value!r}') from None
    if isinstance(number, float) and not math.isfinite(number):
        raise SwiftError(f'--{name}: expected a finite number, got {value!r}')
    if tp is float:
        return float(number)
    if isinstance(number, float) and not number.is_integer():
        raise SwiftError(f'--{name}: expected a whole number, got {value!r}')
    return int(value) if isinstance(value, str) and value.lstrip('+-').isdigit() else int(number)


def _convert(name: str, tp, value: Any):
    """Convert one raw value (a string from the CLI, or any object from YAML/keywords) to type tp."""
    tp = _unwrap_optional(tp)
    if value is None:
        return None
    if isinstance(tp, list):  # Union[A, B]: the first that converts
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
        if isinstance(value, dict):
            raise SwiftError(f'--{name}: expected a list, got a mapping')
        if not isinstance(value, (list, tuple)):
            value = [value]  # as `--name value` on the command line: a list of one
        return [_convert(name, item_tp, v) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).lower() in _TRUE | _FALSE:
            return str(value).lower() in _TRUE
        raise SwiftError(f'--{name}: expected true or false, got {_describe(value)}')
    if tp in (int, float):
        return _to_number(name, tp, value)
    if origin in (dict, Dict) or tp in (dict, Dict):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise SwiftError(f'--{name}: expected JSON, got {value!r} ({e.msg})') from None
        if not isinstance(value, dict):
            raise SwiftError(f'--{name}: expected a JSON object, got {_describe(value)}')
        return value
    if tp is Any:
        return value
    if tp is str:
        if isinstance(value, (dict, list, tuple)):
            raise SwiftError(f'--{name}: expected a string, got {_describe(value)}')
        return str(value)
    return value


def check_value(name: str, value: Any) -> None:
    """A SwiftError naming the flag (and the place inside its value) for what a later step would crash on."""
    problem = find_problem(value, max_depth=MAX_VALUE_DEPTH, max_values=MAX_VALUE_ITEMS)
    if problem is None:
        return
    place = f'--{name}' + ''.join(f'[{part}]' if isinstance(part, int) else f'.{part}' for part in problem.path)
    place = place.encode('utf-8', 'backslashreplace').decode('utf-8')  # a key may hold the surrogate itself
    if problem.kind == 'too_deep':  # named by the flag alone: the path would be MAX_VALUE_DEPTH steps long
        raise SwiftError(f'--{name}: nested more than {MAX_VALUE_DEPTH} levels deep, or contains itself (a YAML '
                         'alias used inside its own anchor?)')
    if problem.kind == 'too_many':
        raise SwiftError(f'--{name}: more than {MAX_VALUE_ITEMS:,} values (YAML aliases that expand on each other?)')
    if problem.kind == 'not_finite':
        raise SwiftError(f'{place}: expected a finite number, got {problem.message.rsplit(" ", 1)[-1]}')
    raise SwiftError(f'{place} {problem.message} (from an escape such as "\\ud800" in a config file, or from bytes '
                     'on the command line that are not UTF-8)')


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
    except Exception as e:  # noqa: BLE001 (any parser error is the file's: say which file)
        raise SwiftError(f'{path}: cannot parse config file: {e}') from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SwiftError(f'{path}: a config file must hold a mapping of argument names to values')
    for key in data:
        if not isinstance(key, str):
            raise SwiftError(f'{path}: key {key!r} is not an argument name (names are text, e.g. lora_rank)')
    return data


def _split_argv(argv: Sequence[str]) -> Tuple[Dict[str, List[str]], List[str]]:
    """argv → (raw values by flag name, positional arguments)."""
    raw: Dict[str, List[str]] = {}
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


def argument_fields(cls) -> Dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def aliases(cls) -> Dict[str, str]:
    """ALIASES of the class and every group it composes (most derived wins)."""
    merged: Dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get('ALIASES', {}))
    return {old: new for old, new in merged.items() if new in argument_fields(cls)}


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


@dataclasses.dataclass
class _Item:
    key: str
    value: Any
    from_flags: bool


def _collect(args, kwargs) -> List[_Item]:
    """Every (key, raw value) in the order they apply: config files, then flags or the mapping, then keywords."""
    items: List[_Item] = []
    if args is None:
        args = []
    if isinstance(args, Mapping):
        items += [_Item(k, v, False) for k, v in args.items()]
    else:
        raw, positional = _split_argv(list(args))
        config_files = [p for p in positional if p.endswith(CONFIG_SUFFIXES)]
        extra = [p for p in positional if p not in config_files]
        if extra:
            raise SwiftError(f'unexpected argument {extra[0]!r}: options are written --name value')
        for path in config_files:
            items += [_Item(k, v, False) for k, v in load_config_file(path).items()]
        items += [_Item(k, v, True) for k, v in raw.items()]
    for key in [*(i.key for i in items), *kwargs]:
        if not isinstance(key, str):
            raise SwiftError(f'{key!r} is not an argument name (names are text, e.g. lora_rank)')
    return items + [_Item(k, v, False) for k, v in kwargs.items()]


def _raw_lookup(items: List[_Item], name: str) -> Optional[str]:
    """The last raw value given for `name` as one string (before the class is known), or None."""
    for item in reversed(items):
        if item.key == name:
            value = item.value
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            return value if isinstance(value, str) else None if value is None else str(value)
    return None


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance with adjacent transpositions (a swapped pair of letters is one typo)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def _abbreviates(key: str, name: str) -> bool:
    """max_len for max_length: as many words, each the start of the name's word."""
    words, full = key.split('_'), name.split('_')
    return len(words) == len(full) and key != name and all(w and f.startswith(w) for w, f in zip(words, full))


def same_meaning_names(key: str, candidates: Sequence[str], n: int = 3) -> List[str]:
    """Names that `key` misspells (a typo or two, by length) or abbreviates: a suggestion must mean the same
    thing, so --deepspeed never suggests --seed, nor --eval_steps --eval_strategy."""
    key = key.lower()
    allowed = 1 if len(key) <= 5 else 2 if len(key) <= 12 else 3
    scored = sorted((_edit_distance(key, c.lower()), c) for c in set(candidates))
    typos = [c for d, c in scored if d <= allowed]
    return (typos + [c for c in candidates if _abbreviates(key, c) and c not in typos])[:n]


def unknown_keys_message(cls, keys: List[str]) -> str:
    """One line per unknown key: why another command (or algorithm) takes it, why swift does not support it
    yet (swift/arguments/unsupported.py), or the names it misspells."""
    candidates = list(argument_fields(cls)) + list(aliases(cls))
    lines = []
    for key in keys:
        foreign = getattr(cls, 'foreign_key', lambda _: None)(key)
        unsupported = getattr(cls, 'unsupported_key', lambda _: None)(key)
        matches = same_meaning_names(key, candidates)
        suggestion = f" Did you mean: {', '.join(matches)}?" if matches else ''
        lines.append(unsupported or foreign or f'unknown argument --{key}.{suggestion}')
    return '\n'.join(lines)


def parse_args(cls: Type[T], args: Union[None, Sequence[str], Mapping[str, Any], T] = None, **kwargs) -> T:
    """Build `cls` (or the class it resolves to) from argv, a mapping, or keywords (and config files)."""
    if isinstance(args, cls):
        return parse_args(type(args), {**to_dict(args), **kwargs}) if kwargs else args
    items = _collect(args, kwargs)
    resolve_class = getattr(cls, 'resolve_class', None)
    if resolve_class is not None:
        cls = resolve_class(lambda name: _raw_lookup(items, name))
    fields = argument_fields(cls)
    renamed = aliases(cls)
    hints = typing.get_type_hints(cls)
    values: Dict[str, Any] = {}
    unknown: List[str] = []
    errors: List[str] = []
    for item in items:
        name = item.key if item.key in fields else renamed.get(item.key)
        if name is None:
            if item.key not in unknown:
                unknown.append(item.key)
            continue
        if name != item.key:
            logger.warning(f'--{item.key} is renamed: use --{name}')
        try:
            value = _finalize_flag_values(name, hints[name], item.value) if item.from_flags else item.value
            values[name] = _convert(name, hints[name], value)
            check_value(name, values[name])
        except SwiftError as e:
            errors.append(str(e))
    if unknown:
        errors.insert(0, unknown_keys_message(cls, unknown))
    if errors:
        raise SwiftError('\n'.join(errors))
    return cls(**values)


def to_dict(args) -> Dict[str, Any]:
    """The arguments as a JSON-ready dict (for args.json)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(args) if f.init}


def _type_name(tp) -> str:
    tp = _unwrap_optional(tp)
    if isinstance(tp, list):
        return ' | '.join(_type_name(t) for t in tp)
    if _is_list(tp):
        (item_tp, *_) = typing.get_args(tp) or (str, )
        return f'{_type_name(item_tp)} ...'
    return getattr(tp, '__name__', str(tp)).replace('typing.', '')


def _field_line(f: dataclasses.Field, tp) -> str:
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = 'required'
    return f'  --{f.name} ({_type_name(tp)}, default {default!r}) {f.metadata.get("help", "")}'.rstrip()


def field_groups(cls) -> List[Tuple[str, List[dataclasses.Field]]]:
    """(group title, its fields) in the order the class composes them; a field belongs to the group that
    declares it last (so a command's own default overrides show under the command)."""
    owner: Dict[str, type] = {}
    for klass in reversed(cls.__mro__):
        for name in vars(klass).get('__annotations__', {}):
            owner[name] = klass
    groups: Dict[type, List[dataclasses.Field]] = {}
    for f in dataclasses.fields(cls):
        if f.init:
            groups.setdefault(owner.get(f.name, cls), []).append(f)
    order = [k for k in cls.__mro__ if k in groups]
    return [(getattr(k, 'GROUP_TITLE', None) or k.__name__, groups[k]) for k in reversed(order)]


def format_help(cls, prog: str, check_args: bool = False) -> str:
    """The options of `cls` by group, with types, defaults and help; check_args: the command takes --check_args."""
    hints = typing.get_type_hints(cls)
    lines = [f'usage: {prog} [config.yaml] [--name value ...]' + (' [--check_args]' if check_args else '')]
    for title, fields in field_groups(cls):
        lines += ['', f'{title}:'] + [_field_line(f, hints[f.name]) for f in fields]
    renamed = aliases(cls)
    if renamed:
        lines += ['', 'renamed (still accepted): ' + ', '.join(f'--{old} → --{new}' for old, new in sorted(
            renamed.items()))]
    return '\n'.join(lines)
