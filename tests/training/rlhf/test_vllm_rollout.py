"""--use_vllm rollouts (VllmRollout) against a stand-in `vllm` module shaped after vLLM's offline API.

The stand-in takes the calls TRL's GRPOTrainer makes in colocate mode: vllm.LLM(**kwargs),
llm.llm_engine.model_executor.driver_worker.model_runner.model.load_weights(weights),
llm.generate(prompts, sampling_params, use_tqdm=False) returning RequestOutput-shaped objects. It records them so
the tests check what swift sends; it never runs a model (verified on GPU: no).
"""
import copy
import os
import socket
import sys
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any, List, Optional

import pytest
import torch

from swift.training.rlhf.rollout import Completion, VllmRollout, make_rollout, policy_weights
from swift.utils import SwiftError

ROWS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'}]} for i in range(2)]


@dataclass
class CompletionOutput:  # vllm.outputs.CompletionOutput (the fields used)
    index: int
    text: str
    token_ids: List[int]
    cumulative_logprob: Optional[float]
    logprobs: Any
    finish_reason: Optional[str] = None
    stop_reason: Any = None


@dataclass
class RequestOutput:  # vllm.outputs.RequestOutput (the fields used)
    request_id: str
    prompt_token_ids: List[int]
    outputs: List[CompletionOutput]
    finished: bool = True


@pytest.fixture(autouse=True)
def process_group_variables_stay_in_the_test(monkeypatch):
    """VllmRollout sets torch.distributed's variables for vLLM's in-process engine (as TRL does). Here they
    must not outlive the test: later tests would start their subprocesses as rank 0 of a process group."""
    for key, value in (('RANK', '0'), ('LOCAL_RANK', '0'), ('WORLD_SIZE', '1'), ('MASTER_ADDR', 'localhost'),
                       ('MASTER_PORT', '12355')):
        monkeypatch.setenv(key, value)  # undone at teardown: absent again where they were absent


def fake_vllm(tokenizer, eos_id):
    calls = SimpleNamespace(llm_kwargs=[], loaded=[], generate=[])
    vllm = ModuleType('vllm')

    def TokensPrompt(prompt_token_ids):  # vllm.inputs.TokensPrompt (a TypedDict)
        return {'prompt_token_ids': prompt_token_ids}

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs
            self.n = kwargs.get('n', 1)

    class Model:
        def load_weights(self, weights):
            calls.loaded.append([(name, tensor.clone()) for name, tensor in weights])
            return {name for name, _ in calls.loaded[-1]}

    class LLM:
        def __init__(self, **kwargs):
            calls.llm_kwargs.append(kwargs)
            runner = SimpleNamespace(model=Model())
            self.llm_engine = SimpleNamespace(model_executor=SimpleNamespace(
                driver_worker=SimpleNamespace(model_runner=runner)))

        def reset_prefix_cache(self):
            return True

        def generate(self, prompts, sampling_params, use_tqdm=True):
            assert len(sampling_params) == len(prompts)
            calls.generate.append((prompts, sampling_params))
            results = []
            for r, (prompt, params) in enumerate(zip(prompts, sampling_params)):
                outs = []
                for i in range(params.n):
                    if i % 2 == 0:  # ends by itself: the stop token is in token_ids, not in text
                        ids = [100 + r, 200 + i, eos_id]
                        outs.append(CompletionOutput(i, tokenizer.decode(ids[:-1]), ids, -1.0, None, 'stop', eos_id))
                    else:
                        ids = [300 + r + i] * params.kwargs['max_tokens']
                        outs.append(CompletionOutput(i, tokenizer.decode(ids), ids, -1.0, None, 'length'))
                results.append(RequestOutput(str(r), list(prompt['prompt_token_ids']), outs))
            return results

    vllm.LLM, vllm.SamplingParams, vllm.TokensPrompt = LLM, SamplingParams, TokensPrompt
    return vllm, calls


def _args(tiny_model_dir, **extra):
    args = dict(model=str(tiny_model_dir), torch_dtype='float32', seed=7, max_new_tokens=5, temperature=0.7,
                top_p=0.9, top_k=20, min_p=0.05, repetition_penalty=1.1, use_vllm=True,
                vllm_gpu_memory_utilization=0.25,
                vllm_max_model_len=1024, vllm_enable_sleep_mode=False)
    args.update(extra)
    return SimpleNamespace(**args)


