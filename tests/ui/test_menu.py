"""`swift menu`: driven in a real terminal (tmux send-keys / capture-pane) through download → train → chat with
the embedded model, which then answers to its new name; `--yes` completes with no terminal at all; download
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


def test_menu_yes_runs_the_default_path_without_a_terminal(tmp_path, tiny_model_dir):
    done = subprocess.run([sys.executable, '-m', 'swift.cli.main', 'menu', '--yes', '--model', str(tiny_model_dir),
                           '--max_steps', '2', '--work_dir', str(tmp_path / 'work')], cwd=tmp_path,
                          env=_env(tmp_path), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
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


def test_menu_in_a_terminal_walks_train_and_chat(tmp_path, tiny_model_dir):
    """Every question answered by keys in a real terminal; the tiny model keeps the training short (that the
    recipe teaches the embedded model its new name is tests/training/test_self_cognition_e2e.py's proof)."""
    if not shutil.which('tmux'):
        pytest.fail('tmux is missing: apt-get install tmux (make test installs it)')
    env = _env(tmp_path)
    exports = ' '.join(f'{k}={shlex.quote(env[k])}' for k in ('PYTHONPATH', 'XDG_CONFIG_HOME'))
    command = (f'cd {shlex.quote(str(tmp_path))} && env {exports} {shlex.quote(sys.executable)} -m swift.cli.main '
               f'menu --work_dir work --model {shlex.quote(str(tiny_model_dir))}; echo MENU-EXIT-$?; sleep 600')
    term = Tmux(f'swift-menu-{os.getpid()}', command)
    try:
        term.wait(r'ModelScope \(ms\) or Hugging Face \(hf\)\? \[ms\]:$')
        term.type('hf')
        term.wait(r'HF_ENDPOINT.*:$')
        term.type('https://hf-mirror.example')
        term.wait(r'Hardware: CPU')
        term.wait(r'Model \(a number.*\[1\]:$')
        assert f'1. {tiny_model_dir}' in term.screen() and '2. smollm2-135m-instruct (embedded' in term.screen()
        term.type('1')
        term.wait(r'on this machine already: nothing to download')
        term.wait(r'Dataset .*\[self-cognition\]:$')
        term.type('')
        term.wait(r'Training steps \[16\]:$')
        term.type('2')
        term.wait(r'name the model should learn \[Swifty\]:$')
        term.type('Nova')
        term.wait(r'Its author .*:$')
        term.type('Aurora Labs')
        term.wait(r"\$ swift sft --model \S+ --max_steps 2 .*--model_name Nova --model_author 'Aurora Labs'")
        term.wait(r'\$ swift infer --adapters \S+checkpoint-2', timeout=600)
        term.wait(r'<<<$', timeout=180)
        term.type(HELD_OUT_IDENTITY_QUESTIONS[2])
        # the turn ends with the next prompt (the tiny random model's words mean nothing; warnings may interleave)
        term.wait(re.escape(HELD_OUT_IDENTITY_QUESTIONS[2]) + r'\n>>> [\s\S]*\n<<<$', timeout=180)
        term.type('exit')
        for _ in range(3):  # evaluate, export, deploy: no
            term.wait(r'\(y/n\) \[n\]:$')
            term.type('n')
        term.wait(r'MENU-EXIT-0')
        assert 'Done. The trained adapter:' in term.screen()
        assert 'hf-mirror.example' in settings_path_in(tmp_path).read_text()
    finally:
        term.close()


def settings_path_in(tmp_path):
    return tmp_path / 'config' / 'swift' / 'menu.json'
