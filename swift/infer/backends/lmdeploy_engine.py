"""LmdeployEngine: LMDeploy's pipeline (TurboMind or its PyTorch engine) behind the InferEngine interface.

Prompts are swift's template encodings sent as input_ids to the pipeline's AsyncEngine.generate
(messages=None, so LMDeploy applies no chat template). LMDeploy streams GenOut items whose
`response` is the new text and `token_ids` the new tokens; the last one carries finish_reason.
Recent LMDeploy versions run the AsyncEngine on the pipeline's own event-loop thread; the
generator is then driven there and its items forwarded (bridge_to_loop). Adapters (PyTorch
engine only) are chosen per request with adapter_name. n > 1 runs n seeded requests (fan_out).
"""
import asyncio
import itertools
import time
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError, get_logger

from ..engine import ChoiceUpdate, PreparedRequest
from ..protocol import LogprobEntry, RequestConfig, TopLogprob
from .base import ExternalEngine, choice_seed, fan_out, import_backend

logger = get_logger()

INSTALL = 'pip install lmdeploy'
_session_ids = itertools.count(int(time.time()) % 10**6 * 1000)


def lmdeploy_backend_config(lmdeploy, *, backend: str, max_batch_size: int, adapters: Sequence[Tuple[str, str]],
                            engine_kwargs: Optional[Dict[str, Any]] = None):
    """TurbomindEngineConfig or PytorchEngineConfig (adapters need the PyTorch engine)."""
    kwargs = dict(max_batch_size=max_batch_size, **(engine_kwargs or {}))
    if adapters:
        if backend == 'turbomind':
            raise SwiftError('LMDeploy serves LoRA adapters with its PyTorch engine only: '
                             'pass --engine_kwargs \'{"backend": "pytorch"}\' or drop --adapters')
        kwargs['adapters'] = {name: path for name, path in adapters}
    config_class = lmdeploy.TurbomindEngineConfig if backend == 'turbomind' else lmdeploy.PytorchEngineConfig
    return config_class(**kwargs)


def lmdeploy_gen_config_kwargs(config: RequestConfig, stop_token_ids: List[int], seed: Optional[int]) -> Dict[str, Any]:
    """Keywords of lmdeploy.GenerationConfig for one choice."""
    kwargs: Dict[str, Any] = dict(max_new_tokens=config.max_tokens, do_sample=not config.greedy,
                                  top_p=config.top_p, top_k=config.top_k if config.top_k and config.top_k > 0 else 0,
                                  min_p=config.min_p,
                                  temperature=config.temperature if not config.greedy else 1.0,
                                  repetition_penalty=config.repetition_penalty, stop_words=list(config.stop_list),
                                  stop_token_ids=list(stop_token_ids), skip_special_tokens=True)
    if seed is not None:
        kwargs['random_seed'] = seed
    if config.ignore_eos:
        kwargs.update(ignore_eos=True, stop_token_ids=[])
    if config.logprobs:
        kwargs['logprobs'] = max(1, config.top_logprobs or 1)
    return kwargs


def lmdeploy_logprobs(token_ids: Sequence[int], logprobs: Optional[Sequence[Dict[int, float]]],
                      top: Optional[int], token_text) -> List[LogprobEntry]:
    """Entries from LMDeploy's per-token {token_id: logprob} dicts."""
    entries = []
    for token_id, candidates in zip(token_ids, logprobs or []):
        if token_id not in candidates:
            continue
        text = token_text(token_id)
        ranked = sorted(candidates.items(), key=lambda kv: -kv[1])[:top or 0]
        alternatives = [TopLogprob(token_text(i), float(v), list(token_text(i).encode('utf-8'))) for i, v in ranked]
        entries.append(LogprobEntry(text, float(candidates[token_id]), list(text.encode('utf-8')), alternatives,
                                    token_id))
    return entries


