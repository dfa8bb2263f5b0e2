"""`swift rollout` on the tiny model: the server answers /infer/ with token ids, weights POSTed to
/update_weights/ change what it generates (and restoring them restores it), foreign weights are refused, and
`swift rlhf --rlhf_type grpo --use_vllm true --vllm_mode server` trains with its rollouts."""
import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def server(tiny_model_dir):
    """The app `swift rollout` serves, on the engine it builds, in a thread (a subprocess would import torch again);
    the command line itself is checked in test_the_command_parses."""
    import threading
    import uvicorn
    from swift.arguments import RolloutServerArguments
    from swift.infer.main import build_engine
    from swift.infer.server.rollout import create_rollout_app
    from swift.utils.args import parse_args
    args = parse_args(RolloutServerArguments, ['--model', str(tiny_model_dir), '--template', 'smollm2'])
    engine = build_engine(args)
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(create_rollout_app(engine), host='127.0.0.1', port=port, log_level='warning'))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), 'the rollout app did not start'
        time.sleep(0.1)
    yield port
    uv.should_exit = True
    thread.join(timeout=30)
    engine.close()


def test_the_command_parses(tiny_model_dir, capsys):
    from swift.cli.main import main
    assert main(['rollout', '--model', str(tiny_model_dir), '--port', '0', '--check_args']) == 0
    assert main(['rollout', '--model', str(tiny_model_dir), '--num_generations', '4', '--check_args']) == 1
    assert 'num_generations' in capsys.readouterr().err


def _post(port, route, data: bytes, content_type='application/json'):
    request = urllib.request.Request(f'http://127.0.0.1:{port}{route}', data=data,
                                     headers={'Content-Type': content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _greedy(port):
    body = {'infer_requests': [{'messages': [{'role': 'user', 'content': 'What is 2 plus 2?'}]}],
            'request_config': {'max_tokens': 6, 'temperature': 0, 'logprobs': True}}
    choice = _post(port, '/infer/', json.dumps(body).encode())[0]['choices'][0]
    return choice['token_ids'], [round(entry['logprob'], 4) for entry in choice['logprobs']['content']]


def _weights(model):
    from safetensors.torch import save
    return save({name: p.detach().contiguous() for name, p in model.named_parameters()})


def test_weights_synced_to_the_server_change_its_outputs(server, tiny_model_dir):
    from transformers import AutoConfig, AutoModelForCausalLM, LlamaForCausalLM
    assert json.loads(urllib.request.urlopen(f'http://127.0.0.1:{server}/get_world_size/').read()) == {'world_size': 1}
    before = _greedy(server)
    assert len(before[0]) == 6
    torch.manual_seed(7)
    other = LlamaForCausalLM(AutoConfig.from_pretrained(str(tiny_model_dir)))
    with torch.no_grad():
        other.model.norm.weight.mul_(5.0)  # confident: its greedy answer is its own, not the tiny model's
    assert _post(server, '/update_weights/', _weights(other), 'application/octet-stream')['updated'] > 0
    changed = _greedy(server)
    assert changed != before
    original = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    _post(server, '/update_weights/', _weights(original), 'application/octet-stream')
    assert _greedy(server) == before
    from safetensors.torch import save
    with pytest.raises(urllib.error.HTTPError) as error:
        _post(server, '/update_weights/', save({'not.a.weight': torch.zeros(2)}), 'application/octet-stream')
    assert error.value.code == 400 and 'not.a.weight' in error.value.read().decode()


def test_grpo_rolls_out_on_the_server(server, tiny_model_dir, tmp_path, monkeypatch):
    from swift.training.rlhf import rlhf_main
    from swift.training.rlhf.rollout import ServerRollout
    calls = []
    generate = ServerRollout.generate
    monkeypatch.setattr(ServerRollout, 'generate', lambda self, rows, n, seed: calls.append(n) or
                        generate(self, rows, n, seed))
    rows = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'}], 'solution': str(2 * i)}
            for i in range(4)]
    result = rlhf_main(rows=rows, rlhf_type='grpo', model=str(tiny_model_dir), template='smollm2',
                       output_dir=str(tmp_path), add_version=False, max_steps=1, save_steps=100, logging_steps=1,
                       per_device_train_batch_size=2, report_to=['none'], max_new_tokens=4, num_generations=2,
                       reward_funcs=['length'], use_vllm=True, vllm_mode='server', vllm_server_port=server)
    assert calls == [2]
    steps = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
    assert [r['global_step'] for r in steps if 'loss' in r] == [1]
    assert all(r['completions/mean_length'] > 0 for r in steps if 'loss' in r)


def test_server_mode_and_offload_flags_are_checked():
    from swift.arguments import RLHFArguments
    from swift.utils import SwiftError
    from swift.utils.args import parse_args
    base = ['--rlhf_type', 'grpo', '--model', 'm', '--dataset', 'd', '--reward_funcs', 'accuracy']
    with pytest.raises(SwiftError, match='add --use_vllm true'):
        parse_args(RLHFArguments, base + ['--vllm_mode', 'server'])
    with pytest.raises(SwiftError, match='colocate only'):
        parse_args(RLHFArguments, base + ['--offload_model', 'true'])
    with pytest.raises(SwiftError, match='colocate only'):
        parse_args(RLHFArguments, base + ['--use_vllm', 'true', '--vllm_mode', 'server', '--sleep_level', '1'])
    args = parse_args(RLHFArguments, base + ['--use_vllm', 'true', '--vllm_mode', 'server', '--vllm_server_port',
                                             '8123'])
    assert (args.vllm_mode, args.vllm_server_port) == ('server', 8123)
