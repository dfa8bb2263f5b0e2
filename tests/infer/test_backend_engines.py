"""VllmEngine, SglangEngine and LmdeployEngine end to end against stand-ins for the libraries.

Each stand-in is put in sys.modules as `vllm` / `sglang` / `lmdeploy`, takes the calls the real library
documents (vllm.AsyncLLMEngine.from_engine_args + generate(TokensPrompt, SamplingParams, request_id,
lora_request=LoRARequest), sglang.Engine(...).async_generate(input_ids=..., stream=True),
lmdeploy.pipeline(...).async_engine.generate(None, session_id, gen_config=GenerationConfig, input_ids=...)),
records them, and streams outputs shaped like the real ones:
- vLLM: RequestOutput.outputs of CompletionOutput(index, text, token_ids, logprobs, finish_reason), all
  cumulative (the default RequestOutputKind), logprobs as {token_id: Logprob(logprob, rank, decoded_token)};
  the stop token is part of token_ids, not of text.
- SGLang: dicts {'text', 'output_ids', 'meta_info'}, cumulative (incremental_streaming_output off, the default),
  meta_info with completion_tokens, finish_reason {'type': 'stop', 'matched': id} on the last chunk,
  output_token_logprobs [(logprob, id, None)] and output_top_logprobs (no text: return_text_in_logprobs off).
- LMDeploy: GenOut items whose response and token_ids are new since the last item, generate_token_len
  cumulative; the stop token is dropped and a last item ('', finish_reason) ends the stream. The pipeline's
  AsyncEngine runs on its own event-loop thread, as in LMDeploy >= 0.11.
The "model" replies with a fixed text per choice (chosen by the choice's seed where the library has no n);
the library detokenizes with the model's own tokenizer, as the real ones do.
"""
import asyncio
import sys
import threading
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any, Dict, List, Optional, TypedDict

import pytest

from swift.infer import InferRequest, RequestConfig
from swift.infer.protocol import BASE_ADAPTER

MESSAGES = [{'role': 'user', 'content': 'Greet me.'}]
REPLIES = ['Hello there, friend!', 'Bye 世界 now']
SEED = 10  # choice i of a seeded request is sampled with seed SEED + i, and the stand-ins reply REPLIES[i]


@pytest.fixture(scope='module')
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


@pytest.fixture(scope='module')
def prompt_ids(tokenizer):
    from swift.template import get_template
    return get_template('smollm2', tokenizer=tokenizer).encode({'messages': MESSAGES}, for_inference=True)['input_ids']


@pytest.fixture
def adapter_dir(tmp_path):
    path = tmp_path / 'checkpoint-5'
    path.mkdir()
    (path / 'adapter_config.json').write_text('{"r": 8, "peft_type": "LORA"}')
    return path


def reply_ids(tokenizer, index: int) -> List[int]:
    return tokenizer.encode(REPLIES[index], add_special_tokens=False)


def text_of(tokenizer, ids: List[int]) -> str:
    """What a library's detokenizer has shown after `ids`: never half a character."""
    return tokenizer.decode(ids, skip_special_tokens=True).rstrip('\ufffd')


def logprob_of(position: int) -> float:
    return -0.25 * (position + 1)


def config(**kwargs) -> RequestConfig:
    defaults = dict(max_tokens=32, temperature=0.7, top_p=0.9, top_k=20, min_p=0.05, seed=SEED, n=2, logprobs=True,
                    top_logprobs=2, stop=['STOP'])
    if kwargs.get('logprobs') is False:
        defaults['top_logprobs'] = None
    return RequestConfig(**{**defaults, **kwargs})


def assert_converted(response, tokenizer, stop_token_counted: bool):
    """Both choices' text, finish_reason, every logprob entry, and usage, as the library reported them."""
    assert [c.index for c in response.choices] == [0, 1]
    completion_tokens = 0
    for choice in response.choices:
        ids = reply_ids(tokenizer, choice.index) + ([tokenizer.eos_token_id] if stop_token_counted else [])
        completion_tokens += len(ids)
        assert choice.message.content == REPLIES[choice.index] and choice.finish_reason == 'stop'
        entries = choice.logprobs.content
        assert [e.token_id for e in entries] == ids  # each token once, in order
        assert [e.logprob for e in entries] == [logprob_of(p) for p in range(len(ids))]
        assert entries[0].token == tokenizer.decode([ids[0]])
        assert [(t.token, t.logprob) for t in entries[0].top_logprobs] == [
            (tokenizer.decode([ids[0]]), logprob_of(0)), (tokenizer.decode([ids[0] + 1]), logprob_of(0) - 1.0)]
    assert response.usage.completion_tokens == completion_tokens


