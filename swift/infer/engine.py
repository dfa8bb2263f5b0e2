"""InferEngine: the one interface every inference backend implements.

    engine.infer(requests, config, use_tqdm=...)    → [ChatCompletionResponse]   (config.stream: [iterator of chunks])
    await engine.infer_async(request, config)       → ChatCompletionResponse     (config.stream: async iterator)
    engine.infer_stream(request, config)            → iterator of ChatCompletionStreamResponse
    engine.infer_stream_async(request, config)      → async iterator of ChatCompletionStreamResponse
    engine.stream(request, config)                  → iterator of text deltas (first choice)

A backend implements two things: `_encode` (prompt token ids; the default uses swift's own
template, the same one training used) and `_generate`, an async iterator of `ChoiceUpdate`
lists for one prepared request. Everything else (validation, OpenAI-shaped responses, chunks,
usage, the synchronous API) is built here once.

The synchronous API runs the async one on a private event-loop thread, so `infer([...])` with
many requests submits them all at once and a batching backend runs them together.
"""
import asyncio
import threading
from abc import ABC, abstractmethod
from copy import copy
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Sequence, Union

from swift.utils import get_logger

from .protocol import (BASE_ADAPTER, ChatCompletionResponse, ChatCompletionStreamResponse, ChatMessage, Choice,
                       ChoiceLogprobs, DeltaMessage, InferError, InferRequest, LogprobEntry, PromptTooLongError,
                       RequestConfig, StreamChoice, UnknownAdapterError, Usage)

logger = get_logger()
# what a template's encoding holds besides the processor's tensors
_NOT_MODEL_INPUTS = ('input_ids', 'labels', 'attention_mask', 'length', 'media_spans')


def _has_content_parts(messages) -> bool:
    return any(isinstance(m, dict) and isinstance(m.get('content'), list) for m in messages or [])


@dataclass
class ChoiceUpdate:
    """What one choice of a request produced since the last update."""
    index: int
    text: str = ''
    num_tokens: int = 0  # tokens generated in this update (stop tokens included)
    logprobs: List[LogprobEntry] = field(default_factory=list)
    finish_reason: Optional[str] = None


@dataclass
class PreparedRequest:
    """A validated request, ready for a backend: prompt ids, sampling config, adapter."""
    request: InferRequest
    prompt_ids: List[int]
    config: RequestConfig  # a validated copy; max_tokens is set and fits in the context
    adapter: Optional[str]  # None: the base model (or the only merged weights)
    media: Dict[str, Any] = field(default_factory=dict)  # the processor's tensors (pixel_values, ...) for prefill


