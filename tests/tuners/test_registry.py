"""The tuner registry, TunerArguments parsing, plugins, lazy imports."""
import subprocess
import sys
import textwrap

import pytest

from swift.arguments import TunerArguments
from swift.tuners import Tuner, get_tuner, list_tuners, prepare_tuner, register_tuner
from swift.tuners.registry import TUNER_REGISTRY
from swift.utils import SwiftError
from swift.utils.args import parse_args
from swift.utils.plugins import load_plugins
from tests.tuners.conftest import args_for

BUILTIN = {'full', 'freeze', 'lora', 'adalora', 'vera', 'boft', 'ia3', 'llamapro'}


def test_builtin_tuners_are_registered():
    assert BUILTIN <= set(list_tuners())


def test_unknown_tuner_suggests_the_closest(base):
    with pytest.raises(SwiftError, match=r"unknown --tuner_type 'lroa'.*Did you mean: lora"):
        prepare_tuner(base, args_for(tuner_type='lroa'))


@pytest.mark.parametrize('name', ['longlora', 'reft'])
def test_ms_swift_tuners_not_supported_yet_say_so(name):
    with pytest.raises(SwiftError, match=f'--tuner_type {name}: .*not supported yet'):
        get_tuner(name)


def test_double_registration_is_an_error():
    with pytest.raises(SwiftError, match='already registered'):
        register_tuner(Tuner('lora', lambda model, args: model))


def test_plugin_file_registers_a_tuner(tmp_path, base):
    plugin = tmp_path / 'bias_only.py'
    plugin.write_text(textwrap.dedent('''
        from swift.tuners import Tuner, register_tuner

        def prepare_norms_only(model, args):
            for name, param in model.named_parameters():
                param.requires_grad_(name.endswith('norm.weight'))
            return model

        register_tuner(Tuner('norms_only', prepare_norms_only, 'train the RMSNorm weights'))
    '''))
    try:
        load_plugins([str(plugin)])
        model = prepare_tuner(base, args_for(tuner_type='norms_only'))
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        assert trainable and all(n.endswith('norm.weight') for n in trainable)
    finally:
        TUNER_REGISTRY.pop('norms_only', None)


def test_tuner_arguments_parse_from_flags_with_aliases():
    args = parse_args(TunerArguments, ['--train_type', 'lora', '--target_modules', 'q_proj', 'v_proj',
                                       '--init_weights', 'pissa', '--lora_rank', '16', '--lorap_lr_ratio', '16'])
    assert args.tuner_type == 'lora' and args.target_modules == ['q_proj', 'v_proj']
    assert args.init_weights == 'pissa' and args.lora_rank == 16 and args.lorap_lr_ratio == 16.0
    assert parse_args(TunerArguments, ['--init_weights', 'false']).init_weights is False
    defaults = TunerArguments()
    assert (defaults.lora_rank, defaults.lora_alpha, defaults.lora_dropout, defaults.target_modules) == \
        (8, 32, 0.05, ['all-linear'])


def test_every_tuner_argument_has_help():
    import dataclasses
    missing = [f.name for f in dataclasses.fields(TunerArguments) if not f.metadata.get('help')]
    assert not missing


def test_importing_tuners_loads_neither_torch_nor_peft():
    code = ('import sys, swift.tuners, swift.arguments, swift.tuners.registry; '
            'print(sorted(m for m in ("torch", "peft", "transformers") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'
