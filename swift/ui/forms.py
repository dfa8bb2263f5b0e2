"""A command's form, generated from its arguments class: the same fields, defaults, help and validation as the CLI.

    form = FormSpec.of('sft')
    argv = form.argv({'model': 'smollm2-135m-instruct', 'max_steps': '5'})   # only what differs from the defaults
    form.command_line(argv)   → "swift sft --model smollm2-135m-instruct --max_steps 5"
    form.errors(argv)         → {'max_steps': "--max_steps: expected a whole number, got 'x'"} (the CLI's message)

Every value travels as the text a user would type after the flag; the CLI's parser (swift.utils.args) reads
it, then the stage's torch-free checks run, exactly as `swift <command> ... --check_args` does. Nothing in the
UI keeps its own list of options: a field added to an arguments class appears in its form.
"""
import dataclasses
import importlib
import json
import os
import re
import shlex
import typing
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from swift.arguments import COMMAND_ARGUMENTS, RLHF_ARGUMENT_CLASSES
from swift.utils import SwiftError
from swift.utils.args import _is_list, _unwrap_optional, aliases, argument_fields, field_groups, parse_args

from .jobs import display_command

# The torch-free check of each stage (what --check_args runs after parsing)
CHECKS = {
    'sft': 'swift.training.checks:check_train_args',
    'pt': 'swift.training.checks:check_train_args',
    'rlhf': 'swift.training.checks:check_train_args',
    'infer': 'swift.infer.checks:check_infer_args',
    'deploy': 'swift.infer.checks:check_infer_args',
    'eval': 'swift.eval.checks:check_eval_args',
    'export': 'swift.export.checks:check_export_args',
}
# The fields shown open at the top of each form; every other field sits in its group's closed section.
PRIMARY = {
    'sft': ('model', 'dataset', 'tuner_type', 'num_train_epochs', 'max_steps', 'learning_rate', 'lora_rank',
            'per_device_train_batch_size', 'logging_steps', 'save_steps', 'output_dir', 'model_name', 'model_author'),
    'pt': ('model', 'dataset', 'tuner_type', 'num_train_epochs', 'max_steps', 'learning_rate', 'lora_rank',
           'per_device_train_batch_size', 'logging_steps', 'save_steps', 'output_dir'),
    'rlhf': ('rlhf_type', 'model', 'dataset', 'tuner_type', 'beta', 'num_train_epochs', 'max_steps', 'learning_rate',
             'logging_steps', 'output_dir', 'reward_funcs'),
    'deploy': ('model', 'adapters', 'host', 'port', 'served_model_name', 'api_key', 'infer_backend'),
    'eval': ('model', 'adapters', 'eval_dataset', 'eval_limit', 'eval_dataset_dir', 'eval_url', 'eval_output_dir'),
    'export': ('model', 'adapters', 'merge_lora', 'output_dir'),
}
# Spec strings that can only be a local file: refused before a job starts when the file is not there.
_FILE_SUFFIXES = ('.jsonl', '.json', '.csv', '.tsv', '.parquet', '.txt', '.arrow')
_FLAG = re.compile(r'--(\w+)')
GENERAL = ''  # the key of errors that name no field


@dataclass
class FieldSpec:
    name: str
    kind: str  # 'bool' | 'tristate' (Optional[bool]) | 'text' | 'list' | 'json'
    default: str  # as the form shows it
    help: str
    group: str
    owners: Tuple[str, ...] = ()  # rlhf: the algorithms that take the field (empty: all)