@pytest.fixture
def parts(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swift.template import get_template
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    base_names = [name for name, _ in base.named_parameters()]
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=['q_proj', 'v_proj'],
                                            lora_dropout=0.0))
    torch.manual_seed(3)
    with torch.no_grad():  # a trained adapter: lora_B is zero at init, which would make merging a no-op
        for name, param in model.named_parameters():
            if 'lora_B' in name:
                param.normal_(std=0.5)
    template = get_template('smollm2', tokenizer=tokenizer)
    return SimpleNamespace(model=model, tokenizer=tokenizer, template=template, base_names=base_names)


def test_vllm_rollout(parts, tiny_model_dir, monkeypatch):
    vllm, calls = fake_vllm(parts.tokenizer, parts.tokenizer.eos_token_id)
    monkeypatch.setitem(sys.modules, 'vllm', vllm)
    model = parts.model
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    merged = copy.deepcopy(model).merge_and_unload()
    expected = dict(merged.named_parameters())

    rollout = make_rollout(model, parts.tokenizer, parts.template, _args(tiny_model_dir), max_batch_size=4)
    assert isinstance(rollout, VllmRollout) and calls.llm_kwargs == []  # built on first use
    completions = rollout.generate(ROWS, n=2, seed=11)

    # the engine: base model dir, memory share, context length, in-process (so load_weights reaches the model)
    assert len(calls.llm_kwargs) == 1
    kwargs = calls.llm_kwargs[0]
    assert kwargs['model'] == str(tiny_model_dir)
    assert kwargs['gpu_memory_utilization'] == 0.25 and kwargs['max_model_len'] == 1024
    assert kwargs['distributed_executor_backend'] == 'external_launcher' and kwargs['dtype'] == 'float32'
    assert 'enable_sleep_mode' not in kwargs
    assert kwargs['trust_remote_code'] is False  # the repository's own code runs only with --trust_remote_code

    # the weights: the base model's parameter names, no LoRA entries, values of the merged model
    assert len(calls.loaded) == 1
    loaded = dict(calls.loaded[0])
    assert len(loaded) == len(calls.loaded[0])
    assert sorted(loaded) == sorted(parts.base_names)
    assert not any('lora_' in name or 'base_layer' in name for name in loaded)
    changed = 0
    for name, tensor in loaded.items():
        torch.testing.assert_close(tensor, expected[name], rtol=0, atol=1e-6)
        changed += not torch.equal(tensor, before[f'base_model.model.{name}'.replace('q_proj.weight',
                                                                                      'q_proj.base_layer.weight')
                                                  .replace('v_proj.weight', 'v_proj.base_layer.weight')])
    assert changed == 2 * 2  # q_proj and v_proj of both layers carry the merged adapter
    for name, param in model.named_parameters():  # unmerged again (up to float rounding): training resumes
        torch.testing.assert_close(param, before[name], rtol=0, atol=1e-6)
    assert not any(getattr(m, 'merged', False) for m in model.modules())

    # the prompts: token ids of the template encoding PtEngine uses
    prompts, params = calls.generate[0]
    for row, prompt in zip(ROWS, prompts):
        want = parts.template.encode({'messages': row['messages'], 'tools': None}, for_inference=True)['input_ids']
        assert prompt == {'prompt_token_ids': list(want)}
    # the sampling params: one per prompt with its own seed, as PtRollout seeds them
    for index, p in enumerate(params):
        assert {k: p.kwargs[k] for k in ('n', 'max_tokens', 'temperature', 'top_p', 'top_k', 'min_p',
                                         'repetition_penalty', 'seed', 'logprobs')} == dict(
            n=2, max_tokens=5, temperature=0.7, top_p=0.9, top_k=20, min_p=0.05, repetition_penalty=1.1,
            seed=11 + 1000 * index, logprobs=0)
        assert parts.tokenizer.eos_token_id in p.kwargs['stop_token_ids']

    # the completions: vLLM's token ids (stop token included), text and finish reason
    eos = parts.tokenizer.eos_token_id
    assert len(completions) == 2 and all(len(c) == 2 for c in completions)
    assert completions[1][0] == Completion([101, 200, eos], parts.tokenizer.decode([101, 200]), 'stop')
    assert completions[0][1] == Completion([301] * 5, parts.tokenizer.decode([301] * 5), 'length')

    # a second rollout reuses the engine and pushes the weights again (they change every step)
    rollout.generate(ROWS[:1], n=1, seed=0)
    assert len(calls.llm_kwargs) == 1 and len(calls.loaded) == 2
    rollout.close()
    assert rollout.llm is None


