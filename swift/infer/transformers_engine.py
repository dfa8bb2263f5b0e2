"""TransformersEngine: inference on a transformers model with swift's own templates and continuous batching.

One scheduler loop owns the model. Between two decoding steps it admits waiting requests
(each prompt is prefilled alone, exactly as `model.generate` would, and its KV cache joins the
running batch) and drops finished or cancelled ones (their KV cache rows are freed at once).
Every step then decodes one token for all running sequences in a single forward pass, each row
with its own padding mask, positions, sampling settings and adapter. Callers on any thread or
event loop (`infer`, `infer_async`, streams) only enqueue requests and read their updates, so
concurrent callers share one batch.

Which thread runs the loop: a synchronous call (`infer`, `run_coroutine`: batch inference, evaluation)
runs the steps itself on the calling thread while it waits, as long as no scheduler thread exists;
the first asynchronous or streaming request starts the scheduler thread (`swift deploy`, rollouts),
which then serves every request. Why: torch gives each native thread that runs a parallel op its own
OpenMP team, and with more OpenMP threads in a process than CPUs GNU OpenMP shortens every team's
spin-wait, so a script that runs torch on its own thread (a `generate` baseline, a training step)
next to an engine thread makes both pay a futex wake-up at each of a decode step's ~240 parallel
regions (docs/benchmarks.md, "OpenMP's spin-wait"). Run on the caller's thread, the engine uses the
caller's team and its torch.set_num_threads. Steps of the two kinds of driver never overlap
(`_step_lock`); when a calling thread returns with other callers' requests still running, it hands
them to a scheduler thread.

Why not transformers' own continuous batching (`model.generate_batch` /
`transformers.generation.continuous_batching`, checked on 5.23)? It runs on CPU and its greedy
output matched `model.generate` on our 8-prompt test, but it takes one GenerationConfig for the
whole manager (no per-request temperature, seed, stop strings, penalties, logprobs or n), has no
per-request adapter choice, and its paged cache is sized up front for accelerators. The engine
has to own those per-request semantics, so the scheduler is ours; it uses transformers' Cache
interface (kv_cache.BatchKVCache) and the model's own attention and masking code.
"""
import asyncio
import atexit
import threading
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Sequence

from swift.model.cache_arg import cache_kwargs
from swift.utils import SwiftError, get_logger

from .beam_search import beam_search, check_beam_request
from .cross_attention import CrossAttention, CrossRow
from .decode_attention import applies as decode_attention_applies
from .decode_attention import decode_attention
from .detokenizer import IncrementalDecoder, StopStringMatcher, cut_at_stop
from .engine import ChoiceUpdate, InferEngine, PreparedRequest
from .kv_cache import BatchKVCache
from .prefix_cache import PrefixCache
from .protocol import BASE_ADAPTER, EngineClosedError, InferError, LogprobEntry
from .sampling import LogprobFormatter, SequenceSampler, choose_tokens

logger = get_logger()

__all__ = ['TransformersEngine', 'PtEngine', 'IncrementalDecoder']

DEFAULT_MAX_BATCH_SIZE = 32
DEFAULT_PREFILL_TOKENS_PER_STEP = 4096  # bounds how long new prompts can pause running sequences
DEFAULT_PREFIX_CACHE_MB = 512  # prompt KV kept for reuse (SmolLM2-135M fp32: 45 KB a token, ~11k tokens)


@dataclass(eq=False)  # identity, not field equality
class _Sequence:
    """One choice of one request while it is generated."""
    job: '_Job'
    index: int
    sampler: SequenceSampler
    decoder: IncrementalDecoder
    matcher: StopStringMatcher
    output_ids: List[int] = field(default_factory=list)
    last_token: Optional[int] = None
    # added to the row's position when decoding: Qwen-VL's rope delta (its 3-D rotary positions after an image run
    # ahead of or behind the token count; transformers' get_rope_index), 0 for other models and text prompts
    position_offset: int = 0
    cross: Optional[CrossRow] = None  # Mllama: the prompt's cross-attention keys/values (cross_attention.py)
    finish_reason: Optional[str] = None


@dataclass(eq=False)
class _Job:
    """One request: its prompt, its n sequences, and where its updates go."""
    prepared: PreparedRequest
    sink: Callable[[Any], None]  # receives lists of ChoiceUpdate, or an exception
    sequences: List[_Sequence] = field(default_factory=list)
    cancelled: bool = False

    @property
    def n(self) -> int:
        return self.prepared.config.n


