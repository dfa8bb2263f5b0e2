"""The architecture, enforced: which swift package may import which, checked on every import of every module
(function-level imports and lazy 'swift.x.y' references included).

    cli, api                                     the user's entry points: may use everything below
    training, export                             workflows that make or transform a model (never each other)
    eval                                         scores a model (swift eval; training's --eval_benchmarks)
    infer                                        engines that generate and score (swift infer/deploy; eval and
                                                 GRPO/PPO rollouts generate through them)
    template, tuners, dataset                    what a conversation, a tuned model and a row are
    model                                        the registry, the hub, loading
    arguments                                    typed flags of every command (no torch, no I/O)
    utils, version                               small helpers

A package imports its own modules and anything in a lower layer; never one in its own layer or above.
docs/architecture.md draws the same picture.
"""
import ast
import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from tests.conftest import REPO

LAYERS: Dict[str, int] = {
    'utils': 0, 'version': 0,
    'arguments': 1,
    'model': 2,
    'template': 3, 'tuners': 3, 'dataset': 3,
    'infer': 4,
    'eval': 5,
    'training': 6, 'export': 6,
    'api': 7, 'ui': 7,
    'cli': 8, '__init__': 8,  # swift/__init__.py: the lazy table of public names
    '__main__': 9,  # python -m swift (and torchrun -m swift): runs the command line
}
# which packages each package may import: the table the architecture promises
ALLOWED: Dict[str, List[str]] = {
    package: sorted(other for other, rank in LAYERS.items() if rank < LAYERS[package]) for package in LAYERS
}
_MODULE_STRING = re.compile(r'^swift(\.[A-Za-z_]\w*)+(:\w+)?$')  # 'swift.infer.x', 'swift.infer.x:Class'


def package_of(module: str) -> str:
    """'swift.infer.server.app' → 'infer'; 'swift' → '__init__'; 'swift.api' → 'api'."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def module_name(path: Path, root: Path) -> Tuple[str, bool]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == '__init__'
    if is_package:
        parts = parts[:-1]
    return '.'.join(parts), is_package


def imported_modules(source: str, module: str, is_package: bool) -> Iterator[Tuple[int, str]]:
    """(line, swift module) for every import in the source, at any depth, and every 'swift.x' module string."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split('.') if is_package else module.split('.')[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            yield node.lineno, target
            for alias in node.names:  # `from swift import training` imports the package swift.training
                if target == 'swift':
                    yield node.lineno, f'swift.{alias.name}'
        elif isinstance(node, ast.Dict):  # lazy tables: {'Name': 'swift.x.module'}
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and _MODULE_STRING.match(value.value):
                    yield value.lineno, value.value.split(':')[0]
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and ':' in node.value
              and _MODULE_STRING.match(node.value)):  # 'swift.x.module:function', imported by name
            yield node.lineno, node.value.split(':')[0]


def violations(path: Path, source: str, root: Path) -> List[str]:
    module, is_package = module_name(path, root)
    own = package_of(module)
    found = []
    for line, target in imported_modules(source, module, is_package):
        if not (target == 'swift' or target.startswith('swift.')):
            continue
        other = package_of(target)
        if other == own:
            continue
        if target == 'swift' and own != '__init__':
            found.append(f'{path.relative_to(root.parent)}:{line}: imports the top-level swift package (the public '
                         'API facade): import the module that defines the name')
            continue
        if other not in LAYERS:
            found.append(f'{path.relative_to(root.parent)}:{line}: {target}: package {other!r} is not in the layer '
                         'table (tests/test_layering.py LAYERS); add it where it belongs')
        elif other not in ALLOWED[own]:
            found.append(f'{path.relative_to(root.parent)}:{line}: {own} may not import {target} ({other} is in '
                         f'layer {LAYERS[other]}, {own} in layer {LAYERS[own]})')
    return found


def all_violations(root: Path) -> List[str]:
    found = []
    for path in sorted(root.rglob('*.py')):
        found += violations(path, path.read_text(encoding='utf-8'), root)
    return found


def test_every_package_is_in_the_table():
    root = REPO / 'swift'
    packages = {p.name for p in root.iterdir() if p.is_dir() and (p / '__init__.py').is_file()}
    packages |= {p.stem for p in root.glob('*.py')}
    assert packages <= set(LAYERS), sorted(packages - set(LAYERS))


def test_imports_point_down_the_layers():
    found = all_violations(REPO / 'swift')
    assert not found, 'imports against the layering:\n' + '\n'.join(found)


@pytest.mark.parametrize('package, source, allowed', [
    ('infer', 'from swift.training import runner\n', False),  # a stage importing a higher one
    ('infer', 'from swift.train import sft_main\n', False),  # a package the table does not know
    ('infer', 'def f():\n    from swift.training.rlhf.data import rejected_messages\n', False),  # hidden inside
    ('training', 'from swift.export.main import export_main\n', False),  # the same layer
    ('model', 'from ..template import get_template\n', False),  # relative, upward
    ('eval', "_LAZY = {'x': 'swift.training.sft'}\n", False),  # a lazy reference
    ('dataset', 'import swift\n', False),  # the public facade
    ('training', 'from swift.infer.transformers_engine import TransformersEngine\n', True),
    ('cli', 'from swift.training.sft import sft_main\n', True),
])
def test_the_check_catches_what_it_should(tmp_path, package, source, allowed):
    root = tmp_path / 'swift'
    path = root / package / 'new_module.py'
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert (violations(path, source, root) == []) == allowed
