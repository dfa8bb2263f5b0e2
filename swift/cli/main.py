"""`swift <command> ...`: dispatch to one module per command, imported only when it runs.

`swift --help` and `swift list` must answer in about a second: nothing here imports torch.
Errors the user can fix (SwiftError) are printed as one line, without a traceback.
"""
import importlib
import importlib.util
import os
import sys
import time
from typing import List, Optional

from swift.utils.errors import SwiftError, did_you_mean
from swift.version import __version__

# command → (module with main(argv), one-line help)
COMMANDS = {
    'download': ('swift.cli.download', 'download a model from ModelScope or Hugging Face'),
    'list': ('swift.cli.list_cmd', 'list registered models, templates or datasets'),
    'infer': ('swift.cli.infer', 'chat with a model, or run it over a dataset'),
    'data': ('swift.cli.data', 'check a dataset: format, bad rows, token lengths'),
    'sft': ('swift.cli.sft', 'supervised fine-tuning (full, LoRA, QLoRA, ...)'),
    'pt': ('swift.cli.pt', 'continued pre-training on plain text'),
    'rlhf': ('swift.cli.rlhf', 'alignment: DPO, ORPO, SimPO, CPO, KTO, RM, PPO, GRPO, GKD'),
    'deploy': ('swift.cli.deploy', 'serve a model behind an OpenAI-compatible API'),
    'eval': ('swift.cli.eval', 'evaluate on MMLU, C-Eval, CMMLU, GSM8K, ARC, ...'),
    'export': ('swift.cli.export', 'merge LoRA, quantize, export'),
    'rollout': ('swift.cli.rollout', 'serve a model for swift rlhf rollouts (--vllm_mode server), weights synced'),
    'sample': ('swift.cli.sample', 'rejection sampling / distillation into a dataset for swift sft'),
    'web-ui': ('swift.cli.web_ui', 'the web UI: a form per stage, jobs with live curves, chat'),
    'app': ('swift.cli.app', 'a chat page for one model (local engine or OpenAI-compatible server)'),
    'menu': ('swift.cli.menu', 'the one-click flow in a terminal: download, train, chat, eval, export, deploy'),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ['usage: swift <command> [config.yaml] [--name value ...] [--check_args]', '', 'commands:']
    lines += [f'  {name:<{width}}  {desc}' for name, (_, desc) in COMMANDS.items()]
    lines += ['', 'Run `swift <command> --help` for the options of a command; --check_args validates a command line',
              'as the run would, without loading anything.']
    return '\n'.join(lines)


def _command_available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _another_rank_says_it() -> bool:
    """Under a bare torchrun / accelerate / deepspeed launch every process parses the same command line, so an error
    found before the processes have joined (a typo, a bad value) is found by all of them: rank 0 alone prints it.
    Once the process group is up, each rank's errors are its own and every rank prints them."""
    if os.environ.get('RANK', '0') == '0':
        return False
    dist = sys.modules.get('torch.distributed')
    return not (dist is not None and dist.is_available() and dist.is_initialized())


# How long a rank that leaves an error to rank 0 waits before failing itself (the launcher normally ends it sooner)
SILENT_RANK_WAIT_S = 30

# Commands whose process ends without the interpreter's teardown once they succeed (swift.utils.process)
EXIT_NOW = ('sft', 'pt', 'rlhf')


def main(argv: Optional[List[str]] = None) -> int:
    """The `swift` command. Called with no argv it is the process's entry point (console script, python -m
    swift): a training command that succeeds then ends the process at once (exit_now) instead of returning."""
    code = _main(argv)
    if argv is None and code == 0 and sys.argv[1:2] and sys.argv[1] in EXIT_NOW and not _distributed():
        from swift.utils.process import exit_now
        exit_now(code)
    return code


def _distributed() -> bool:
    """A process group is up (torchrun ranks): those processes end the ordinary way, together."""
    dist = sys.modules.get('torch.distributed')
    return bool(dist is not None and dist.is_available() and dist.is_initialized())


def _main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help', 'help'):
        print(usage())
        return 0
    if argv[0] in ('-V', '--version'):
        print(__version__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        from swift.arguments.unsupported import unsupported_command_message  # ms-swift's commands we lack
        message = unsupported_command_message(command) or f'unknown command {command!r}.' + did_you_mean(
            command, COMMANDS)
        print(f'swift: {message}', file=sys.stderr)
        return 2
    module_name = COMMANDS[command][0]
    if not _command_available(module_name):
        print(f'swift {command}: not available in this version yet', file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(module_name)
        return module.main(rest) or 0
    except SwiftError as e:
        if not _another_rank_says_it():
            print(f'swift {command}: error: {e}', file=sys.stderr)
        else:  # rank 0 says it; the launcher stops every rank once one fails, so fail after rank 0 (which then
            time.sleep(SILENT_RANK_WAIT_S)  # ends this one), not before it has printed (seen on a loaded machine)
        return 1
    except KeyboardInterrupt:
        print(f'swift {command}: interrupted', file=sys.stderr)
        return 130
    except BrokenPipeError:  # `swift list models | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush is quiet too
        return 0


if __name__ == '__main__':
    sys.exit(main())
