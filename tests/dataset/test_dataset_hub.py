"""Hub datasets through swift's own path (load_datasets with `hf::ID` / `ms::ID`, `:subset`, `#N`) against
the fake hubs on 127.0.0.1 (tests/helpers/fake_hf_hub.py, fake_ms_hub.py).

Loads run in a subprocess, as in tests/model/test_hub.py: huggingface_hub and datasets read HF_ENDPOINT,
HF_HOME and HF_HUB_OFFLINE once, at import, and each test needs its own caches. One interpreter runs
several loads in a row to keep the tests fast.
"""
import json

import pytest

from swift.dataset import hub as dataset_hub
from tests.helpers.fake_hf_hub import FakeHfHub, FakeRepo
from tests.helpers.fake_ms_hub import FakeMsHub
from tests.helpers.hub_env import isolated_env, run_load_datasets

ALPACA_ID = 'swift-test/alpaca-mini'
HH_ID = 'swift-test/hh-mini'  # subsets are directories, as in AI-ModelScope/hh-rlhf
TEST_ONLY_ID = 'swift-test/test-only'
CONFIGS_ID = 'swift-test/with-configs'  # subsets are README configs, as in openai/gsm8k's `main`


def jsonl(rows) -> bytes:
    return b''.join(json.dumps(r).encode() + b'\n' for r in rows)


def hh_rows(tag: str, n: int):
    return [{'chosen': f'\n\nHuman: {tag} {i}?\n\nAssistant: good {i}',
             'rejected': f'\n\nHuman: {tag} {i}?\n\nAssistant: bad {i}'} for i in range(n)]


ALPACA_FILES = {
    'README.md': b'# alpaca-mini\n',
    'data/train.jsonl': jsonl([{'instruction': 'Name a colour', 'input': '', 'output': 'Blue'},
                               {'instruction': 'Translate', 'input': 'chat', 'output': 'cat'},
                               {'instruction': 'Add', 'input': '2+2', 'output': '4'}]),
}
HH_FILES = {
    'README.md': b'# hh-mini\nTwo subsets, one directory each.\n',
    'harmless-base/train.jsonl': jsonl(hh_rows('harmless', 2)),
    'harmless-base/test.jsonl': jsonl(hh_rows('harmless-test', 1)),
    'helpful-base/train.jsonl': jsonl(hh_rows('helpful', 3)),
}
TEST_ONLY_FILES = {'data/test.jsonl': jsonl([{'query': 'q', 'response': 'r'}])}
CONFIGS_FILES = {  # no directory is called `main`: only the config can find these files
    'README.md': b'---\nconfigs:\n- config_name: main\n  data_files:\n  - split: train\n    path: data/main-*.jsonl\n'
                 b'- config_name: other\n  data_files: data/other.jsonl\n---\n# with-configs\n',
    'data/main-00000.jsonl': jsonl([{'query': 'main q', 'response': 'main r'}]),
    'data/other.jsonl': jsonl([{'query': 'other q', 'response': 'other r'}]),
}
ALL_REPOS = ((ALPACA_ID, ALPACA_FILES), (HH_ID, HH_FILES), (TEST_ONLY_ID, TEST_ONLY_FILES), (CONFIGS_ID, CONFIGS_FILES))

ALPACA_MESSAGES = [
    [{'role': 'user', 'content': 'Name a colour'}, {'role': 'assistant', 'content': 'Blue'}],
    [{'role': 'user', 'content': 'Translate\nchat'}, {'role': 'assistant', 'content': 'cat'}],
    [{'role': 'user', 'content': 'Add\n2+2'}, {'role': 'assistant', 'content': '4'}],
]


def hh_standard(tag: str, i: int) -> dict:
    return {'messages': [{'role': 'user', 'content': f'{tag} {i}?'}, {'role': 'assistant', 'content': f'good {i}'}],
            'rejected_response': f'bad {i}'}


