"""`swift list models|templates [--filter TEXT] [--json]`: what the registries hold.

It answers in about a second: nothing here imports torch or transformers.

Each kind of listing is one entry of LISTERS: a function (filter text or None) -> rows, a row being
a dict of plain values. `--json` prints the rows as they are; otherwise TABLE_COLUMNS picks the
columns of a text table. To add `swift list datasets`, add a lister that imports the dataset
registry inside the function, and its columns:

    LISTERS['datasets'] = _list_datasets
    TABLE_COLUMNS['datasets'] = ['name', 'subsets', 'hub_ids']
"""
import json
import sys
from typing import Callable, Dict, Iterable, List, Optional

from swift.model.registry import list_model_metas
from swift.template import list_templates
from swift.utils import SwiftError, did_you_mean
from swift.utils.plugins import load_plugins

Row = Dict[str, object]
USAGE = ('usage: swift list {models,templates} [--filter TEXT] [--modality image|video|audio] [--json] '
         '[--external_plugins FILE ...]')
# --modality → the group tag multimodal models carry for it (swift/model/models/*: 'vision', 'video', 'audio')
MODALITY_TAGS = {'image': 'vision', 'video': 'video', 'audio': 'audio'}


def _pop_modality(argv: List[str]):
    """(argv without --modality X, X or None); refuses an unknown modality."""
    args, modality = list(argv), None
    for i, arg in enumerate(args):
        if arg == '--modality' or arg.startswith('--modality='):
            value = arg.split('=', 1)[1] if '=' in arg else (args[i + 1] if i + 1 < len(args) else None)
            if value not in MODALITY_TAGS:
                raise SwiftError(f'--modality takes one of {", ".join(MODALITY_TAGS)}, not {value!r}')
            del args[i:i + (1 if '=' in arg else 2)]
            return args, value
    return args, modality


def _matches(filter_text: Optional[str], values: Iterable[Optional[str]]) -> bool:
    """Case-insensitive substring match against any of the values; no filter matches everything."""
    if not filter_text:
        return True
    needle = filter_text.lower()
    return any(needle in v.lower() for v in values if v)


def _list_models(filter_text: Optional[str]) -> List[Row]:
    """One row per checkpoint; a filter matching a model type, template or architecture keeps all its models."""
    rows = []
    for meta in sorted(list_model_metas(), key=lambda m: m.model_type):
        type_matches = _matches(filter_text, [meta.model_type, meta.template, *meta.architectures, *meta.aliases])
        for group in meta.model_groups:
            for model in group.models:
                if not (type_matches or _matches(filter_text, [*model.ids, *model.aliases, group.template])):
                    continue
                rows.append({
                    'model_type': meta.model_type,
                    'template': group.template or meta.template,
                    'ms_model_id': model.ms_model_id,
                    'hf_model_id': model.hf_model_id,
                    'aliases': list(model.aliases),
                    'tags': list(group.tags),
                    'architectures': list(meta.architectures),
                    'requires': list(meta.requires),
                })
    return rows


def _list_templates(filter_text: Optional[str]) -> List[Row]:
    """One row per registered template, with the model types that use it."""
    used_by: Dict[str, List[str]] = {}
    for meta in list_model_metas():
        for name in {meta.template} | {g.template for g in meta.model_groups if g.template}:
            used_by.setdefault(name, []).append(meta.model_type)
    rows = []
    for name in sorted(list_templates()):
        model_types = sorted(used_by.get(name, []))
        if _matches(filter_text, [name, *model_types]):
            rows.append({'template': name, 'model_types': model_types})
    return rows


LISTERS: Dict[str, Callable[[Optional[str]], List[Row]]] = {
    'models': _list_models,
    'templates': _list_templates,
}
TABLE_COLUMNS: Dict[str, List[str]] = {
    'models': ['model_type', 'template', 'ms_model_id', 'hf_model_id', 'tags'],
    'templates': ['template', 'model_types'],
}


def _cell(value) -> str:
    if value is None:
        return '-'
    if isinstance(value, (list, tuple)):
        return ','.join(map(str, value)) or '-'
    return str(value)


def format_table(rows: List[Row], columns: List[str]) -> str:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ['  '.join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ['  '.join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return '\n'.join(lines)


def _parse(argv: List[str]):
    """argv → (kind, filter text, as_json, plugin files)."""
    kind, filter_text, as_json, plugins = None, None, False, []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == '--json':
            as_json = True
        elif arg == '--external_plugins':
            while args and not args[0].startswith('-'):
                plugins.append(args.pop(0))
            if not plugins:
                raise SwiftError('--external_plugins needs one or more Python files')
        elif arg.startswith('--filter='):
            filter_text = arg.split('=', 1)[1]
        elif arg == '--filter':
            if not args:
                raise SwiftError('--filter needs a value')
            filter_text = args.pop(0)
        elif arg.startswith('-'):
            raise SwiftError(f'unknown option {arg}.{did_you_mean(arg, ["--filter", "--json", "--external_plugins"])} '
                             f'{USAGE}')
        elif kind is None:
            kind = arg
        else:
            raise SwiftError(f'unexpected argument {arg!r}. {USAGE}')
    if kind is None:
        raise SwiftError(f'what to list? {USAGE}')
    if kind not in LISTERS:
        raise SwiftError(f'cannot list {kind!r}: choose one of {", ".join(LISTERS)}.{did_you_mean(kind, LISTERS)}')
    return kind, filter_text, as_json, plugins


def main(argv: List[str]) -> int:
    if any(arg in ('-h', '--help') for arg in argv):
        print(USAGE)
        return 0
    argv, modality = _pop_modality(argv)
    kind, filter_text, as_json, plugins = _parse(argv)
    if plugins:
        load_plugins(plugins)
    rows = LISTERS[kind](filter_text)
    if modality is not None:
        if kind != 'models':
            raise SwiftError('--modality applies to `swift list models`')
        rows = [r for r in rows if MODALITY_TAGS[modality] in r['tags']]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif rows:
        print(format_table(rows, TABLE_COLUMNS[kind]))
    else:
        print(f'no {kind} match {filter_text!r}', file=sys.stderr)
    return 0
