"""The one way every stage command runs: parse → check → (--check_args: print and stop) → launch → run.

    swift sft cfg.yaml --learning_rate 1e-4 --check_args   # validates as the run would, loads nothing, exits 0/1

Parsing and checking import no torch (swift.arguments and each stage's checks module), so a typo in a long
command line answers in about a second, and a multi-process launch (NPROC_PER_NODE) reports it once.
"""
import importlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

from swift.arguments import COMMAND_ARGUMENTS
from swift.arguments.unsupported import unsupported_env_messages
from swift.eval.registry import list_benchmarks
from swift.utils import SwiftError
from swift.utils.args import format_help, parse_args, to_dict

from .launch import launch

CHECK_ARGS = '--check_args'
SECRETS = ('hub_token', 'api_key')  # never printed by --check_args


@dataclass(frozen=True)
class Stage:
    check: str  # 'module:function' that loads plugins and checks names (torch-free)
    run: str  # 'module:function', the stage's entry point (sft_main, ...)
    report: Callable[[Any], str] = lambda result: ''  # what to print when the run returns


def _train_report(result) -> str:
    return f'output_dir: {result.output_dir}\nlast_checkpoint: {result.last_checkpoint}'


STAGES: Dict[str, Stage] = {
    'sft': Stage('swift.training.checks:check_train_args', 'swift.training.sft:sft_main', _train_report),
    'pt': Stage('swift.training.checks:check_train_args', 'swift.training.sft:pt_main', _train_report),
    'rlhf': Stage('swift.training.checks:check_train_args', 'swift.training.rlhf.workflow:rlhf_main', _train_report),
    'infer': Stage('swift.infer.checks:check_infer_args', 'swift.infer.main:infer_main'),
    'deploy': Stage('swift.infer.checks:check_infer_args', 'swift.infer.server.deploy:deploy_main'),
    'eval': Stage('swift.eval.checks:check_eval_args', 'swift.eval.main:eval_main'),
    'export': Stage('swift.export.checks:check_export_args', 'swift.export.main:export_main',
                    lambda result: '\n'.join(filter(None, (result.output_dir, result.hub_url)))),
    'rollout': Stage('swift.infer.checks:check_infer_args', 'swift.infer.server.rollout:rollout_main'),
    'sample': Stage('swift.training.checks:check_sample_args', 'swift.training.sample:sample_main',
                    lambda result: f'{result.output_path}: {result.kept} rows ({result.sampled} answers sampled)'),
}


def _function(path: str) -> Callable:
    module, name = path.split(':')
    return getattr(importlib.import_module(module), name)


def _help(command: str, argv: List[str]) -> str:
    cls = COMMAND_ARGUMENTS[command]
    resolve_class = getattr(cls, 'resolve_class', None)
    if resolve_class is not None:  # swift rlhf --rlhf_type kto --help: that algorithm's flags
        flags = dict(zip(argv, argv[1:]))
        cls = resolve_class(lambda name: flags.get(f'--{name}'))
    text = format_help(cls, f'swift {command}', check_args=True)
    if command == 'eval':
        text += f'\n\nbenchmarks: {" ".join(list_benchmarks())}'
    if command == 'rlhf':
        text += '\n\n(the options of one algorithm: swift rlhf --rlhf_type <type> --help)'
    return text


def run_stage(command: str, argv: List[str]) -> int:
    argv = list(argv)
    if '-h' in argv or '--help' in argv:
        print(_help(command, argv))
        return 0
    refused = unsupported_env_messages(command)  # ms-swift's variables swift would otherwise ignore
    if refused:
        raise SwiftError('\n'.join(refused))
    check_only = CHECK_ARGS in argv
    argv = [a for a in argv if a != CHECK_ARGS]
    stage = STAGES[command]
    args = _function(stage.check)(parse_args(COMMAND_ARGUMENTS[command], argv))
    if check_only:
        shown = {k: ('***' if k in SECRETS and v else v) for k, v in to_dict(args).items()}
        print(json.dumps({'command': f'swift {command}', 'arguments': type(args).__name__, **shown},
                         indent=2, ensure_ascii=False, default=str))
        print(f'swift {command}: the arguments are valid', file=sys.stderr)
        return 0
    launched = launch(command, argv, args)  # NPROC_PER_NODE: the same command under torchrun, checked once here
    if launched is not None:
        return launched
    report = stage.report(_function(stage.run)(args))
    if report and os.environ.get('RANK', '0') == '0':  # one report for a multi-process run
        print(report)
    return 0