HH_STANDARD = [hh_standard('harmless', 0), hh_standard('harmless', 1)] + [hh_standard('helpful', i) for i in range(3)]
HH_LOCATIONS = [f'{HH_ID}:harmless-base/train: row {i}' for i in range(2)] + \
    [f'{HH_ID}:helpful-base/train: row {i}' for i in range(3)]


def specs(prefix: str):
    """The alpaca repo whole, plus two of the hh repo's directory subsets sampled with #4."""
    return [f'{prefix}::{ALPACA_ID}', f'{prefix}::{HH_ID}:harmless-base/helpful-base#4']


def check_rows(result: dict, hub_name: str) -> None:
    assert 'rows' in result, result
    rows, locations = result['rows'], result['locations']
    assert [r['messages'] for r in rows[:3]] == ALPACA_MESSAGES
    assert locations[:3] == [f'{ALPACA_ID}:default/train: row {i}' for i in range(3)]
    # #4 samples 4 of the 5 train rows of both subsets (never the harmless-base/test.jsonl row)
    sampled = list(zip(locations[3:], rows[3:]))
    assert len(sampled) == 4 and len(set(locations[3:])) == 4
    expected = dict(zip(HH_LOCATIONS, HH_STANDARD))
    assert all(expected[loc] == row for loc, row in sampled), sampled
    assert result['sources'] == [f'{hub_name} {ALPACA_ID}', f'{hub_name} {HH_ID}']


def more_specs(prefix: str, split_case: bool = True):
    """A config subset, then some that fail: no such subset, no such repo, (and) no `train` split."""
    calls = [f'{prefix}::{CONFIGS_ID}:main', f'{prefix}::{HH_ID}:no-such-subset',
             f'{prefix}::swift-test/no-such-dataset']
    return calls + ([f'{prefix}::{TEST_ONLY_ID}'] if split_case else [])


def check_more(results, hub_name: str, token_var: str) -> None:
    config = results[0]
    assert config['rows'] == [{'messages': [{'role': 'user', 'content': 'main q'},
                                            {'role': 'assistant', 'content': 'main r'}]}], config
    assert config['locations'] == [f'{CONFIGS_ID}:main/train: row 0']
    subset, repo, *split = map(one_line, results[1:])
    assert subset == (f"{hub_name} dataset '{HH_ID}' has no subset 'no-such-subset': no config of that name "
                      "(its configs: ['default']) and no directory no-such-subset/ with data files in the repo")
    assert repo.startswith(f"{hub_name} has no dataset 'swift-test/no-such-dataset'") and token_var in repo
    if split:  # the same datasets message on both hubs; checked once to keep the tests fast
        assert split == [f"{hub_name} dataset '{TEST_ONLY_ID}', subset 'default' has no split 'train'; it has ['test']"]


def one_line(result: dict) -> str:
    assert result.get('type') == 'SwiftError', result
    assert '\n' not in result['error']
    return result['error']


# ---------------------------------------------------------------- Hugging Face


@pytest.fixture
def hf_hub():
    with FakeHfHub() as server:
        for repo_id, files in ALL_REPOS:
            server.add_repo(FakeRepo(repo_id, files, repo_type='dataset'))
        yield server