def test_policy_weights_without_peft(tiny_model_dir):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    weights = policy_weights(model)
    assert [name for name, _ in weights] == [name for name, _ in model.named_parameters()]
    assert all(torch.equal(t, p) for (_, t), (_, p) in zip(weights, model.named_parameters()))


def test_sleep_mode_flag(parts, tiny_model_dir, monkeypatch):
    vllm, calls = fake_vllm(parts.tokenizer, parts.tokenizer.eos_token_id)
    events = []
    vllm.LLM.sleep = lambda self, level=1: events.append(('sleep', level))
    vllm.LLM.wake_up = lambda self, tags=None: events.append(('wake_up', tags))
    monkeypatch.setitem(sys.modules, 'vllm', vllm)
    rollout = make_rollout(parts.model, parts.tokenizer, parts.template,
                           _args(tiny_model_dir, vllm_enable_sleep_mode=True, vllm_max_model_len=None,
                                 trust_remote_code=True), 2)
    rollout.generate(ROWS[:1], n=2, seed=0)
    assert calls.llm_kwargs[0]['enable_sleep_mode'] is True and 'max_model_len' not in calls.llm_kwargs[0]
    assert calls.llm_kwargs[0]['trust_remote_code'] is True
    assert events == [('wake_up', None), ('sleep', 1)]


def test_a_lone_engine_takes_a_free_port_and_keeps_a_launchers(parts, tiny_model_dir, monkeypatch):
    """Nothing launched us: torch.distributed's rendezvous port is one the OS says is free (a fixed port would meet
    another single-process run on this machine); a launcher's MASTER_PORT is kept."""
    vllm, _ = fake_vllm(parts.tokenizer, parts.tokenizer.eos_token_id)
    monkeypatch.setitem(sys.modules, 'vllm', vllm)
    monkeypatch.delenv('MASTER_PORT')
    with socket.socket() as taken:  # a port in use: the rollout must not pick it
        taken.bind(('localhost', 0))
        taken.listen()
        make_rollout(parts.model, parts.tokenizer, parts.template, _args(tiny_model_dir), 2)._get_llm()
        port = int(os.environ['MASTER_PORT'])
        assert port not in (12355, taken.getsockname()[1])
    with socket.socket() as sock:
        sock.bind(('localhost', port))  # it was free
    monkeypatch.setenv('MASTER_PORT', '29511')
    make_rollout(parts.model, parts.tokenizer, parts.template, _args(tiny_model_dir), 2)._get_llm()
    assert os.environ['MASTER_PORT'] == '29511'


def test_missing_vllm_is_refused(parts, tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, 'vllm', None)  # import vllm fails, as when it is not installed
    with pytest.raises(SwiftError, match='vLLM is not installed'):
        make_rollout(parts.model, parts.tokenizer, parts.template, _args(tiny_model_dir), 2)


def test_sleep_level_and_offload_model(parts, tiny_model_dir, monkeypatch):
    """--sleep_level 2 sleeps vLLM at level 2 after each rollout; --offload_model moves the policy to CPU while
    vLLM generates and back to its device after (here the device is the CPU: the calls are what is checked)."""
    vllm, calls = fake_vllm(parts.tokenizer, parts.tokenizer.eos_token_id)
    events = []
    vllm.LLM.sleep = lambda self, level=1: events.append(('sleep', level))
    vllm.LLM.wake_up = lambda self, tags=None: events.append(('wake_up', tags))
    generate = vllm.LLM.generate
    vllm.LLM.generate = lambda self, *a, **k: events.append('generate') or generate(self, *a, **k)
    monkeypatch.setitem(sys.modules, 'vllm', vllm)
    model = parts.model
    to = type(model).to
    monkeypatch.setattr(type(model), 'to', lambda self, *a, **k: events.append(('to', str(a[0]))) or to(self, *a, **k))
    rollout = make_rollout(model, parts.tokenizer, parts.template,
                           _args(tiny_model_dir, sleep_level=2, offload_model=True, offload_optimizer=True), 2)
    rollout.optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    rollout.generate(ROWS[:1], n=1, seed=0)
    assert calls.llm_kwargs[0]['enable_sleep_mode'] is True
    assert events == [('wake_up', None), ('to', 'cpu'), 'generate', ('to', 'cpu'), ('sleep', 2)]
