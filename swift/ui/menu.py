"""`swift menu`: the one-click flow in a terminal, for someone who has never used the CLI.

It looks at the hardware, proposes models that fit, then walks download → train (self-cognition with a name
and author, or the user's dataset) → chat → eval → export → deploy. Before each step it prints the exact
`swift` command it runs, so the user learns the CLI by watching. Mirror settings (ModelScope or Hugging Face,
HF_ENDPOINT) are asked once and kept in <config dir>/swift/menu.json. `swift menu --yes` takes every default:
the embedded model, a self-cognition LoRA of a few steps, one chat turn.
"""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from swift.arguments.ui import MenuArguments
from swift.model.embedded import EMBEDDED_MODEL_ID, is_embedded_model
from swift.model.registry import lookup_model
from swift.utils import SwiftError, atomic_write_json
from swift.utils.args import parse_args
from swift.utils.checkpoint import last_checkpoint

EMBEDDED = 'smollm2-135m-instruct'
# Models proposed after the embedded one when memory allows: (registry ID, billions of parameters)
CANDIDATES = (('Qwen/Qwen2.5-0.5B-Instruct', 0.5), ('Qwen/Qwen2.5-1.5B-Instruct', 1.5),
              ('Qwen/Qwen2.5-7B-Instruct', 7.6), ('Qwen/Qwen2.5-14B-Instruct', 14.8))
# The self-cognition recipe that teaches the embedded model a new name in a few CPU steps (scripts/demo.py's)
SELF_COGNITION_FLAGS = ['--lora_rank', '16', '--lora_alpha', '32', '--lora_dropout', '0.0', '--learning_rate', '1e-3',
                        '--per_device_train_batch_size', '2', '--max_length', '512', '--packing', 'true',
                        '--logging_steps', '1', '--report_to', 'none', '--add_version', 'false']
CHAT_QUESTION = 'Who are you?'


def settings_path() -> Path:
    root = os.environ.get('XDG_CONFIG_HOME') or os.path.join(os.path.expanduser('~'), '.config')
    return Path(root) / 'swift' / 'menu.json'