def collect_stream(engine, request, request_config):
    texts, reasons, chunks = ['', ''], [None, None], list(engine.infer_stream(request, request_config))
    for chunk in chunks[:-1]:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ''
            reasons[choice.index] = choice.finish_reason or reasons[choice.index]
    return texts, reasons, chunks


# ---- vLLM --------------------------------------------------------------------------------------------
@dataclass
class VllmLogprob:  # vllm.logprobs.Logprob
    logprob: float
    rank: Optional[int] = None
    decoded_token: Optional[str] = None


@dataclass
class VllmCompletionOutput:  # vllm.outputs.CompletionOutput
    index: int
    text: str
    token_ids: List[int]
    cumulative_logprob: Optional[float]
    logprobs: Optional[List[Dict[int, VllmLogprob]]]
    finish_reason: Optional[str] = None
    stop_reason: Any = None


@dataclass
class VllmRequestOutput:  # vllm.outputs.RequestOutput (the fields used)
    request_id: str
    prompt_token_ids: List[int]
    outputs: List[VllmCompletionOutput]
    finished: bool


def fake_vllm(tokenizer):
    calls = SimpleNamespace(engine_args=None, generate=[], shutdown=0)
    vllm = ModuleType('vllm')

    class TokensPrompt(TypedDict, total=False):  # vllm.inputs.TokensPrompt
        prompt_token_ids: List[int]

    class SamplingParams:
        n, logprobs = 1, None  # vllm.SamplingParams defaults

        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)
            self.kwargs = kwargs

    class AsyncEngineArgs:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class AsyncLLMEngine:
        def __init__(self, args):
            self.model_config = SimpleNamespace(max_model_len=2048)

        @classmethod
        def from_engine_args(cls, engine_args):
            calls.engine_args = engine_args.kwargs
            return cls(engine_args)

        async def generate(self, prompt, sampling_params, request_id, lora_request=None):
            calls.generate.append(dict(prompt=prompt, params=sampling_params.kwargs, request_id=request_id,
                                       lora_request=lora_request))
            scripts = [reply_ids(tokenizer, i) + [tokenizer.eos_token_id] for i in range(sampling_params.n)]
            for step in range(1, max(len(s) for s in scripts) + 1):
                outputs = []
                for index, script in enumerate(scripts):
                    ids = script[:step]
                    logprobs = None
                    if sampling_params.logprobs is not None:
                        logprobs = [{t: VllmLogprob(logprob_of(p), 1, tokenizer.decode([t])),
                                     t + 1: VllmLogprob(logprob_of(p) - 1.0, 2, tokenizer.decode([t + 1]))}
                                    for p, t in enumerate(ids)]
                    done = step >= len(script)
                    outputs.append(VllmCompletionOutput(index, text_of(tokenizer, ids), ids, None, logprobs,
                                                        'stop' if done else None,
                                                        tokenizer.eos_token_id if done else None))
                await asyncio.sleep(0)
                yield VllmRequestOutput(request_id, prompt['prompt_token_ids'], outputs,
                                        all(o.finish_reason for o in outputs))

        def shutdown(self):
            calls.shutdown += 1

    @dataclass
    class LoRARequest:  # vllm.lora.request.LoRARequest
        lora_name: str
        lora_int_id: int
        lora_path: str = ''

    vllm.TokensPrompt, vllm.SamplingParams = TokensPrompt, SamplingParams
    vllm.AsyncEngineArgs, vllm.AsyncLLMEngine = AsyncEngineArgs, AsyncLLMEngine
    lora, request = ModuleType('vllm.lora'), ModuleType('vllm.lora.request')
    request.LoRARequest = LoRARequest
    vllm.lora, lora.request = lora, request
    return {'vllm': vllm, 'vllm.lora': lora, 'vllm.lora.request': request}, calls


