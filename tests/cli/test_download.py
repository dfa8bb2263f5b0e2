"""`swift download`: prints the local path; without a network, one clear line and a non-zero exit.

How fast it gives up without a network is measured by benchmarks/cli_latency.py, not asserted here."""
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers.fake_hf_hub import FakeHfHub, FakeRepo
from tests.helpers.hub_env import closed_port, isolated_env, make_weights, tiny_model_files

QWEN = 'Qwen/Qwen2.5-0.5B-Instruct'


@pytest.fixture
def clean_env(tmp_path):
    """No hub variables from the developer's shell; caches in tmp_path."""
    return isolated_env(tmp_path)


def swift_download(env, *args, timeout=60):
    return subprocess.run([sys.executable, '-m', 'swift.cli.main', 'download', *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_clear_line(done, *phrases):
    assert done.returncode == 1, done
    assert 'Traceback' not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith('swift download: error: ')
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_hugging_face_unreachable(clean_env):
    env = dict(clean_env, HF_ENDPOINT=f'http://127.0.0.1:{closed_port()}')
    done = swift_download(env, '--model', QWEN, '--use_hf')
    assert_one_clear_line(done, f'cannot reach Hugging Face ({env["HF_ENDPOINT"]}) to download {QWEN}',
                          '--model /path/to/model_dir', 'ModelScope')


def test_modelscope_unreachable(clean_env):
    env = dict(clean_env, MODELSCOPE_ENDPOINT=f'http://127.0.0.1:{closed_port()}')
    done = swift_download(env, '--model', QWEN)
    assert_one_clear_line(done, f'cannot reach ModelScope ({env["MODELSCOPE_ENDPOINT"]}) to download {QWEN}',
                          '--model /path/to/model_dir', '--use_hf')


def _modelscope_reachable() -> bool:
    try:
        with socket.create_connection(('modelscope.cn', 443), timeout=3):
            return True
    except OSError:
        return False


def test_default_modelscope_without_network_is_one_clear_line(clean_env):
    """The default endpoints (modelscope.cn, then modelscope.ai), on a machine without a network."""
    if _modelscope_reachable():
        pytest.skip('modelscope.cn is reachable here: this test is about machines without a network')
    done = swift_download(clean_env, '--model', QWEN)
    assert_one_clear_line(done, 'cannot reach ModelScope (https://modelscope.cn / https://www.modelscope.ai)')


def test_offline_without_local_copy(clean_env):
    done = swift_download(clean_env, '--model', QWEN, '--use_hf', '--offline')
    assert_one_clear_line(done, 'offline (--offline)', f'swift download --model {QWEN} --use_hf')


def test_download_prints_the_path_then_works_offline(clean_env, tmp_path):
    with FakeHfHub() as hub:
        repo = hub.add_repo(FakeRepo('swift-test/tiny-llm', tiny_model_files(make_weights())))
        env = dict(clean_env, HF_ENDPOINT=hub.url)
        target = tmp_path / 'tiny'
        done = swift_download(env, '--model', repo.repo_id, '--use_hf', '--local_dir', str(target))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(target)
        assert (target / 'model.safetensors').read_bytes() == repo.files['model.safetensors'].data
        hub.clear_log()
        done = swift_download(env, '--model', repo.repo_id, '--use_hf', '--local_dir', str(target), '--offline')
        assert done.returncode == 0 and done.stdout.strip() == str(target)
        assert hub.requests == []


def test_use_hf_from_the_environment(clean_env):
    env = dict(clean_env, USE_HF='1', HF_ENDPOINT=f'http://127.0.0.1:{closed_port()}')
    done = swift_download(env, '--model', QWEN)
    assert_one_clear_line(done, 'cannot reach Hugging Face')


def test_arguments(clean_env):
    done = swift_download(clean_env, '--help')
    assert done.returncode == 0 and '--local_dir' in done.stdout and '--offline' in done.stdout
    done = swift_download(clean_env)
    assert_one_clear_line(done, '--model is required')
    done = swift_download(clean_env, '--modle', QWEN)
    assert_one_clear_line(done, 'unknown argument --modle', 'Did you mean: model')
    done = swift_download(clean_env, '--model', str(Path('no') / 'such' / 'dir'))
    assert_one_clear_line(done, 'is a local path, not a model ID')
    done = swift_download(clean_env, '--model', 'smollm2-135m-instruc')
    assert_one_clear_line(done, 'unknown model', 'Did you mean: ')