class InferEngine(ABC):
    """Base class of TransformersEngine, VllmEngine, SglangEngine and LmdeployEngine."""

    model_name: str = 'model'
    template = None
    tokenizer = None
    max_model_len: Optional[int] = None  # context window in tokens, None if unknown
    adapters: Sequence[str] = ()  # names a request may pick with InferRequest.adapter
    default_adapter: Optional[str] = None  # used when a request names none
    max_length: Optional[int] = None  # --max_length: the longest prompt, in tokens (None: the context decides)
    supports_beam_search: bool = False  # whether num_beams > 1 is served (the transformers backend: beam_search.py)
    truncation_strategy: str = 'delete'  # a longer prompt: refused (delete), or its start (left) / end (right) cut

    _loop: Optional[asyncio.AbstractEventLoop] = None
    _loop_thread: Optional[threading.Thread] = None
    _loop_lock = threading.Lock()  # two threads starting the synchronous API at once get one loop

    # ---- what a backend implements --------------------------------------------------------
    @abstractmethod
    def _generate(self, prepared: PreparedRequest) -> AsyncIterator[List[ChoiceUpdate]]:
        """Async iterator of updates until every choice has a finish_reason. Closing it early
        (a client went away) must cancel the request and free what it holds."""

    def _encode(self, request: InferRequest) -> Union[List[int], Dict[str, Any]]:
        """Prompt ids; for a request with media, the template's whole encoding (ids and the processor's tensors)."""
        if request.prompt is not None and not request.messages:
            return list(self.tokenizer(request.prompt)['input_ids'])
        row = {'messages': request.messages, 'tools': request.tools}
        if getattr(request, 'objects', None) is not None:
            row['objects'] = request.objects
        media = {key: list(getattr(request, key) or []) for key in ('images', 'videos', 'audios')}
        if any(media.values()) or _has_content_parts(request.messages):
            if not getattr(self.template, 'is_multimodal', False):
                raise InferError(f'this model\'s template ({self.template.name}) is text-only: it takes no images, '
                                 'videos or audios; send text messages')
            try:
                return self.template.encode({**row, **media}, for_inference=True)
            except InferError:
                raise
            except (ValueError, KeyError, TypeError) as e:  # SwiftError included: a bad image, a count mismatch
                raise InferError(str(e)) from None
        return list(self.template.encode(row, for_inference=True)['input_ids'])

    def close(self) -> None:
        """Stop background work; the engine takes no more requests."""
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._loop_thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- preparing a request ----------------------------------------------------------------
    def prepare(self, request: InferRequest, request_config: Optional[RequestConfig] = None) -> PreparedRequest:
        """Validate and encode; raises InferError (a 4xx for a server) before anything runs."""
        if not isinstance(request, InferRequest):
            raise InferError(f'expected an InferRequest, got {type(request).__name__}')
        config = copy(request_config or RequestConfig()).validate()
        if config.num_beams > 1 and not self.supports_beam_search:
            raise InferError(f'num_beams={config.num_beams}: beam search runs on the transformers backend '
                             f'(--infer_backend transformers); {type(self).__name__} samples')
        config.stop = config.stop_list
        adapter = self.resolve_adapter(request.adapter)
        encoded = self._encode(request)
        media = {}
        if isinstance(encoded, dict):
            media = {k: v for k, v in encoded.items() if k not in _NOT_MODEL_INPUTS}
            encoded = list(encoded['input_ids'])
        prompt_ids = encoded
        if not prompt_ids:
            raise InferError('the prompt is empty')
        prompt_ids = self._limit_prompt(prompt_ids)
        room = None if self.max_model_len is None else self.max_model_len - len(prompt_ids)
        if room is not None and room < 1:
            raise PromptTooLongError(f'the prompt has {len(prompt_ids)} tokens but the model\'s context is '
                                     f'{self.max_model_len} tokens; shorten the conversation')
        if config.max_tokens is None or (room is not None and config.max_tokens > room):
            config.max_tokens = room if room is not None else 2048
        return PreparedRequest(request, prompt_ids, config, adapter, media)

    def _limit_prompt(self, prompt_ids: List[int]) -> List[int]:
        """--max_length with --truncation_strategy, as ms-swift's infer: refuse, or keep the last / first tokens."""
        limit = self.max_length
        if limit is None or len(prompt_ids) <= limit:
            return prompt_ids
        if self.truncation_strategy == 'left':
            return prompt_ids[-limit:]
        if self.truncation_strategy == 'right':
            return prompt_ids[:limit]
        raise PromptTooLongError(f'the prompt has {len(prompt_ids)} tokens, more than --max_length {limit} '
                                 '(--truncation_strategy delete; left or right would cut it)')

    def resolve_adapter(self, name: Optional[str]) -> Optional[str]:
        if name is None:
            return self.default_adapter
        if name == BASE_ADAPTER:
            return None
        if name not in self.adapters:
            loaded = ', '.join(self.adapters) or 'none'
            raise UnknownAdapterError(f'unknown adapter {name!r}; loaded adapters: {loaded} '
                                      f'(use {BASE_ADAPTER!r} for the base model)')
        return name

    # ---- async API ----------------------------------------------------------------------------
    async def infer_async(self, request: InferRequest, request_config: Optional[RequestConfig] = None
                          ) -> Union[ChatCompletionResponse, AsyncIterator[ChatCompletionStreamResponse]]:
        """The full response; with request_config.stream, an async iterator of chunks instead."""
        prepared = self.prepare(request, request_config)
        if prepared.config.stream:
            return self._chunks(prepared)
        return await self._collect(prepared)

    def infer_stream_async(self, request: InferRequest, request_config: Optional[RequestConfig] = None
                           ) -> AsyncIterator[ChatCompletionStreamResponse]:
        """Async iterator of chunks (validation errors are raised here, before iterating)."""
        return self._chunks(self.prepare(request, request_config))

    async def _collect(self, prepared: PreparedRequest) -> ChatCompletionResponse:
        n = prepared.config.n
        texts, reasons = [''] * n, [None] * n
        logprobs = [[] for _ in range(n)]
        completion_tokens = 0
        async for updates in self._generate(prepared):
            for update in updates:
                texts[update.index] += update.text
                logprobs[update.index] += update.logprobs
                completion_tokens += update.num_tokens
                reasons[update.index] = update.finish_reason or reasons[update.index]
        want_logprobs = prepared.config.logprobs
        choices = [Choice(i, ChatMessage('assistant', texts[i]), reasons[i],
                          ChoiceLogprobs(logprobs[i]) if want_logprobs else None) for i in range(n)]
        return ChatCompletionResponse(self.model_name, choices, Usage(len(prepared.prompt_ids), completion_tokens))

    async def _chunks(self, prepared: PreparedRequest) -> AsyncIterator[ChatCompletionStreamResponse]:
        """First a role chunk per choice, then content as it comes, then a usage-only chunk."""
        first = ChatCompletionStreamResponse(self.model_name, [])
        make = lambda choices, usage=None: ChatCompletionStreamResponse(  # noqa: E731
            self.model_name, choices, usage, id=first.id, created=first.created)
        yield make([StreamChoice(i, DeltaMessage(role='assistant', content='')) for i in range(prepared.config.n)])
        completion_tokens = 0
        want_logprobs = prepared.config.logprobs
        agen = self._generate(prepared)
        try:
            async for updates in agen:
                choices = []
                for update in updates:
                    completion_tokens += update.num_tokens
                    if update.text or update.finish_reason or (want_logprobs and update.logprobs):
                        choices.append(StreamChoice(update.index, DeltaMessage(content=update.text),
                                                    update.finish_reason,
                                                    ChoiceLogprobs(update.logprobs) if want_logprobs else None))
                if choices:
                    yield make(choices)
        finally:
            await agen.aclose()  # a consumer that stops early cancels the request at once
        yield make([], Usage(len(prepared.prompt_ids), completion_tokens))

    # ---- synchronous API ------------------------------------------------------------------------
    def infer(self, requests: Union[InferRequest, List[InferRequest]], request_config: Optional[RequestConfig] = None,
              *, use_tqdm: Optional[bool] = None
              ) -> List[Union[ChatCompletionResponse, Iterator[ChatCompletionStreamResponse]]]:
        """Answer all requests together (a batching backend runs them in one batch), in order."""
        requests = [requests] if isinstance(requests, InferRequest) else list(requests)
        prepared = [self.prepare(r, request_config) for r in requests]  # every error before any work
        if prepared and prepared[0].config.stream:
            return [self._sync_iter(self._chunks(p)) for p in prepared]
        use_tqdm = len(prepared) > 1 if use_tqdm is None else use_tqdm
        return self.run_coroutine(self._collect_all(prepared, use_tqdm))

    async def _collect_all(self, prepared: List[PreparedRequest], use_tqdm: bool) -> List[ChatCompletionResponse]:
        tasks = [asyncio.ensure_future(self._collect(p)) for p in prepared]
        progress = None
        if use_tqdm:
            from tqdm import tqdm
            progress = tqdm(total=len(tasks), desc='infer', dynamic_ncols=True)
        try:
            for future in asyncio.as_completed(tasks):
                await future
                if progress is not None:
                    progress.update(1)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            if progress is not None:
                progress.close()
        return [task.result() for task in tasks]

    def infer_stream(self, request: InferRequest,
                     request_config: Optional[RequestConfig] = None) -> Iterator[ChatCompletionStreamResponse]:
        return self._sync_iter(self._chunks(self.prepare(request, request_config)))

    def stream(self, request: InferRequest, request_config: Optional[RequestConfig] = None) -> Iterator[str]:
        """Text deltas of the first choice; stop strings are never yielded."""
        for chunk in self.infer_stream(request, request_config):
            for choice in chunk.choices:
                if choice.index == 0 and choice.delta.content:
                    yield choice.delta.content

    # ---- the private event loop behind the synchronous API ------------------------------------------
    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name='swift-infer-loop', daemon=True)
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    def run_coroutine(self, coroutine) -> Any:
        """Run a coroutine (that may call infer_async many times) on the engine's loop thread; wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._event_loop()).result()

    def _sync_iter(self, agen: AsyncIterator) -> Iterator:
        """A plain iterator over an async one; leaving the loop early closes (cancels) the async one."""
        loop = self._event_loop()
        try:
            while True:
                try:
                    item = asyncio.run_coroutine_threadsafe(agen.__anext__(), loop).result()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            if self._loop is not None:
                asyncio.run_coroutine_threadsafe(agen.aclose(), loop).result()

    def stats(self) -> Dict[str, Any]:
        """Counters for a server's periodic log line (backends add what they know)."""
        return {}


def right_padded(engine, batch: List[List[int]]):
    """(input_ids, attention_mask) of token-id lists right-padded to the longest, on the model's device."""
    import torch
    device = next(engine.model.parameters()).device
    width = max(len(ids) for ids in batch)
    pad = engine.tokenizer.pad_token_id if engine.tokenizer.pad_token_id is not None else 0
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch], device=device)
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch], device=device)
    return input_ids, mask