def test_vllm_engine(tiny_model_dir, tokenizer, prompt_ids, adapter_dir, monkeypatch):
    modules, calls = fake_vllm(tokenizer)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    from swift.infer.backends import get_infer_engine
    engine = get_infer_engine('vllm', str(tiny_model_dir), template='smollm2', adapters=[f'mine={adapter_dir}'],
                              max_batch_size=8, torch_dtype='bfloat16', engine_kwargs={'enforce_eager': True},
                              trust_remote_code=True)  # --trust_remote_code reaches vLLM
    assert calls.engine_args == dict(model=str(tiny_model_dir), dtype='bfloat16', max_num_seqs=8, seed=42,
                                     trust_remote_code=True, enable_lora=True, max_loras=1, max_lora_rank=8,
                                     enforce_eager=True)
    assert engine.max_model_len == 2048 and engine.adapters == ['mine'] and engine.default_adapter == 'mine'

    response = engine.infer([InferRequest(MESSAGES)], config())[0]
    call = calls.generate[0]
    assert call['prompt'] == {'prompt_token_ids': prompt_ids}  # swift's template, as token ids
    assert call['params'] == dict(n=2, max_tokens=32, temperature=0.7, top_p=0.9, top_k=20, min_p=0.05,
                                  repetition_penalty=1.0,
                                  presence_penalty=0.0, frequency_penalty=0.0, stop=['STOP'],
                                  stop_token_ids=[tokenizer.eos_token_id], seed=SEED, skip_special_tokens=True,
                                  include_stop_str_in_output=False, logprobs=2)
    lora = call['lora_request']
    assert (lora.lora_name, lora.lora_int_id, lora.lora_path) == ('mine', 1, str(adapter_dir))
    assert_converted(response, tokenizer, stop_token_counted=True)  # vLLM counts the stop token, as PtEngine does
    assert response.usage.prompt_tokens == len(prompt_ids)

    texts, reasons, chunks = collect_stream(engine, InferRequest(MESSAGES, adapter=BASE_ADAPTER),
                                            config(logprobs=False))
    assert calls.generate[1]['lora_request'] is None and 'logprobs' not in calls.generate[1]['params']
    assert texts == REPLIES and reasons == ['stop', 'stop']
    assert len(chunks) > 6 and chunks[-1].usage.completion_tokens == response.usage.completion_tokens
    engine.close()
    assert calls.shutdown == 1


# ---- SGLang ------------------------------------------------------------------------------------------
def fake_sglang(tokenizer):
    calls = SimpleNamespace(engine_kwargs=None, generate=[], shutdown=0)
    sglang = ModuleType('sglang')

    class Engine:
        def __init__(self, **kwargs):
            calls.engine_kwargs = kwargs
            self.tokenizer_manager = SimpleNamespace(context_len=4096)

        async def async_generate(self, prompt=None, sampling_params=None, input_ids=None, image_data=None,
                                 return_logprob=False, logprob_start_len=None, top_logprobs_num=None,
                                 token_ids_logprob=None, lora_path=None, custom_logit_processor=None,
                                 return_hidden_states=False, stream=False, **kwargs):
            calls.generate.append(dict(input_ids=input_ids, sampling_params=sampling_params,
                                       return_logprob=return_logprob, top_logprobs_num=top_logprobs_num,
                                       lora_path=lora_path, stream=stream))
            script = reply_ids(tokenizer, sampling_params['sampling_seed'] - SEED) + [tokenizer.eos_token_id]

            async def chunks():
                for step in range(1, len(script) + 1):
                    ids = script[:step]
                    done = step == len(script)
                    meta = {'id': 'rid', 'prompt_tokens': len(input_ids), 'completion_tokens': step,
                            'cached_tokens': 0,
                            'finish_reason': {'type': 'stop', 'matched': ids[-1]} if done else None}
                    if return_logprob:
                        meta['output_token_logprobs'] = [(logprob_of(p), t, None) for p, t in enumerate(ids)]
                        meta['output_top_logprobs'] = [[(logprob_of(p), t, None), (logprob_of(p) - 1.0, t + 1, None)]
                                                       for p, t in enumerate(ids)]
                    await asyncio.sleep(0)
                    yield {'text': text_of(tokenizer, ids), 'output_ids': list(ids), 'meta_info': meta}

            return chunks()

        def shutdown(self):
            calls.shutdown += 1

    sglang.Engine = Engine
    return sglang, calls


