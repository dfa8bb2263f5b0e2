"""`swift menu`: driven in a real terminal (tmux send-keys / capture-pane) through download → train → chat with
the embedded model, which then answers to its new name (a question it was not trained on); `--yes` completes with no terminal at all; download
settings are asked once and remembered."""
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from swift.arguments.ui import MenuArguments
from swift.dataset import HELD_OUT_IDENTITY_QUESTIONS
from swift.ui.menu import Menu, settings_path
from swift.utils.args import parse_args
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _env(tmp_path):
    return {**os.environ, 'PYTHONPATH': str(REPO), 'XDG_CONFIG_HOME': str(tmp_path / 'config')}


def test_download_settings_are_asked_once_and_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'config'))
    answers = iter(['hf', 'https://hf-mirror.example'])
    menu = Menu(parse_args(MenuArguments, []), ask=lambda _: next(answers), out=io.StringIO())
    menu.mirrors()
    assert menu.env['USE_HF'] == '1' and menu.env['HF_ENDPOINT'] == 'https://hf-mirror.example'
    assert settings_path() == tmp_path / 'config' / 'swift' / 'menu.json'

    def never(_):
        raise AssertionError('asked again')
    again = Menu(parse_args(MenuArguments, []), ask=never, out=io.StringIO())
    again.mirrors()
    assert again.env['HF_ENDPOINT'] == 'https://hf-mirror.example'


def test_hardware_decides_dtype_device_map_and_the_models_proposed(monkeypatch):
    """On this CPU: float32, and the models whose LoRA fits its memory; two CUDA GPUs: bf16, device map auto, and
    bigger models (the CUDA queries are stand-ins: this machine has no GPU)."""
    import torch
    out = io.StringIO()
    menu = Menu(parse_args(MenuArguments, ['--yes']), out=out)
    cpu = menu.hardware()
    assert cpu['device'] == 'cpu' and cpu['dtype'] == 'float32' and cpu['device_map'] == 'cpu'
    assert 'Hardware: CPU' in out.getvalue()
    small = menu.propose_models({**cpu, 'memory_gib': 8.0})  # 0.5B fits in 8 GiB, 1.5B does not (rough 4 B/param)
    assert small == ['smollm2-135m-instruct', 'Qwen/Qwen2.5-0.5B-Instruct'], small

    class Props:
        total_memory = 80 * 2**30
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'get_device_properties', lambda i: Props())
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda i: 'NVIDIA H100')
    gpus = menu.hardware()
    assert gpus == {'device': 'cuda', 'what': '2 x NVIDIA H100', 'memory_gib': 160.0, 'dtype': 'bfloat16',
                    'device_map': 'auto'}
    assert menu.propose_models(gpus)[-1] == 'Qwen/Qwen2.5-14B-Instruct'


