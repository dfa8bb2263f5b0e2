"""`swift deploy` as a user runs it: a subprocess on 127.0.0.1, a free port, an API key, Ctrl-C to stop."""
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import openai
import pytest

from tests.conftest import REPO

from .conftest import user


def test_swift_deploy_serves_until_interrupted(tiny_model_dir):
    command = [sys.executable, '-m', 'swift.cli.main', 'deploy', '--model', str(tiny_model_dir), '--template',
               'smollm2', '--port', '0', '--api_key', 'secret', '--served_model_name', 'tiny', '--log_interval', '0.2',
               '--max_batch_size', '4']
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        url = _wait_for_url(lines, process, timeout=180)
        client = openai.OpenAI(base_url=url, api_key='secret', max_retries=0, timeout=60)
        reply = client.chat.completions.create(model='tiny', messages=user('hi'), max_tokens=5)
        assert reply.usage.completion_tokens == 5
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key='guess', max_retries=0).models.list()
        assert _wait_for_line(lines, r'requests: .* \| generation: [\d.]+ tokens/s', timeout=10)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_bad_flags_fail_fast_with_one_line(tiny_model_dir):
    done = subprocess.run([sys.executable, '-m', 'swift.cli.main', 'deploy', '--model', str(tiny_model_dir),
                           '--max_queue_size', '-1'], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == 'swift deploy: error: --max_queue_size must be >= 0, got -1'


def _wait_for_url(lines: queue.Queue, process, timeout: float) -> str:
    line = _wait_for_line(lines, r'serving .* at (http://127\.0\.0\.1:\d+/v1)', timeout, process)
    assert line, 'swift deploy did not start'
    return re.search(r'(http://127\.0\.0\.1:\d+/v1)', line).group(1)


def _wait_for_line(lines: queue.Queue, pattern: str, timeout: float, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process is not None and process.poll() is not None:
                raise AssertionError(f'swift deploy exited with {process.returncode}')
            continue
        if re.search(pattern, line):
            return line
    return None


def test_help_imports_neither_torch_nor_fastapi():
    code = ('import sys, io, contextlib; from swift.cli.main import main\n'
            'with contextlib.redirect_stdout(io.StringIO()) as out:\n'
            '    main(["deploy", "--help"]); main(["export", "--help"])\n'
            'assert "--max_queue_size" in out.getvalue() and "--merge_lora" in out.getvalue()\n'
            'assert not {"torch", "fastapi", "transformers"} & set(sys.modules), "heavy import"')
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_listens_on_loopback_by_default_and_refuses_batch_flags(tiny_model_dir):
    from swift.arguments import DeployArguments
    from swift.utils import SwiftError
    from swift.utils.args import parse_args
    assert parse_args(DeployArguments, ['--model', str(tiny_model_dir)]).host == '127.0.0.1'
    with pytest.raises(SwiftError, match='--val_dataset is an option of swift .*infer.*, not of swift deploy'):
        parse_args(DeployArguments, ['--model', str(tiny_model_dir), '--val_dataset', 'rows.jsonl'])