def test_hf_dataset_loads_then_comes_from_the_cache(hf_hub, tmp_path):
    env = isolated_env(tmp_path, HF_ENDPOINT=hf_hub.url)
    results, _ = run_load_datasets(env, specs('hf'), *more_specs('hf'))
    first = results[0]
    check_rows(first, 'Hugging Face')
    # the dataset routes, not the model ones: repo info, listings, the paths-info probe, file downloads
    paths = [(r.method, r.path) for r in hf_hub.requests]
    assert any(m == 'GET' and p.startswith(f'/api/datasets/{HH_ID}/tree/') for m, p in paths)
    assert any(m == 'POST' and p.startswith(f'/api/datasets/{HH_ID}/paths-info/') for m, p in paths)
    assert len(hf_hub.file_gets(HH_ID, 'harmless-base/train.jsonl', repo_type='dataset')) == 1
    assert not any(p.startswith('/api/models/') for _, p in paths)
    check_more(results[1:], 'Hugging Face', 'HF_TOKEN')

    hf_hub.clear_log()
    (offline, ), _ = run_load_datasets(dict(env, HF_HUB_OFFLINE='1'), specs('hf'))
    assert offline == first and hf_hub.requests == []  # offline: the cache only

    hf_hub.stop()  # the hub is gone: swift says so and reads the cache
    (again, missing), log = run_load_datasets(env, specs('hf'), 'hf::swift-test/never-loaded')
    assert again == first
    assert 'Hugging Face is unreachable' in log and 'Connection refused' in log
    message = one_line(missing)
    assert "'swift-test/never-loaded' from Hugging Face" in message and 'is unreachable' in message
    assert 'no copy in the local cache' in message and 'local file' in message


# ---------------------------------------------------------------- ModelScope


@pytest.fixture
def ms_hub():
    with FakeMsHub() as server:
        for repo_id, files in ALL_REPOS:
            server.add_repo(repo_id, files, repo_type='dataset')
        yield server


def test_ms_dataset_loads_then_comes_from_the_cache(ms_hub, tmp_path):
    env = isolated_env(tmp_path, MODELSCOPE_ENDPOINT=ms_hub.url)
    results, _ = run_load_datasets(env, specs('ms'), *more_specs('ms', split_case=False))
    first = results[0]
    check_rows(first, 'ModelScope')
    assert sorted(ms_hub.file_gets(repo_type='dataset')) == sorted(  # each repo downloaded once, whole
        path for repo_id, files in ALL_REPOS if repo_id != TEST_ONLY_ID for path in files)
    check_more(results[1:], 'ModelScope', 'MODELSCOPE_API_TOKEN')

    ms_hub.stop()  # the hub is gone: swift says so and reads modelscope's local copy
    (again, missing), log = run_load_datasets(env, specs('ms'), 'ms::swift-test/never-loaded')
    assert again == first and 'ModelScope is unreachable' in log
    message = one_line(missing)
    assert "'swift-test/never-loaded' from ModelScope" in message and 'no copy in the local cache' in message


# ---------------------------------------------------------------- in this process: no hub is contacted


@pytest.mark.parametrize('env, reason', [
    ({'HF_HUB_OFFLINE': '1'}, 'HF_HUB_OFFLINE=1'),
    ({'TRANSFORMERS_OFFLINE': 'true'}, 'TRANSFORMERS_OFFLINE=1'),
    ({'HF_DATASETS_OFFLINE': '1'}, 'HF_DATASETS_OFFLINE=1'),
    ({'HF_DATASETS_OFFLINE': '0', 'HF_HUB_OFFLINE': '1'}, None),  # datasets: its own variable wins
    ({}, None),
])
def test_hf_offline_variables(monkeypatch, env, reason):
    for var in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert dataset_hub.offline_reason('hf') == reason


def test_modelscope_offline_variable(monkeypatch):
    monkeypatch.setenv('MODELSCOPE_OFFLINE', '1')
    assert dataset_hub.offline_reason('ms') == 'MODELSCOPE_OFFLINE=1'
    monkeypatch.setenv('MODELSCOPE_OFFLINE', '0')
    assert dataset_hub.offline_reason('ms') is None


def test_modelscope_endpoint_variables(monkeypatch):
    monkeypatch.setenv('MODELSCOPE_DOMAIN', 'old.example.org')
    monkeypatch.delenv('MODELSCOPE_ENDPOINT', raising=False)
    assert dataset_hub._hub_address('ms') == ('old.example.org', 443)
    monkeypatch.setenv('MODELSCOPE_ENDPOINT', 'http://127.0.0.1:8123')  # what modelscope-hub reads first
    assert dataset_hub._hub_address('ms') == ('127.0.0.1', 8123)