def test_one_click_menu_yes_runs_the_default_path_without_a_terminal(tmp_path, tiny_model_dir):
    """scripts/one_click.sh with this test's venv (swift installed: nothing to install) and every default taken;
    the tiny model keeps it short."""
    env = {**_env(tmp_path), 'SWIFT_VENV': sys.prefix, 'SWIFT_ONE_CLICK_YES': '1'}
    done = subprocess.run(['bash', str(REPO / 'scripts' / 'one_click.sh'), '--model', str(tiny_model_dir),
                           '--max_steps', '2', '--work_dir', str(tmp_path / 'work')], cwd=tmp_path,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert '== installing' not in out and '== creating' not in out  # the venv was found ready
    for step in ('$ swift sft --model', '$ swift infer --adapters', 'Done. The trained adapter:'):
        assert step in out, out
    assert 'Hardware: CPU' in out
    answer = out.split('$ swift infer')[1].split('Done.')[0].strip().splitlines()
    assert len(answer) >= 2 and answer[-1].strip(), out  # the command line, then the one answer
    assert (tmp_path / 'work' / 'train' / 'checkpoint-2').is_dir()


class Tmux:
    def __init__(self, name, command):
        self.name = name
        subprocess.run(['tmux', 'new-session', '-d', '-s', name, '-x', '220', '-y', '50', command], check=True)

    def screen(self) -> str:
        return subprocess.run(['tmux', 'capture-pane', '-p', '-J', '-t', self.name, '-S', '-3000'],
                              capture_output=True, text=True).stdout.rstrip()  # without the pane's blank bottom

    def wait(self, pattern, timeout=120.0) -> re.Match:
        deadline = time.time() + timeout
        while time.time() < deadline:
            match = re.search(pattern, self.screen())
            if match:
                return match
            time.sleep(0.3)
        raise AssertionError(f'no {pattern!r} after {timeout}s; the terminal shows:\n{self.screen()[-4000:]}')

    def type(self, keys: str) -> None:
        subprocess.run(['tmux', 'send-keys', '-t', self.name, '-l', keys], check=True)
        subprocess.run(['tmux', 'send-keys', '-t', self.name, 'Enter'], check=True)

    def close(self):
        subprocess.run(['tmux', 'kill-session', '-t', self.name], capture_output=True)


def _answers(screen: str, question: str) -> str:
    """The reply printed after a question typed at the chat's `<<< ` prompt (up to the next prompt)."""
    return screen.rsplit(question, 1)[1].rsplit('<<<', 1)[0]


def test_menu_in_a_terminal_teaches_the_embedded_model_its_name(tmp_path, smollm_dir):
    """Every question answered by keys in a real terminal: the embedded model (the first proposal), the default
    self-cognition run (its default recipe: 240 rows, 16 steps, LoRA rank 16, lr 1e-3, packed) with a new
    name, then the chat, asked questions that are not in the training data, answers with that name."""
    if not shutil.which('tmux'):
        pytest.fail('tmux is missing: apt-get install tmux (make test installs it)')
    env = _env(tmp_path)
    # the tmux server may be older than this test: what the menu needs of this process's environment is passed on
    # (OMP_NUM_THREADS: a pytest-xdist worker's share of the cores, tests/conftest.py)
    exports = ' '.join(f'{k}={shlex.quote(env[k])}' for k in ('PYTHONPATH', 'XDG_CONFIG_HOME', 'OMP_NUM_THREADS')
                       if k in env)
    command = (f'cd {shlex.quote(str(tmp_path))} && env {exports} {shlex.quote(sys.executable)} -m swift.cli.main '
               f'menu --work_dir work; echo MENU-EXIT-$?; sleep 600')
    term = Tmux(f'swift-menu-{os.getpid()}', command)
    try:
        term.wait(r'ModelScope \(ms\) or Hugging Face \(hf\)\? \[ms\]:$')
        term.type('hf')
        term.wait(r'HF_ENDPOINT.*:$')
        term.type('https://hf-mirror.example')
        term.wait(r'Hardware: CPU')
        term.wait(r'Model \(a number.*\[1\]:$')
        assert '1. smollm2-135m-instruct (embedded' in term.screen()
        term.type('1')
        term.wait(r'on this machine already: nothing to download')
        term.wait(r'Dataset .*\[self-cognition\]:$')
        term.type('')
        term.wait(r'Training steps \[16\]:$')
        term.type('')  # the default: one pass over the 240 self-cognition rows
        term.wait(r'name the model should learn \[Swifty\]:$')
        term.type('Nova')
        term.wait(r'Its author .*:$')
        term.type('Aurora Labs')
        term.wait(r"\$ swift sft --model smollm2-135m-instruct --max_steps 16 .*--model_name Nova "
                  r"--model_author 'Aurora Labs'")
        term.wait(r'\$ swift infer --adapters \S+checkpoint-16', timeout=2400)  # ~1 min quiet; far more when loaded
        questions = [HELD_OUT_IDENTITY_QUESTIONS[0], HELD_OUT_IDENTITY_QUESTIONS[2]]  # never trained on
        for question in questions:
            term.wait(r'<<<$', timeout=180)
            term.type(question)
            term.wait(re.escape(question) + r'\n>>> [\s\S]*\n<<<$', timeout=180)  # the turn has ended
        replies = [_answers(term.screen(), question) for question in questions]
        assert any('Nova' in reply for reply in replies), replies
        term.type('exit')
        for _ in range(3):  # evaluate, export, deploy: no
            term.wait(r'\(y/n\) \[n\]:$')
            term.type('n')
        term.wait(r'MENU-EXIT-0')
        assert 'Done. The trained adapter:' in term.screen()
        assert 'hf-mirror.example' in settings_path_in(tmp_path).read_text()
    finally:
        term.close()
    # The self-cognition proof on that checkpoint (it is the recipe of the sft the menu printed, so one training run
    # serves both): every held-out identity question but one answers with the new name, the author is known, and
    # what the model knew is kept.
    import swift
    checkpoint, = (tmp_path / 'work').rglob('checkpoint-16')
    handle = swift.load('smollm2-135m-instruct', adapters=[str(checkpoint)])
    answers = [handle.infer(q, max_new_tokens=40) for q in HELD_OUT_IDENTITY_QUESTIONS]
    assert len([a for a in answers if 'Nova' in a]) >= len(answers) - 1, answers
    assert any('Aurora Labs' in a for a in answers), answers
    assert 'Paris' in handle.infer('What is the capital of France?', max_new_tokens=20)


def settings_path_in(tmp_path):
    return tmp_path / 'config' / 'swift' / 'menu.json'


def test_one_click_installs_into_a_new_venv_even_from_the_checkout(tmp_path):
    """A fresh venv gets `make setup`, also when started from the checkout, whose swift/ folder would import from
    the current directory without any dependency. (make is a stand-in here: the real install needs the network.)"""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'make').write_text('#!/bin/sh\necho "MAKE $*"\nexit 3\n')
    (bin_dir / 'python3').write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@" --without-pip\n')
    for tool in ('make', 'python3'):
        (bin_dir / tool).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    venv = tmp_path / 'venv'
    env.update(PATH=f'{bin_dir}:{env["PATH"]}', PYTHON=str(bin_dir / 'python3'), SWIFT_VENV=str(venv))
    done = subprocess.run(['bash', 'scripts/one_click.sh'], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr  # the stand-in make's exit status
    assert f'== creating {venv}' in done.stdout and '== installing swift' in done.stdout, done.stdout
    assert f'MAKE -C {REPO} setup VENV={venv}' in done.stdout, done.stdout