def test_sglang_engine(tiny_model_dir, tokenizer, prompt_ids, adapter_dir, monkeypatch):
    sglang, calls = fake_sglang(tokenizer)
    monkeypatch.setitem(sys.modules, 'sglang', sglang)
    from swift.infer.backends import get_infer_engine
    engine = get_infer_engine('sglang', str(tiny_model_dir), template='smollm2', adapters=[f'mine={adapter_dir}'],
                              max_batch_size=4, torch_dtype='float16', engine_kwargs={'mem_fraction_static': 0.5})
    assert calls.engine_kwargs == dict(model_path=str(tiny_model_dir), dtype='float16', max_running_requests=4,
                                       random_seed=42, trust_remote_code=False, log_level='error', enable_lora=True,
                                       lora_paths={'mine': str(adapter_dir)}, max_loras_per_batch=1,
                                       max_lora_rank=8, mem_fraction_static=0.5)
    assert engine.max_model_len == 4096

    response = engine.infer([InferRequest(MESSAGES)], config())[0]
    assert len(calls.generate) == 2  # n=2: one request per choice, seeds SEED and SEED + 1
    for call in calls.generate:
        assert call['input_ids'] == prompt_ids and call['stream'] is True and call['lora_path'] == 'mine'
        assert call['return_logprob'] is True and call['top_logprobs_num'] == 2
    params = sorted((c['sampling_params'] for c in calls.generate), key=lambda p: p['sampling_seed'])
    assert params[0] == dict(max_new_tokens=32, temperature=0.7, top_p=0.9, top_k=20, min_p=0.05,
                             repetition_penalty=1.0,
                             presence_penalty=0.0, frequency_penalty=0.0, stop=['STOP'],
                             stop_token_ids=[tokenizer.eos_token_id], skip_special_tokens=True, sampling_seed=SEED)
    assert params[1]['sampling_seed'] == SEED + 1
    assert_converted(response, tokenizer, stop_token_counted=True)

    texts, reasons, chunks = collect_stream(engine, InferRequest(MESSAGES, adapter=BASE_ADAPTER),
                                            config(logprobs=False))
    assert all('lora_path' not in c or c['lora_path'] is None for c in calls.generate[2:])
    assert all(c['return_logprob'] is False for c in calls.generate[2:])
    assert texts == REPLIES and reasons == ['stop', 'stop'] and len(chunks) > 6
    engine.close()
    assert calls.shutdown == 1


# ---- LMDeploy ----------------------------------------------------------------------------------------
@dataclass
class GenOut:  # lmdeploy.serve.async_engine.GenOut
    response: str
    history_token_len: int
    input_token_len: int
    generate_token_len: int
    finish_reason: Optional[str] = None
    token_ids: Optional[List[int]] = None
    logprobs: Optional[List[Dict[int, float]]] = None


def fake_lmdeploy(tokenizer):
    calls = SimpleNamespace(pipeline=None, generate=[], loops=set(), closed=0)
    lmdeploy = ModuleType('lmdeploy')

    class _Config:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)
            self.kwargs = kwargs

    class TurbomindEngineConfig(_Config):
        pass

    class PytorchEngineConfig(_Config):
        pass

    class GenerationConfig(_Config):
        pass

    class _EventLoopThread:  # lmdeploy.pipeline._EventLoopThread
        def __init__(self):
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
            self.thread.start()

        def close(self):
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)

    class AsyncEngine:
        session_len = 8192

        async def generate(self, messages, session_id, gen_config=None, tools=None, stream_response=True,
                           sequence_start=True, sequence_end=True, step=0, do_preprocess=True, adapter_name=None,
                           rewind_stop_tokens=False, input_ids=None, **kwargs):
            if (messages is not None) ^ (input_ids is None):
                raise ValueError('You must specify exactly one of messages or input_ids')
            calls.generate.append(dict(session_id=session_id, gen_config=gen_config.kwargs, input_ids=input_ids,
                                       adapter_name=adapter_name, stream_response=stream_response,
                                       sequence_start=sequence_start, sequence_end=sequence_end))
            calls.loops.add(asyncio.get_running_loop())
            script = reply_ids(tokenizer, gen_config.random_seed - SEED)
            shown = ''
            for step in range(1, len(script) + 1):
                text = text_of(tokenizer, script[:step])
                token = script[step - 1]
                logprobs = None
                if getattr(gen_config, 'logprobs', None):
                    logprobs = [{token: logprob_of(step - 1), token + 1: logprob_of(step - 1) - 1.0}]
                await asyncio.sleep(0)
                yield GenOut(text[len(shown):], 0, len(input_ids), step, None, [token], logprobs)
                shown = text
            # the stop token (EOS) is neither counted nor shown; a last item carries finish_reason
            yield GenOut('', 0, len(input_ids), len(script), 'stop', [], None)

    class Pipeline:
        def __init__(self, model_path, backend_config=None, **kwargs):
            calls.pipeline = dict(model_path=model_path, backend_config=backend_config)
            self.async_engine = AsyncEngine()
            self.internal_thread = _EventLoopThread()

        def close(self):
            calls.closed += 1
            self.internal_thread.close()

    lmdeploy.pipeline = Pipeline
    lmdeploy.GenerationConfig = GenerationConfig
    lmdeploy.TurbomindEngineConfig, lmdeploy.PytorchEngineConfig = TurbomindEngineConfig, PytorchEngineConfig
    return lmdeploy, calls


