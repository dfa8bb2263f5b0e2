"""A reward model checkpoint served as a scorer: RewardEngine, `swift infer` pipe and batch mode, `swift deploy`."""
import json
from types import SimpleNamespace

import pytest

from swift.infer import InferRequest, RequestConfig
from swift.infer.reward_engine import RewardEngine, is_reward_model, parse_conversation
from swift.training.rlhf.data import rejected_messages
from swift.infer.reward_model import RewardModel

from .test_tiny_runs import PAIRS, run, score_with_swift_infer

CONVERSATIONS = [PAIRS[0]['messages'], rejected_messages(PAIRS[3])]  # different lengths: padded when batched


@pytest.fixture(scope='module')
def reference_scores(reward_checkpoint):
    return RewardModel.load(reward_checkpoint).score(CONVERSATIONS)


@pytest.fixture(scope='module')
def engine(reward_checkpoint):
    with RewardEngine(RewardModel.load(reward_checkpoint)) as engine:
        yield engine


def test_the_engine_answers_with_the_reward_models_scores(engine, reference_scores):
    responses = engine.infer([InferRequest(c) for c in CONVERSATIONS])
    assert [float(r.choices[0].message.content) for r in responses] == pytest.approx(reference_scores, abs=1e-5)
    first = responses[0]
    assert first.choices[0].message.role == 'assistant' and first.choices[0].finish_reason == 'stop'
    assert first.usage.prompt_tokens == len(engine.template.encode({'messages': CONVERSATIONS[0]})['input_ids'])
    assert first.usage.completion_tokens == 0
    alone = engine.infer([InferRequest(CONVERSATIONS[1])], RequestConfig(n=2))[0]  # unpadded, n choices
    assert [float(c.message.content) for c in alone.choices] == pytest.approx([reference_scores[1]] * 2, abs=1e-5)
    streamed = ''.join(engine.stream(InferRequest(CONVERSATIONS[0])))
    assert float(streamed) == pytest.approx(reference_scores[0], abs=1e-5)


def test_reward_checkpoints_are_recognised(reward_checkpoint, tmp_path, tiny_model_dir):
    assert is_reward_model(SimpleNamespace(adapters=[reward_checkpoint], model=str(tiny_model_dir)))
    assert is_reward_model(SimpleNamespace(adapters=[f'rm={reward_checkpoint}'], model=str(tiny_model_dir)))
    assert not is_reward_model(SimpleNamespace(adapters=[], model=str(tiny_model_dir)))  # a causal LM
    dpo = tmp_path / 'dpo'
    dpo.mkdir()
    (dpo / 'args.json').write_text(json.dumps({'rlhf_type': 'dpo', 'model': str(tiny_model_dir)}))
    assert not is_reward_model(SimpleNamespace(adapters=[str(dpo)], model=str(tiny_model_dir)))
    hub_rm = tmp_path / 'hub-rm'  # a full reward model without swift's args.json
    hub_rm.mkdir()
    config = {'architectures': ['LlamaForSequenceClassification'], 'id2label': {'0': 'LABEL_0'}}
    (hub_rm / 'config.json').write_text(json.dumps(config))
    assert is_reward_model(SimpleNamespace(adapters=[], model=str(hub_rm)))
    config['id2label'] = {'0': 'negative', '1': 'positive'}  # a classifier, not a reward model
    (hub_rm / 'config.json').write_text(json.dumps(config))
    assert not is_reward_model(SimpleNamespace(adapters=[], model=str(hub_rm)))


def test_pipe_lines_are_json_conversations_rows_or_plain_text():
    messages = PAIRS[0]['messages']
    assert parse_conversation(json.dumps(messages)) == messages
    assert parse_conversation(json.dumps({'messages': messages, 'other': 1})) == messages
    assert parse_conversation('How are you?') == [{'role': 'user', 'content': 'How are you?'}]
    assert parse_conversation('42') == [{'role': 'user', 'content': '42'}]


def test_swift_infer_batch_mode_writes_rewards(reward_checkpoint, reference_scores, tmp_path, monkeypatch):
    rows = [PAIRS[0], {'messages': CONVERSATIONS[1]}]  # a pair row (both answers scored) and a plain one
    dataset = tmp_path / 'pairs.jsonl'
    dataset.write_text(''.join(json.dumps(r) + '\n' for r in rows), encoding='utf-8')
    result = tmp_path / 'rewards.jsonl'
    argv = ['--adapters', reward_checkpoint, '--val_dataset', str(dataset), '--result_path', str(result)]
    printed = score_with_swift_infer(monkeypatch, argv, '')
    assert '2 rows scored' in printed
    lines = sorted((json.loads(line) for line in result.read_text().splitlines()), key=lambda r: r['index'])
    assert [line['index'] for line in lines] == [0, 1]
    assert lines[0]['messages'] == PAIRS[0]['messages']  # the answer is scored, not stripped as for generation
    assert [line['reward'] for line in lines] == pytest.approx(reference_scores, abs=1e-5)
    assert float(lines[0]['response']) == lines[0]['reward']
    rejected = RewardModel.load(reward_checkpoint).score([rejected_messages(PAIRS[0])])[0]
    assert lines[0]['rejected_reward'] == pytest.approx(rejected, abs=1e-5) and 'rejected_reward' not in lines[1]
    assert '0 rows scored, 2 already there' in score_with_swift_infer(monkeypatch, argv, '')  # resumed: nothing to do


def test_swift_infer_scores_a_full_reward_model(tiny_model_dir, tmp_path, monkeypatch):
    checkpoint = run(tiny_model_dir, tmp_path / 'out', 'rm', PAIRS, tuner_type='full', max_steps=1).last_checkpoint
    expected = RewardModel.load(checkpoint).score(CONVERSATIONS)
    stdin = json.dumps(CONVERSATIONS[0]) + '\n\n' + json.dumps({'messages': CONVERSATIONS[1]}) + '\n'
    printed = score_with_swift_infer(monkeypatch, ['--model', checkpoint], stdin).splitlines()
    assert [float(line) for line in printed] == pytest.approx(expected, abs=1e-5)


def test_swift_deploy_answers_chat_completions_with_the_reward(reward_checkpoint, reference_scores, monkeypatch):
    from tests.infer.server.conftest import httpx, start_uvicorn
    from swift.infer.server import deploy
    answers = {}

    def serve_two_requests(app, sock, access_log=False):
        server, thread = start_uvicorn(app, sock)
        url = f'http://127.0.0.1:{sock.getsockname()[1]}/v1/chat/completions'
        try:
            for conversation in CONVERSATIONS:
                body = json.dumps({'model': app.state.server.served.base_name, 'messages': conversation})
                answers.setdefault('bodies', []).append(httpx.post(
                    url, content=body, headers={'Content-Type': 'application/json'}, timeout=60).json())
            answers['engine'] = app.state.server.engine
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    monkeypatch.setattr(deploy, 'serve', serve_two_requests)
    result = deploy.deploy_main(['--adapters', reward_checkpoint, '--port', '0', '--log_interval', '0'])
    assert result.url.startswith('http://127.0.0.1:') and result.served_models == [answers['bodies'][0]['model']]
    assert isinstance(answers['engine'], RewardEngine)
    contents = [body['choices'][0]['message']['content'] for body in answers['bodies']]
    assert [float(c) for c in contents] == pytest.approx(reference_scores, abs=1e-5)
    assert answers['bodies'][0]['object'] == 'chat.completion'