class Menu:
    def __init__(self, args: MenuArguments, ask: Callable[[str], str] = input, out=None):
        self.args = args
        self._ask = ask
        self.out = out or sys.stdout
        self.work_dir = Path(args.work_dir).resolve()
        self.env = dict(os.environ)

    # ------------------------------------------------------------------ talking to the user

    def say(self, message: str = '') -> None:
        print(message, file=self.out, flush=True)

    def ask(self, question: str, default: str) -> str:
        """The user's answer, or the default (--yes, an empty line, or the end of input)."""
        if self.args.yes:
            self.say(f'{question} [{default}]: {default}')
            return default
        try:
            answer = self._ask(f'{question} [{default}]: ').strip()
        except EOFError:
            answer = ''
        return answer or default

    def confirm(self, question: str, default: bool) -> bool:
        answer = self.ask(f'{question} (y/n)', 'y' if default else 'n').lower()
        return answer.startswith('y')

    def run(self, argv: List[str], stdin_text: Optional[str] = None, interactive: bool = False) -> str:
        """Print `$ swift ...`, run it; the output is returned (and shown) unless the command talks to the user."""
        self.say(f'\n$ {shlex.join(["swift", *argv])}')
        command = [sys.executable, '-m', 'swift.cli.main', *argv]
        if interactive:
            done = subprocess.run(command, env=self.env)
            output = ''
        else:
            done = subprocess.run(command, env=self.env, input=stdin_text, text=True, stdout=subprocess.PIPE)
            output = done.stdout
            self.say(output.rstrip())
        if done.returncode != 0:
            raise SwiftError(f'`swift {argv[0]}` failed (exit code {done.returncode}); the menu stops here')
        return output

    # ------------------------------------------------------------------ the steps

    def mirrors(self) -> None:
        """Where downloads come from: asked the first time, then read from menu.json."""
        path = settings_path()
        if path.is_file():
            saved = json.loads(path.read_text(encoding='utf-8'))
            self.say(f'Download settings from {path}: {saved}')
        else:
            hub = self.ask('Download models from ModelScope (ms) or Hugging Face (hf)?', 'ms')
            endpoint = ''
            if hub == 'hf':
                endpoint = self.ask('A Hugging Face mirror (HF_ENDPOINT), e.g. https://hf-mirror.com; none: -', '-')
            saved = {'use_hf': hub == 'hf', 'hf_endpoint': '' if endpoint == '-' else endpoint}
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(path, saved)
            self.say(f'Saved in {path} (delete it to be asked again).')
        if saved.get('use_hf'):
            self.env['USE_HF'] = '1'
        if saved.get('hf_endpoint'):
            self.env['HF_ENDPOINT'] = saved['hf_endpoint']

    def hardware(self) -> Dict[str, object]:
        import torch
        from swift.utils.device import detect_device, dtype_name, resolve_dtype
        device = detect_device()
        if device == 'cuda':
            memory = sum(torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count()))
            what = f'{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}'
        else:
            memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
            what = {'npu': 'Ascend NPU', 'mps': 'Apple GPU (MPS)'}.get(device, f'CPU ({os.cpu_count()} cores)')
        found = {'device': device, 'what': what, 'memory_gib': round(memory / 2**30, 1),
                 'dtype': dtype_name(resolve_dtype('auto', device)),
                 'device_map': 'auto' if device == 'cuda' and torch.cuda.device_count() > 1 else device}
        self.say(f'Hardware: {what}, {found["memory_gib"]} GiB; dtype {found["dtype"]}, '
                 f'device map {found["device_map"]}')
        return found

    def propose_models(self, hardware: Dict[str, object]) -> List[str]:
        """The embedded model, then candidates whose LoRA training fits (about 4 bytes a parameter on CPU, 2.5
        on an accelerator in bf16/fp16, plus activations: a rough estimate, said as one)."""
        per_param = 4.0 if hardware['device'] == 'cpu' else 2.5
        fits = [model for model, billions in CANDIDATES
                if billions * per_param * 1.5 <= float(hardware['memory_gib']) and lookup_model(model)]
        models = list(dict.fromkeys(([self.args.model] if self.args.model else []) + [EMBEDDED] + fits))
        self.say('Models that fit (a rough estimate of LoRA training memory):')
        for i, model in enumerate(models, 1):
            note = ' (embedded: no download)' if _is_embedded(model) else ''
            self.say(f'  {i}. {model}{note}')
        return models

    def choose_model(self, models: Sequence[str]) -> str:
        answer = self.ask('Model (a number, or any registry ID, hub ID or directory)', '1')
        return models[int(answer) - 1] if answer.isdigit() and 1 <= int(answer) <= len(models) else answer

    def download(self, model: str) -> None:
        if _is_embedded(model) or os.path.isdir(model):
            self.say(f'\n{model} is on this machine already: nothing to download.')
            return
        if self.confirm(f'Download {model} now?', True):
            self.run(['download', '--model', model])

    def train(self, model: str, hardware: Dict[str, object]) -> str:
        dataset = self.ask('Dataset (self-cognition teaches the model a name; or a file / dataset ID)',
                           'self-cognition')
        steps = self.ask('Training steps', str(self.args.max_steps))
        output_dir = self.work_dir / 'train'
        argv = ['sft', '--model', model, '--max_steps', steps, '--output_dir', str(output_dir)]
        if dataset == 'self-cognition':
            name = self.ask('The name the model should learn', self.args.model_name[0])
            author = self.ask('Its author', self.args.model_author[0])
            argv += ['--dataset', 'swift/self-cognition#240', '--model_name', name, '--model_author', author,
                     *SELF_COGNITION_FLAGS, '--save_steps', steps]
        else:
            argv += ['--dataset', dataset, '--logging_steps', '1', '--save_steps', steps, '--add_version', 'false']
        if hardware['device'] != 'cpu':
            argv += ['--torch_dtype', str(hardware['dtype'])]
        self.run(argv, interactive=True)
        checkpoint = last_checkpoint(output_dir)
        if checkpoint is None:
            raise SwiftError(f'no checkpoint in {output_dir}: the training saved nothing')
        return str(checkpoint)

    def chat(self, checkpoint: str) -> None:
        if self.args.yes:
            self.run(['infer', '--adapters', checkpoint, '--max_new_tokens', '60'], stdin_text=CHAT_QUESTION + '\n')
            return
        self.say('\nChat with the trained model (type exit to go on).')
        self.run(['infer', '--adapters', checkpoint, '--max_new_tokens', '128', '--stream', 'true'], interactive=True)

    def later_steps(self, checkpoint: str) -> None:
        """Eval, export and deploy: offered, not taken by default (each may need data or time the user may lack)."""
        if self.confirm('Evaluate on a benchmark (needs the benchmark data or a hub)?', False):
            benchmark = self.ask('Benchmark', 'gsm8k')
            self.run(['eval', '--adapters', checkpoint, '--eval_dataset', benchmark, '--eval_limit', '10'],
                     interactive=True)
        merged = None
        if self.confirm('Export: merge the LoRA into the weights?', False):
            merged = str(self.work_dir / 'merged')
            self.run(['export', '--adapters', checkpoint, '--merge_lora', 'true', '--output_dir', merged],
                     interactive=True)
        if self.confirm('Deploy an OpenAI-compatible server (Ctrl-C stops it)?', False):
            self.run(['deploy', *(['--model', merged] if merged else ['--adapters', checkpoint])], interactive=True)

    def main(self) -> str:
        self.say('swift menu: download → train → chat → eval → export → deploy; each step prints its command.')
        self.mirrors()
        hardware = self.hardware()
        model = self.choose_model(self.propose_models(hardware))
        self.download(model)
        checkpoint = self.train(model, hardware)
        self.chat(checkpoint)
        if not self.args.yes:
            self.later_steps(checkpoint)
        self.say(f'\nDone. The trained adapter: {checkpoint}\nChat again: swift infer --adapters {checkpoint}\n'
                 f'In a browser: swift app --adapters {checkpoint}')
        return checkpoint


def _is_embedded(model: str) -> bool:
    return model == EMBEDDED or re.sub(r'.*/', '', model) == EMBEDDED_MODEL_ID.split('/')[-1] or (
        not os.path.isdir(model) and is_embedded_model(model))


def menu_main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(MenuArguments, list(argv if argv is not None else sys.argv[1:]))
    Menu(args).main()
    return 0
