"""`swift export --push_to_hub` against the fake hubs (tests/helpers/fake_hf_hub.py, fake_ms_hub.py), which
speak the upload protocols the real clients use (huggingface_hub: create repo, preupload, LFS batch + PUT,
NDJSON commit; modelscope: create repo, LFS batch + PUT, JSON commit).

Every push runs `swift export` in a subprocess, as the download tests do: huggingface_hub reads HF_ENDPOINT,
HF_HOME and HF_HUB_DISABLE_XET once at import. HF_HUB_DISABLE_XET=1 because the fake hub speaks git-LFS, not
Xet (with hf_xet installed, huggingface_hub uploads LFS files to a Xet server; that path is not tested here).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from swift.arguments import ExportArguments
from swift.export.main import export_main
from swift.export.model_card import CardFacts, render_card
from swift.utils import SwiftError
from swift.utils.args import parse_args
from tests.conftest import REPO
from tests.helpers.fake_hf_hub import FakeHfHub
from tests.helpers.fake_ms_hub import FakeMsHub
from tests.helpers.hub_env import isolated_env

from .adapters import train_adapter

HF_TOKEN = 'hf_test_write_token'
MS_TOKEN = 'ms-test-write-token'
STATE_FILES = ('optimizer.pt', 'scheduler.pt', 'rng_state.pth')


@pytest.fixture(scope='module')
def evaluated_checkpoint(tmp_path_factory, tiny_model_dir):
    """A real 2-step LoRA checkpoint of the tiny model whose run evaluated on a held-out split at step 2."""
    return train_adapter(tiny_model_dir, tmp_path_factory.mktemp('push-adapter'), split_dataset_ratio=0.25,
                         eval_strategy='steps', eval_steps=2)


def swift_export(env, *args):
    return subprocess.run([sys.executable, '-m', 'swift.cli.main', 'export', *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def hf_env(tmp_path, hub, **extra):
    return isolated_env(tmp_path, HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET='1', **extra)


def ms_env(tmp_path, hub, **extra):
    return isolated_env(tmp_path, MODELSCOPE_ENDPOINT=hub.url, MODELSCOPE_HOME=str(tmp_path / 'ms-home'), **extra)


def local_files(directory: Path):
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob('*') if p.is_file()}


def test_checkpoint_reaches_hugging_face_byte_equal_after_a_dropped_commit(tmp_path, evaluated_checkpoint):
    with FakeHfHub() as hub:
        hub.faults.drop_commits = 1  # the first commit request gets no answer: swift retries the upload
        done = swift_export(hf_env(tmp_path, hub, HF_TOKEN=HF_TOKEN), '--adapters', str(evaluated_checkpoint),
                            '--push_to_hub', 'true', '--hub_model_id', 'swift-test/tiny-lora', '--use_hf', 'true',
                            '--hub_private_repo', 'true', '--commit_message', 'first push')
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-2:] == [str(evaluated_checkpoint), f'{hub.url}/swift-test/tiny-lora']
        assert 'retrying in 1 s (attempt 2 of 3)' in done.stderr
        repo = hub.repos['swift-test/tiny-lora']
        assert repo.private
        pushed = {path: f.data for path, f in repo.files.items()}
        left_out = STATE_FILES + ('README.md', )  # PEFT's template card is replaced (asserted below)
        expected = {p: d for p, d in local_files(evaluated_checkpoint).items() if p not in left_out}
        assert {p: pushed[p] for p in expected} == expected  # every file, byte for byte
        assert 'adapter_model.safetensors' in expected and 'optimizer.pt' in local_files(evaluated_checkpoint)
        assert not set(pushed) & set(STATE_FILES)  # training state stays behind
        commits = [r for r in hub.requests if r.method == 'POST' and '/commit/' in r.path]
        assert len(commits) == 2 and [c['summary'] for c in hub.commits] == ['first push']
        blob_puts = [r.path for r in hub.requests if r.method == 'PUT']
        lfs_files = [p for p in expected if p.endswith(('.safetensors', '.bin'))]
        assert len(blob_puts) == len(set(blob_puts)) == len(lfs_files)  # the retry sent no blob again
    card = pushed['README.md'].decode()  # PEFT's unfilled template in the checkpoint was replaced
    assert '[More Information Needed]' in (evaluated_checkpoint / 'README.md').read_text()
    assert '[More Information Needed]' not in card
    assert 'library_name: peft' in card and '## Evaluation' in card and '| loss |' in card
    assert 'step 2' in card and '| tuner_type | lora |' in card and 'train.jsonl' in card


def test_merged_export_reaches_modelscope_with_a_card_and_configuration(tmp_path, evaluated_checkpoint,
                                                                       monkeypatch):
    """In this process (modelscope and swift read MODELSCOPE_ENDPOINT when the push starts): the export's
    output directory arrives byte for byte, with the card and configuration.json added to the upload only."""
    out = tmp_path / 'merged'
    with FakeMsHub() as hub:
        hub.drop_commits = 1  # modelscope's client retries the commit itself
        for name, value in ms_env(tmp_path, hub, MODELSCOPE_API_TOKEN=MS_TOKEN).items():
            monkeypatch.setenv(name, value)
        result = export_main(adapters=[str(evaluated_checkpoint)], merge_lora=True, output_dir=str(out),
                             push_to_hub=True, hub_model_id='swift-test/tiny-merged')
        assert (result.output_dir, result.hub_url) == (str(out), f'{hub.url}/models/swift-test/tiny-merged')
        pushed = hub.repos['swift-test/tiny-merged']
        assert 'swift-test/tiny-merged' not in hub.private
        written = local_files(out)
        assert {p: pushed[p] for p in written} == written and 'model.safetensors' in written
        assert 'README.md' not in written and 'configuration.json' not in written  # added to the upload only
        assert json.loads(pushed['configuration.json'])['task'] == 'text-generation'
        assert len([r for r in hub.requests if r[0] == 'POST' and '/commit/' in r[1]]) == 2
        assert len(hub.commits) == 1
    card = pushed['README.md'].decode()
    assert 'library_name: transformers' in card and 'with a fine-tuned adapter merged' in card
    assert '## Evaluation' in card and 'step 2' in card and '| learning_rate | 0.05 |' in card
    assert "from_pretrained('swift-test/tiny-merged')" in card


def test_an_existing_card_is_kept_and_a_server_error_is_retried(tmp_path):
    model = tmp_path / 'model'
    model.mkdir()
    (model / 'config.json').write_text('{}')
    (model / 'README.md').write_text('# my own card\n')
    with FakeHfHub() as hub:
        hub.faults.fail_commits = 1  # 503 Service Unavailable, then the commit goes through
        done = swift_export(hf_env(tmp_path, hub, HF_TOKEN=HF_TOKEN), '--model', str(model), '--push_to_hub',
                            'true', '--hub_model_id', 'swift-test/own-card', '--use_hf', 'true')
        assert done.returncode == 0, done.stderr
        assert 'retrying in 1 s' in done.stderr and len(hub.commits) == 1
        assert hub.repos['swift-test/own-card'].files['README.md'].data == b'# my own card\n'
        assert not hub.repos['swift-test/own-card'].private


@pytest.mark.parametrize('flags, message', [
    (['--push_to_hub', 'true'], '--push_to_hub needs --hub_model_id org/name'),
    (['--push_to_hub', 'true', '--hub_model_id', 'no-namespace'], "--hub_model_id 'no-namespace': expected org/name"),
    (['--push_to_hub', 'true', '--hub_model_id', 'a/b/c'], 'expected org/name'),
    (['--hub_model_id', 'org/name'], '--hub_model_id without --push_to_hub true'),
    (['--push_to_hub', 'true', '--hub_model_id', 'org/name', '--hub_token', ' '], '--hub_token is empty'),
])
def test_bad_push_flags_are_refused_when_parsed(flags, message, tmp_path):
    with pytest.raises(SwiftError, match=message.replace('(', r'\(')):
        parse_args(ExportArguments, ['--model', str(tmp_path), '--merge_lora', 'true', *flags])


@pytest.mark.parametrize('hub_kind', ['hf', 'ms'])
def test_no_token_stops_before_any_request_or_work(tmp_path, hub_kind, evaluated_checkpoint):
    out = tmp_path / 'merged'
    with (FakeHfHub() if hub_kind == 'hf' else FakeMsHub()) as hub:
        env = hf_env(tmp_path, hub) if hub_kind == 'hf' else ms_env(tmp_path, hub)
        done = swift_export(env, '--adapters', str(evaluated_checkpoint), '--merge_lora', 'true', '--output_dir',
                            str(out), '--push_to_hub', 'true', '--hub_model_id', 'org/name',
                            *(['--use_hf', 'true'] if hub_kind == 'hf' else []))
        assert done.returncode == 1 and 'Traceback' not in done.stderr
        hub_name, where = ('Hugging Face', 'HF_TOKEN') if hub_kind == 'hf' else ('ModelScope', 'MODELSCOPE_API_TOKEN')
        assert f'pushing to {hub_name} needs a token with write access: pass --hub_token, or set {where}' \
            in done.stderr
        assert hub.requests == []
        assert not out.exists()


def test_a_refused_token_stops_before_the_export(tmp_path, evaluated_checkpoint):
    out = tmp_path / 'merged'
    with FakeHfHub() as hub:
        done = swift_export(hf_env(tmp_path, hub), '--adapters', str(evaluated_checkpoint), '--merge_lora', 'true',
                            '--output_dir', str(out), '--push_to_hub', 'true', '--hub_model_id', 'org/name',
                            '--use_hf', 'true', '--hub_token', 'hf_wrong')
        assert done.returncode == 1 and 'Traceback' not in done.stderr
        assert 'creating org/name on Hugging Face was refused' in done.stderr
        assert 'is not valid or cannot write to the namespace' in done.stderr
        assert not out.exists() and 'org/name' not in hub.repos


def test_pushing_alone_needs_a_local_directory(tmp_path):
    with FakeHfHub() as hub:
        done = swift_export(hf_env(tmp_path, hub, HF_TOKEN=HF_TOKEN), '--model', 'org/not-local',
                            '--push_to_hub', 'true', '--hub_model_id', 'org/name', '--use_hf', 'true')
        assert done.returncode == 1
        assert "--push_to_hub alone uploads a local directory as it is, and 'org/not-local' is not one" in done.stderr
        assert not [r for r in hub.requests if r.method == 'POST']


def test_card_of_a_quantized_export_reports_its_perplexity():
    facts = CardFacts(repo_id='org/q', kind='bnb-int4', use_hf=True, base_model='HuggingFaceTB/SmolLM2-135M-Instruct',
                      is_adapter=False, export_report={'method': 'bnb', 'bits': 4, 'perplexity_before': 10.0,
                                                       'perplexity_after': 12.0, 'held_out_rows': 32,
                                                       'size_bytes': 3 * 2**20},
                      export_record={'quant_method': 'bnb', 'quant_bits': 4})
    card = render_card(facts)
    assert 'quantized with bnb to 4 bits' in card and 'tags:\n- swift\n- bnb\n- 4-bit' in card
    assert 'perplexity 10.000 → 12.000 (+20.0%) on 32 held-out rows; 3.0 MiB on disk' in card
    assert '## Training' not in card and '## Evaluation' not in card  # nothing recorded: nothing claimed