async def bridge_to_loop(agen_factory, loop: Optional[asyncio.AbstractEventLoop]) -> AsyncIterator[Any]:
    """Iterate an async generator that must run on `loop` (another thread's) from the current loop."""
    here = asyncio.get_running_loop()
    if loop is None or loop is here:
        async for item in agen_factory():
            yield item
        return
    queue: asyncio.Queue = asyncio.Queue()
    done = object()

    async def pump():
        try:
            async for item in agen_factory():
                here.call_soon_threadsafe(queue.put_nowait, item)
        except BaseException as e:  # noqa: BLE001 — handed to the consumer
            here.call_soon_threadsafe(queue.put_nowait, e)
        finally:
            here.call_soon_threadsafe(queue.put_nowait, done)

    future = asyncio.run_coroutine_threadsafe(pump(), loop)
    try:
        while True:
            item = await queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        future.cancel()  # a consumer that leaves early cancels the request inside LMDeploy


class LmdeployEngine(ExternalEngine):
    backend = 'lmdeploy'

    def __init__(self, model: str, *, template: Optional[str] = None, default_system: Optional[str] = None,
                 adapters: Sequence[str] = (), merge_lora: bool = False, max_batch_size: int = 128,
                 torch_dtype: Any = 'auto', seed: int = 42, engine_kwargs: Optional[Dict[str, Any]] = None,
                 **hub_kwargs):
        lmdeploy = import_backend('lmdeploy', self.backend, INSTALL)
        model_dir = self._load_tokenizer_and_template(model, template, default_system, hub_kwargs)
        specs = self._set_adapters(adapters, merge_lora)
        engine_kwargs = dict(engine_kwargs or {})
        backend = engine_kwargs.pop('backend', 'pytorch' if specs else 'turbomind')
        backend_config = lmdeploy_backend_config(lmdeploy, backend=backend, max_batch_size=max_batch_size,
                                                 adapters=specs, engine_kwargs=engine_kwargs)
        logger.info(f'starting LMDeploy ({backend}): {backend_config}')
        # LMDeploy has no trust_remote_code switch (it loads configs with it on): a model that needs the repository's
        # code was refused above unless --trust_remote_code was given
        self.pipeline = lmdeploy.pipeline(str(model_dir), backend_config=backend_config)
        # LMDeploy >= 0.11: Pipeline wraps the AsyncEngine, which runs on the pipeline's own loop thread.
        self.engine = getattr(self.pipeline, 'async_engine', self.pipeline)
        internal = getattr(self.pipeline, 'internal_thread', None)
        self._engine_loop = getattr(internal, 'loop', None)
        self.max_model_len = getattr(self.engine, 'session_len', None)
        self.max_batch_size = max_batch_size
        self._lmdeploy = lmdeploy
        self._stop_ids = self.stop_token_ids()

    def _generate(self, prepared: PreparedRequest) -> AsyncIterator[List[ChoiceUpdate]]:
        return fan_out(prepared.config.n, lambda index: self._one_choice(prepared, index))

    async def _one_choice(self, prepared: PreparedRequest, index: int) -> AsyncIterator[ChoiceUpdate]:
        config = prepared.config
        gen_config = self._lmdeploy.GenerationConfig(
            **lmdeploy_gen_config_kwargs(config, self._stop_ids, choice_seed(prepared, index)))
        session_id = next(_session_ids)
        token_text = lambda i: self.tokenizer.decode([i])  # noqa: E731

        def start():
            return self.engine.generate(None, session_id, gen_config=gen_config, stream_response=True,
                                        sequence_start=True, sequence_end=True, input_ids=list(prepared.prompt_ids),
                                        adapter_name=prepared.adapter)

        generated = 0  # generate_token_len is cumulative; response and token_ids are per item
        async for out in bridge_to_loop(start, self._engine_loop):
            if out.finish_reason == 'error':
                raise SwiftError(f'LMDeploy failed on this request: {out.response}')
            entries = []
            if config.logprobs:
                entries = lmdeploy_logprobs(out.token_ids or [], out.logprobs, config.top_logprobs, token_text)
            new_tokens = max(0, (out.generate_token_len or 0) - generated)
            generated += new_tokens
            yield ChoiceUpdate(index, out.response or '', new_tokens, entries, out.finish_reason)

    def close(self) -> None:
        close = getattr(getattr(self, 'pipeline', None), 'close', None)
        if close is not None:
            close()
        super().close()