def _default_value(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _kind(tp) -> str:
    inner = _unwrap_optional(tp)
    if inner is bool:
        return 'tristate' if inner is not tp else 'bool'
    if _is_list(tp):
        return 'list'
    if inner in (dict, Dict) or typing.get_origin(inner) in (dict, Dict):
        return 'json'
    return 'text'


def _shown(kind: str, value: Any) -> Any:
    """A default as the form component holds it."""
    if kind == 'bool':
        return bool(value)
    if value is None:
        return ''
    if kind == 'tristate':
        return 'true' if value else 'false'
    if kind == 'list':
        return shlex.join(str(v) for v in value)
    if kind == 'json':
        return json.dumps(value, ensure_ascii=False) if value else ''
    return str(value)


def _classes(command: str) -> List[type]:
    return list(RLHF_ARGUMENT_CLASSES.values()) if command == 'rlhf' else [COMMAND_ARGUMENTS[command]]


class FormSpec:
    """The fields of one command (for rlhf: of every algorithm, each marked with the algorithms that take it)."""

    def __init__(self, command: str):
        self.command = command
        self.cls = COMMAND_ARGUMENTS[command]
        self.fields: Dict[str, FieldSpec] = {}
        classes = _classes(command)
        for cls in classes:
            hints = typing.get_type_hints(cls)
            for title, group in field_groups(cls):
                for f in group:
                    if f.name in self.fields:
                        continue
                    kind = _kind(hints[f.name])
                    owners = tuple(getattr(c, 'RLHF_TYPE', '') for c in classes if f.name in argument_fields(c))
                    self.fields[f.name] = FieldSpec(f.name, kind, _shown(kind, _default_value(f)),
                                                    f.metadata.get('help', ''), title,
                                                    owners if len(owners) < len(classes) else ())
        self.primary = [name for name in PRIMARY.get(command, ()) if name in self.fields]

    @classmethod
    def of(cls, command: str) -> 'FormSpec':
        return cls(command)

    def groups(self) -> List[Tuple[str, List[FieldSpec]]]:
        """The fields not shown at the top, by group, in the order the class composes them."""
        out: Dict[str, List[FieldSpec]] = {}
        for spec in self.fields.values():
            if spec.name not in self.primary:
                out.setdefault(spec.group, []).append(spec)
        return list(out.items())

    def argv(self, values: Dict[str, Any]) -> List[str]:
        """The flags for the values that differ from the defaults, in the form's order."""
        argv: List[str] = []
        for name, spec in self.fields.items():
            if name not in values:
                continue
            value = values[name]
            if spec.kind == 'bool':
                if bool(value) != spec.default:
                    argv += [f'--{name}', 'true' if value else 'false']
                continue
            text = '' if value is None else str(value).strip()
            if text == spec.default:
                continue
            if spec.kind == 'list':
                try:
                    argv += [f'--{name}', *shlex.split(text)]
                except ValueError as e:  # an unclosed quote: the parser gets the text and says what it reads
                    raise SwiftError(f'--{name}: {e} in {text!r}') from None
            else:
                argv += [f'--{name}', text if text else 'none']
        return argv

    def command_line(self, argv: List[str]) -> str:
        return display_command(self.command, argv)

    def errors(self, argv: List[str]) -> Dict[str, str]:
        """field name → the CLI's message for it ('' → messages that name no field); empty when the command
        would start. Runs the parser and the stage's checks, nothing that loads a model."""
        try:
            args = parse_args(self.cls, argv)
            module, function = CHECKS[self.command].split(':')
            getattr(importlib.import_module(module), function)(args)
            self._check_files(args)
        except SwiftError as e:
            return self._by_field(str(e))
        return {}

    def _check_files(self, args) -> None:
        """A dataset named by a file path that is not there fails now, not after the model has loaded."""
        for name in ('dataset', 'val_dataset'):
            for spec in getattr(args, name, None) or []:
                path = os.path.expanduser(spec)
                if spec.lower().endswith(_FILE_SUFFIXES) and not os.path.exists(path):
                    raise SwiftError(f'--{name}: file not found: {spec} (relative paths start at '
                                     f'{os.getcwd()})')

    def _by_field(self, message: str) -> Dict[str, str]:
        renamed = aliases(self.cls)
        found: Dict[str, str] = {}
        for line in message.splitlines():
            names = [renamed.get(n, n) for n in _FLAG.findall(line)]
            target = next((n for n in names if n in self.fields), GENERAL)
            found[target] = f'{found[target]}\n{line}' if target in found else line
        return found


def field_label(spec: FieldSpec) -> str:
    """The flag name the CLI takes (and, for rlhf, which algorithms take it)."""
    owners = f'  [{"/".join(spec.owners)}]' if spec.owners else ''
    return f'--{spec.name}{owners}'