def _close_if_alive(engine_ref: 'weakref.ref') -> None:
    engine = engine_ref()
    if engine is not None:
        engine.close()


class TransformersEngine(InferEngine):
    """Chat with a transformers model. `model` is an ID/path (loaded here) or an already loaded module.

    adapters: adapter directories ('name=path' names them); requests pick one by name with
    InferRequest.adapter (default: the first; BASE_ADAPTER: none), in the same batch.
    merge_lora: merge the (single) adapter into the weights before serving.
    prefix_cache_mb: memory for prompt KV caches that later prompts with the same prefix reuse (0: off);
    `--engine_kwargs '{"prefix_cache_mb": 0}'` from the CLI.
    fast_decode_attention: opt-in; in bfloat16/float16 on CPU, decode steps use decode_attention.py's attention instead
    of torch's half-precision SDPA kernel (3-5x slower for one query). Off by default: it rounds differently in the
    last place, which changed a bfloat16 greedy answer of SmolLM2 from `generate`'s at its 11th token.
    """

    supports_beam_search = True  # num_beams > 1: transformers' generate, alone (beam_search.py)

    def __init__(self, model, tokenizer=None, *, template=None, default_system: Optional[str] = None,
                 adapters: Sequence[str] = (), merge_lora: bool = False,
                 max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
                 prefill_tokens_per_step: int = DEFAULT_PREFILL_TOKENS_PER_STEP,
                 prefix_cache_mb: float = DEFAULT_PREFIX_CACHE_MB, fast_decode_attention: bool = False,
                 **load_kwargs):
        if isinstance(model, str):
            from swift.model.loader import get_model_tokenizer
            model, tokenizer = get_model_tokenizer(model, for_adapters=bool(adapters), **load_kwargs)
        elif tokenizer is None:
            raise SwiftError('TransformersEngine(model_module) needs tokenizer= as well')
        if max_batch_size < 1:
            raise SwiftError(f'max_batch_size must be >= 1, got {max_batch_size}')
        if not isinstance(prefix_cache_mb, (int, float)) or prefix_cache_mb < 0:
            raise SwiftError(f'prefix_cache_mb must be a number >= 0 (0 turns prefix caching off), '
                             f'got {prefix_cache_mb!r}')
        model = self._with_adapters(model, adapters, merge_lora)
        self.model = model.eval()
        self.tokenizer = tokenizer
        info = getattr(model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
        self.template = self._resolve_template(template, info, tokenizer, default_system)
        _check_attention_layers(self.model.config)
        self.model_name = info.model_id if info else type(model).__name__
        self.max_model_len = self._context_length()
        self.max_batch_size = max_batch_size
        self.fast_decode_attention = bool(fast_decode_attention) and decode_attention_applies(self.model)
        self.prefill_tokens_per_step = prefill_tokens_per_step
        self.adapters, self.default_adapter = self._adapter_choices()
        self._stop_ids = self._stop_token_ids()
        self._logprob_formatter = LogprobFormatter(tokenizer)
        self._kv = BatchKVCache(max_batch_size)
        self._cross = CrossAttention(self.model)  # Llama 3.2 Vision's image states, kept per sequence
        self.prefix_cache = PrefixCache(int(prefix_cache_mb * 2**20))
        self._weights_seen = None  # what the prefix cache's entries were computed with
        self._waiting: deque = deque()
        self._running: List[_Job] = []
        self._wakeup = threading.Condition()
        self._closed = False
        self._worker: Optional[threading.Thread] = None
        self._drivers = 0  # calling threads running steps in run_coroutine (guarded by _wakeup)
        self._step_lock = threading.Lock()  # one step at a time, whichever thread runs it
        self.model_lock = threading.RLock()  # held during every forward pass (others may share the model)
        self._counters = {'generated_tokens': 0, 'finished_requests': 0, 'steps': 0,
                          'peak_running_sequences': 0}

    # ---- construction helpers -------------------------------------------------------------------
    @staticmethod
    def _with_adapters(model, adapters: Sequence[str], merge_lora: bool):
        if not adapters:
            if merge_lora:
                raise SwiftError('--merge_lora true needs --adapters')
            return model
        from swift.tuners import load_adapters
        model = load_adapters(model, list(adapters))
        if merge_lora:
            if len(adapters) > 1:
                raise SwiftError(f'--merge_lora merges one adapter into the weights, got {len(adapters)}; '
                                 'pass one adapter, or serve several unmerged')
            model = model.merge_and_unload()  # the loaded base module itself, model_info and all
            logger.info('merged the adapter into the model weights')
        return model

    @staticmethod
    def _resolve_template(template, info, tokenizer, default_system):
        if template is not None and not isinstance(template, str):
            if template.tokenizer is None:
                template.tokenizer = tokenizer
            return template
        from swift.template import get_template
        name = template or (info.template if info and info.template else None) or (info.model_dir if info else None)
        if name is None:
            raise SwiftError('TransformersEngine cannot tell which chat template this model uses: pass template=<name>')
        return get_template(name, tokenizer=tokenizer, default_system=default_system)

    def _adapter_choices(self):
        from swift.tuners import adapter_names
        names = list(adapter_names(self.model))
        self._is_peft = bool(names)
        if self._is_peft:
            return names, self.model.active_adapter
        return [], None

    def _context_length(self) -> Optional[int]:
        config = self.model.config
        text_config = config.get_text_config() if hasattr(config, 'get_text_config') else config
        for key in ('max_position_embeddings', 'n_positions', 'seq_length'):
            value = getattr(text_config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, 'model_max_length', None)
        return limit if isinstance(limit, int) and limit < 10**7 else None

    def _stop_token_ids(self) -> set:
        ids = set()
        generation_config = getattr(self.model, 'generation_config', None)
        for source in (self.tokenizer.eos_token_id, getattr(generation_config, 'eos_token_id', None)):
            ids.update(source if isinstance(source, (list, tuple)) else [source] if source is not None else [])
        vocab = self.tokenizer.get_vocab()
        for word in self.template.stop_words:
            if word in vocab:
                ids.add(vocab[word])
        return ids

    # ---- submitting work (any thread) ---------------------------------------------------------------
    def prepare(self, request, request_config=None) -> PreparedRequest:
        prepared = super().prepare(request, request_config)
        if prepared.config.num_beams > 1:
            check_beam_request(self, prepared)
        if prepared.config.n > self.max_batch_size:
            raise InferError(f'n={prepared.config.n} exceeds max_batch_size={self.max_batch_size}')
        return prepared

    def _submit(self, job: _Job) -> None:
        with self._wakeup:
            if self._closed:
                raise EngineClosedError('the engine is closed')
            self._waiting.append(job)
            if self._worker is None and not self._drivers:
                self._start_worker()
            self._wakeup.notify_all()

    def _start_worker(self) -> None:
        """The scheduler thread (called holding _wakeup); it serves every request from now on."""
        self._worker = threading.Thread(target=self._serve, name='swift-pt-engine', daemon=True)
        self._worker.start()
        # A daemon thread still inside a torch op when Python exits can abort the process
        # ("terminate called without an active exception"): stop it first.
        atexit.register(_close_if_alive, weakref.ref(self))

    def run_coroutine(self, coroutine) -> Any:
        """Run a coroutine (that may call infer_async many times) on the engine's loop thread and wait for it; while
        no scheduler thread exists, this thread runs the decoding steps meanwhile (the module docstring says why)."""
        with self._wakeup:
            drive = self._worker is None and not self._closed
            if drive:
                self._drivers += 1  # before the coroutine submits anything: no scheduler thread gets started for it
        future = asyncio.run_coroutine_threadsafe(coroutine, self._event_loop())
        if not drive:
            return future.result()
        try:
            self._drive_until(future)
        except BaseException:
            future.cancel()  # its requests are cancelled, and freed by the next step of whoever runs them
            raise
        finally:
            with self._wakeup:
                self._drivers -= 1
                # other callers' requests still running or waiting, and nobody left to step them
                if not self._drivers and self._worker is None and not self._closed and (self._waiting or self._running):
                    self._start_worker()
        return future.result()

    def _drive_until(self, future) -> None:
        import torch

        def wake(_):
            with self._wakeup:
                self._wakeup.notify_all()

        future.add_done_callback(wake)
        with torch.inference_mode():
            while True:
                with self._wakeup:
                    while not (self._closed or self._waiting or self._running or future.done()):
                        self._wakeup.wait()
                    closed = self._closed
                if future.done():
                    return
                with self._step_lock:
                    if closed:  # close() may stop the event loop before the failures below reach the future
                        self._fail_all(EngineClosedError('the engine was closed'))
                        raise EngineClosedError('the engine was closed')
                    try:
                        self._step()
                    except BaseException as e:  # KeyboardInterrupt mid-step: the batch's state is unknown
                        self._fail_running(InferError(f'interrupted: {type(e).__name__}'))
                        raise

    async def _generate(self, prepared: PreparedRequest) -> AsyncIterator[List[ChoiceUpdate]]:
        if prepared.config.num_beams > 1:  # transformers' beam search, alone (beam_search.py)
            yield [await asyncio.get_running_loop().run_in_executor(None, beam_search, self, prepared)]
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def sink(item):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the caller's loop is gone: nobody will read this request
                job.cancelled = True

        job = _Job(prepared, sink)
        self._submit(job)
        finished = 0
        try:
            while finished < prepared.config.n:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                finished += sum(1 for u in item if u.finish_reason)
                yield item
        finally:
            if finished < prepared.config.n:
                self.cancel(job)

    def cancel(self, job: _Job) -> None:
        """Stop a request (its client went away); its rows are freed before the next step."""
        job.cancelled = True
        with self._wakeup:
            self._wakeup.notify_all()

    def close(self) -> None:
        with self._wakeup:
            self._closed = True
            self._wakeup.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=30)
        super().close()

    def stats(self) -> Dict[str, Any]:
        return dict(self._counters, running_requests=len(self._running), waiting_requests=len(self._waiting),
                    running_sequences=self._kv.rows, **self.prefix_cache.counters)

    # ---- the scheduler thread ---------------------------------------------------------------------------
    def _serve(self) -> None:
        import torch
        with torch.inference_mode():
            while True:
                with self._wakeup:
                    while not self._closed and not self._waiting and not self._running:
                        self._wakeup.wait()
                    if self._closed:
                        break
                with self._step_lock:
                    self._step()
        with self._step_lock:
            self._fail_all(EngineClosedError('the engine was closed'))

    def _step(self) -> None:
        """Drop cancelled requests, admit waiting ones, decode one token for every running sequence."""
        try:
            self._drop_cancelled()
            self._admit()
            if self._kv.rows:
                self._decode_step()
        except Exception as e:  # noqa: BLE001 — fail the affected requests, keep serving the others
            logger.exception('TransformersEngine step failed')
            self._fail_running(e)

    def _drop_cancelled(self) -> None:
        cancelled = [job for job in self._running if job.cancelled]
        for job in cancelled:
            self._retire(job)
        if any(job.cancelled for job in self._waiting):
            with self._wakeup:
                self._waiting = deque(job for job in self._waiting if not job.cancelled)

    def _admit(self) -> None:
        """Prefill waiting requests while rows are free, within the per-step prefill budget."""
        budget = self.prefill_tokens_per_step
        while True:
            with self._wakeup:
                if not self._waiting:
                    return
                job = self._waiting[0]
                if self._kv.rows + job.n > self.max_batch_size:
                    return
                if budget <= 0 and self._kv.rows:
                    return
                self._waiting.popleft()
            if job.cancelled:
                continue
            budget -= len(job.prepared.prompt_ids)
            self._running.append(job)
            try:
                self._prefill(job)
            except Exception as e:  # noqa: BLE001 — this request failed; the batch goes on
                logger.exception('prefill failed')
                self._fail(job, e)

    def _prefill(self, job: _Job) -> None:
        import torch
        from transformers import DynamicCache
        prepared = job.prepared
        device = self._device()
        cache = DynamicCache()
        ids = prepared.prompt_ids
        media = self._media_inputs(prepared.media, device)  # images enter the KV cache here; decoding needs none
        if media and getattr(self.template, 'is_multimodal', False):  # Qwen-VL's mm_token_type_ids, ...
            media.update(self._media_inputs(self.template.token_inputs(torch.tensor([ids]), media), device))
        rope = self._rope_state() if media else None
        if rope is not None:
            rope.rope_deltas = None  # computed afresh by this prefill (the model keeps it as state)
        # a prompt with media is never cached nor served from the cache: its media tokens' ids are the same for
        # every image, their KV is not
        use_prefixes = not media
        if use_prefixes:
            self._forget_prefixes_if_weights_changed()
        reused, prefix_kv = self.prefix_cache.lookup(prepared.adapter, ids) if use_prefixes else (0, None)
        for layer, (k, v) in enumerate(prefix_kv or ()):
            if k is None:  # a layer the prompt did not write (Mllama's cross-attention without an image)
                continue
            cache.update(k[:, :, :reused], v[:, :, :reused], layer)  # the next update concatenates: no write here
        positions = {'position_ids': torch.arange(reused, len(ids), device=device)[None]} if reused else {}
        with self.model_lock:
            out = self.model(input_ids=torch.tensor([ids[reused:]], device=device), **cache_kwargs(self.model, cache),
                             use_cache=True, logits_to_keep=1, **positions, **media,
                             **self._adapter_kwargs([prepared.adapter]))
            offset = int(rope.rope_deltas.reshape(-1)[0]) if rope is not None and rope.rope_deltas is not None else 0
        logits = out.logits[:, -1, :].float()
        cross = self._cross.take(cache, media.get('cross_attention_mask')) if self._cross else None
        job.sequences = [self._new_sequence(job, i, device) for i in range(job.n)]
        for seq in job.sequences:
            seq.position_offset = offset
            seq.cross = cross
        layer_kv = [(layer.keys, layer.values) for layer in cache.layers]
        self._kv.add(layer_kv, job.sequences)  # copies: the batch never writes into these tensors
        if use_prefixes:
            self.prefix_cache.store(prepared.adapter, ids, layer_kv)
        del cache, out
        tokens = choose_tokens(logits.expand(job.n, -1), [s.sampler for s in job.sequences])
        self._emit_tokens(job.sequences, tokens, logits.expand(job.n, -1))

    def _rope_state(self):
        """The module that keeps multimodal rotary-position state (`rope_deltas`: Qwen2-VL, Qwen2.5-VL, Qwen3-VL),
        or None. Its forward computes 3-D positions for a prompt with media (get_rope_index) and the delta between them
        and the token count; decoding a row then needs its own delta, which the batch passes in position_ids."""
        if not hasattr(self, '_rope_module'):
            self._rope_module = next((m for m in self.model.modules()
                                      if hasattr(m, 'rope_deltas') and hasattr(m, 'get_rope_index')), None)
        return self._rope_module

    def _media_inputs(self, media: Dict[str, Any], device) -> Dict[str, Any]:
        """The processor's tensors on the model's device; floating ones in the model's dtype."""
        dtype = getattr(self.model, 'dtype', None)
        moved = {}
        for key, value in media.items():
            if hasattr(value, 'to'):
                value = value.to(device=device, dtype=dtype) if value.is_floating_point() and dtype else value.to(device)
            moved[key] = value
        return moved

    def _forget_prefixes_if_weights_changed(self) -> None:
        """A model trained between requests (an RLHF rollout's policy) or given other adapters makes cached KV stale:
        every in-place update bumps a tensor's version, and replaced or added parameters change the set."""
        if not self.prefix_cache.enabled:
            return
        seen = hash(tuple((p.data_ptr(), p._version) for p in self.model.parameters()))
        if seen != self._weights_seen:
            self.prefix_cache.clear()
            self._weights_seen = seen

    def _new_sequence(self, job: _Job, index: int, device) -> _Sequence:
        config = job.prepared.config
        seed = None if config.seed is None else config.seed + index
        sampler = SequenceSampler(config, job.prepared.prompt_ids, seed, device)
        stops = StopStringMatcher(config.stop_list + self.template.stop_words)
        return _Sequence(job, index, sampler, IncrementalDecoder(self.tokenizer), stops)

    def _decode_step(self) -> None:
        import torch
        sequences: List[_Sequence] = list(self._kv.owners)
        self._counters['peak_running_sequences'] = max(self._counters['peak_running_sequences'], len(sequences))
        device = self._device()
        self._kv.reserve_column()
        input_ids = torch.tensor([[s.last_token] for s in sequences], device=device)
        positions = self._kv.position_ids()
        if any(s.position_offset for s in sequences):
            positions = positions + torch.tensor([[s.position_offset] for s in sequences], device=device)
        with self.model_lock:
            cache = self._kv.transformers_cache()
            cross = self._cross.attach(cache, [s.cross for s in sequences]) if self._cross else {}
            with decode_attention(self.model, self.fast_decode_attention):
                logits = self.model(input_ids=input_ids, attention_mask=self._kv.attention_mask(),
                                    position_ids=positions, **cache_kwargs(self.model, cache), **cross,
                                    use_cache=True, logits_to_keep=1,
                                    **self._adapter_kwargs([s.job.prepared.adapter for s in sequences])).logits[:, -1, :]
        self._kv.commit_column()
        logits = logits.float()
        tokens = choose_tokens(logits, [s.sampler for s in sequences])
        self._counters['steps'] += 1
        self._emit_tokens(sequences, tokens, logits)

    def _adapter_kwargs(self, adapters: List[Optional[str]]) -> Dict[str, Any]:
        """peft's mixed-adapter batch: one adapter name per row ('__base__' for none)."""
        if not self._is_peft:
            return {}
        names = [a if a is not None else BASE_ADAPTER for a in adapters]
        if all(name == self.model.active_adapter for name in names):
            return {}
        return {'adapter_names': names}

    def _device(self):
        return next(self.model.parameters()).device

    # ---- after each token ----------------------------------------------------------------------------
    def _emit_tokens(self, sequences: List[_Sequence], tokens: List[int], logits) -> None:
        updates: Dict[int, List[ChoiceUpdate]] = {}
        finished = []
        for row, (seq, token) in enumerate(zip(sequences, tokens)):
            if seq.job.cancelled:
                continue
            entry = None
            if seq.job.prepared.config.logprobs:
                entry = self._logprob_formatter.entry(logits[row], token, seq.job.prepared.config.top_logprobs)
            updates.setdefault(id(seq.job), []).append(self._accept(seq, token, entry))
            if seq.finish_reason:
                finished.append(seq)
        self._counters['generated_tokens'] += len(tokens)
        if finished:
            self._kv.remove(finished)
        for job in {id(s.job): s.job for s in sequences}.values():
            if id(job) in updates:
                job.sink(updates[id(job)])
            if all(s.finish_reason for s in job.sequences):
                self._retire(job, finished=True)

    def _accept(self, seq: _Sequence, token: int, entry: Optional[LogprobEntry]) -> ChoiceUpdate:
        """Record one generated token; decide whether the sequence is finished."""
        config = seq.job.prepared.config
        seq.output_ids.append(token)
        seq.last_token = token
        seq.sampler.record(token)
        text = ''
        if token in self._stop_ids and not config.ignore_eos:
            seq.finish_reason = 'stop'
        else:
            text, stopped = seq.matcher.feed(seq.decoder.push(token))
            if stopped:
                seq.finish_reason = 'stop'
            elif len(seq.output_ids) >= config.max_tokens:
                seq.finish_reason = 'length'
        if seq.finish_reason:
            text += self._final_text_tail(seq)
        return ChoiceUpdate(seq.index, text, 1, [entry] if entry is not None else [], seq.finish_reason)

    def _final_text_tail(self, seq: _Sequence) -> str:
        """What is still to be shown at the end: held-back text, reconciled with a full decode."""
        ends_on_stop = seq.finish_reason == 'stop' and seq.output_ids and seq.output_ids[-1] in self._stop_ids
        ids = seq.output_ids[:-1] if ends_on_stop else seq.output_ids
        full, _ = cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), seq.matcher.stops)
        shown = seq.matcher.text[:seq.matcher.emitted]
        if full.startswith(shown):
            return full[len(shown):]
        return seq.matcher.flush() if not seq.matcher.stopped else ''

    def _retire(self, job: _Job, finished: bool = False) -> None:
        live = [s for s in job.sequences if s in self._kv.owners]
        if live:
            self._kv.remove(live)
        if job in self._running:
            self._running.remove(job)
        if finished:
            self._counters['finished_requests'] += 1

    def _fail(self, job: _Job, error: BaseException) -> None:
        self._retire(job)
        job.sink(error)

    def _fail_running(self, error: BaseException) -> None:
        for job in list(self._running):
            self._fail(job, error)
        self._kv.clear()

    def _fail_all(self, error: BaseException) -> None:
        self._fail_running(error)
        with self._wakeup:
            waiting, self._waiting = list(self._waiting), deque()
        for job in waiting:
            job.sink(error)


PtEngine = TransformersEngine  # ms-swift 3's name, kept as an alias

# Layer kinds whose KV cache the batch cache holds correctly with left padding: masks of both
# depend only on differences of positions, which padding does not change.
_SUPPORTED_LAYER_TYPES = {'full_attention', 'sliding_attention'}


def _check_attention_layers(config) -> None:
    text_config = config.get_text_config() if hasattr(config, 'get_text_config') else config
    kinds = set(getattr(text_config, 'layer_types', None) or ['full_attention'])
    unsupported = sorted(kinds - _SUPPORTED_LAYER_TYPES)
    if unsupported:
        raise SwiftError(f'TransformersEngine batches attention KV caches only; this model has {", ".join(unsupported)} '
                         'layers. Use --infer_backend vllm (or sglang / lmdeploy) for it.')