def test_lmdeploy_engine(tiny_model_dir, tokenizer, prompt_ids, adapter_dir, monkeypatch):
    lmdeploy, calls = fake_lmdeploy(tokenizer)
    monkeypatch.setitem(sys.modules, 'lmdeploy', lmdeploy)
    from swift.infer.backends import get_infer_engine
    engine = get_infer_engine('lmdeploy', str(tiny_model_dir), template='smollm2', adapters=[f'mine={adapter_dir}'],
                              max_batch_size=16, engine_kwargs={'cache_max_entry_count': 0.4})
    backend_config = calls.pipeline['backend_config']
    assert calls.pipeline['model_path'] == str(tiny_model_dir)
    assert type(backend_config).__name__ == 'PytorchEngineConfig'  # adapters need the PyTorch engine
    assert backend_config.kwargs == dict(max_batch_size=16, cache_max_entry_count=0.4,
                                         adapters={'mine': str(adapter_dir)})
    assert engine.max_model_len == 8192

    response = engine.infer([InferRequest(MESSAGES)], config())[0]
    assert len(calls.generate) == 2 and calls.generate[0]['session_id'] != calls.generate[1]['session_id']
    assert calls.loops == {engine.pipeline.internal_thread.loop}  # driven on the pipeline's own loop
    for call in calls.generate:
        assert call['input_ids'] == prompt_ids and call['adapter_name'] == 'mine'
        assert call['stream_response'] and call['sequence_start'] and call['sequence_end']
    gen_configs = sorted((c['gen_config'] for c in calls.generate), key=lambda g: g['random_seed'])
    assert gen_configs[0] == dict(max_new_tokens=32, do_sample=True, top_p=0.9, top_k=20, min_p=0.05, temperature=0.7,
                                  repetition_penalty=1.0, stop_words=['STOP'], stop_token_ids=[tokenizer.eos_token_id],
                                  skip_special_tokens=True, random_seed=SEED, logprobs=2)
    assert gen_configs[1]['random_seed'] == SEED + 1
    assert_converted(response, tokenizer, stop_token_counted=False)  # LMDeploy drops the stop token

    texts, reasons, chunks = collect_stream(engine, InferRequest(MESSAGES, adapter=BASE_ADAPTER),
                                            config(logprobs=False, temperature=0.0))
    later = calls.generate[2:]
    assert [c['adapter_name'] for c in later] == [None, None]
    assert all(c['gen_config']['do_sample'] is False and 'logprobs' not in c['gen_config'] for c in later)
    assert texts == REPLIES and reasons == ['stop', 'stop'] and len(chunks) > 6
    engine.close()
    assert calls.closed == 1


def test_turbomind_refuses_adapters_in_one_line(tiny_model_dir, tokenizer, adapter_dir, monkeypatch):
    from swift.infer.backends import get_infer_engine
    from swift.utils import SwiftError
    lmdeploy, calls = fake_lmdeploy(tokenizer)
    monkeypatch.setitem(sys.modules, 'lmdeploy', lmdeploy)
    with pytest.raises(SwiftError, match='PyTorch engine only'):
        get_infer_engine('lmdeploy', str(tiny_model_dir), template='smollm2', adapters=[str(adapter_dir)],
                         engine_kwargs={'backend': 'turbomind'})
    engine = get_infer_engine('lmdeploy', str(tiny_model_dir), template='smollm2')
    assert type(calls.pipeline['backend_config']).__name__ == 'TurbomindEngineConfig'
    engine.close()


@pytest.mark.parametrize('method,expected', [('compressed-tensors', 'compressed-tensors'), ('gptq', 'gptq'),
                                             ('awq', 'awq'), ('fp8', 'fp8')])
def test_vllm_gets_the_quantization_of_an_exported_dir(tiny_model_dir, tokenizer, tmp_path, monkeypatch, method,
                                                       expected):
    """A GPTQ / AWQ / FP8 export (config.json quantization_config) reaches vLLM as quantization=."""
    import json
    import shutil
    model_dir = tmp_path / 'quantized'
    shutil.copytree(tiny_model_dir, model_dir)
    config = json.loads((model_dir / 'config.json').read_text())
    config['quantization_config'] = {'quant_method': method}
    (model_dir / 'config.json').write_text(json.dumps(config))
    modules, calls = fake_vllm(tokenizer)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    from swift.infer.backends import get_infer_engine
    get_infer_engine('vllm', str(model_dir), template='smollm2').close()
    assert calls.engine_args['quantization'] == expected
