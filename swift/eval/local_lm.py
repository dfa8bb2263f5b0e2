"""A local transformers model as the thing under test: batched log-likelihoods and generation.

Log-likelihood follows the reference harness token for token (same tokenization of context and
continuation, same slicing of logits), and is faster in three ways:
- requests whose model input is identical (one-token choices such as " A"/" B"/" C"/" D" after the
  same question) share one row: one forward pass scores all of them;
- rows run in batches, right-padded, one forward pass per batch;
- the token prefix shared by every row of a call (the instruction and the few-shot examples) runs
  once; its KV cache is copied into each batch, so a batch only runs the tokens after it;
- likewise a long question shared by its choices (each choice its own row, as in ARC or HellaSwag
  when a passage precedes the question) runs once, and its choices run as one batch after it.
The shared prefix is found on tokens, not text: text that ends in "\\n\\n" may tokenize differently
on its own than before the next question.

Generation goes through TransformersEngine (greedy, stop strings, its continuous batching), with the
prompt as plain text or, in chat mode, as messages through the model's chat template. When the
model belongs to a running TransformersEngine, every forward pass here holds the engine's model lock.
"""
import contextlib
import copy
import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch

from swift.infer.protocol import InferRequest, RequestConfig
from swift.infer.transformers_engine import TransformersEngine
from swift.model.cache_arg import cache_kwargs, output_cache
from swift.model.loader import get_model_tokenizer
from swift.template import get_template
from swift.tuners import load_adapters
from swift.utils import SwiftError, get_logger

logger = get_logger()

MIN_SHARED_PREFIX = 16  # tokens: below this, reusing a KV cache costs more than it saves
# A question shared by its choices runs on its own (one more, smaller forward pass per question) only when
# it is this long: on CPU a forward pass costs about the same for 10 or 100 tokens (the weights are read
# either way), so short questions are cheaper repeated inside one batch than run separately.
MIN_SHARED_QUESTION = 128
Prompt = Union[str, List[Dict[str, str]], Dict[str, Any]]  # text, chat, or chat + images


@dataclass
class _Row:
    tokens: List[int]  # the model input: context + continuation minus its last token
    targets: List[Tuple[int, List[int]]] = field(default_factory=list)  # (request index, continuation tokens)

    @property
    def needed(self) -> int:
        """How many trailing positions of this row have logits that are scored."""
        return max(len(cont) for _, cont in self.targets)


@dataclass
class _Prefix:
    tokens: Tuple[int, ...]
    cache: Any  # the model's KV cache after those tokens, batch size 1


def model_max_length(model, tokenizer) -> int:
    """The context window, looked up where the reference harness looks."""
    config = getattr(model, 'config', None)
    for attr in ('n_positions', 'max_position_embeddings', 'n_ctx'):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, 'model_max_length', None)
    if isinstance(value, int) and 0 < value < 1_000_000:
        return value
    return 2048


def _accepts(model, argument: str) -> bool:
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    try:
        return argument in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False


class LocalLM:
    supports_loglikelihood = True

    def __init__(self, model, tokenizer, *, template=None, chat: bool = False, batch_size: int = 8,
                 max_length: Optional[int] = None, reuse_prefix: bool = True, engine=None):
        if chat and template is None:
            raise SwiftError('chat-template evaluation needs the model\'s template: pass --template')
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.chat = chat
        self.batch_size = max(1, int(batch_size))
        self.max_length = max_length or model_max_length(model, tokenizer)
        self.reuse_prefix = reuse_prefix
        self._engine = engine
        self._own_engine = False
        self._lock = getattr(engine, 'model_lock', None) or contextlib.nullcontext()
        self._prefix: Optional[_Prefix] = None
        self._keep_logits = _accepts(model, 'logits_to_keep')
        info = getattr(model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
        self.name = info.model_id if info else type(model).__name__
        self.identity: Dict[str, Any] = {'model': self.name}  # what a sample log must match to be resumed

    # ---- construction ----
    @classmethod
    def load(cls, model: str, adapters: Sequence[str] = (), template: Optional[str] = None, chat: bool = False,
             batch_size: int = 8, system: Optional[str] = None, max_length: Optional[int] = None,
             **load_kwargs) -> 'LocalLM':
        hf_model, tokenizer = get_model_tokenizer(model, **load_kwargs)
        if adapters:
            hf_model = load_adapters(hf_model, list(adapters))
        swift_template = chat_template_for(hf_model, tokenizer, template, system) if chat else None
        return cls(hf_model.eval(), tokenizer, template=swift_template, chat=chat, batch_size=batch_size,
                   max_length=max_length)

    @classmethod
    def from_engine(cls, engine, chat: bool = False, batch_size: int = 8) -> 'LocalLM':
        """Evaluate the model a TransformersEngine serves (its adapters and template included)."""
        return cls(engine.model, engine.tokenizer, template=engine.template, chat=chat, batch_size=batch_size,
                   engine=engine)

    # ---- tokenization, as the reference harness does it ----
    def encode(self, text: str) -> List[int]:
        bos = self.tokenizer.bos_token
        if bos and text.startswith(bos):  # a rendered chat prompt carries its own BOS
            return self.tokenizer.encode(text, add_special_tokens=False)
        return self.tokenizer.encode(text)

    def encode_pair(self, context: str, continuation: str,
                    memo: Optional[Dict[str, List[int]]] = None) -> Tuple[List[int], List[int]]:
        """(context tokens, continuation tokens): the whole text is tokenized and split after the context's tokens.

        memo caches context encodings (the choices of one question share their context).
        """
        if not context:
            prefix = self.tokenizer.bos_token_id
            prefix = self.tokenizer.eos_token_id if prefix is None else prefix
            return [prefix], self.tokenizer.encode(continuation, add_special_tokens=False)
        spaces = len(context) - len(context.rstrip())
        if spaces:  # trailing spaces belong to the continuation: " A" is one token, "Answer: " + "A" is not
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        whole = self.encode(context + continuation)
        context_tokens = memo.get(context) if memo is not None else None
        if context_tokens is None:
            context_tokens = self.encode(context)
            if memo is not None:
                memo[context] = context_tokens
        continuation_tokens = whole[len(context_tokens):]
        if not continuation_tokens:
            raise SwiftError(f'the continuation {continuation!r} adds no tokens after its context')
        return context_tokens, continuation_tokens

    def render_chat(self, messages: List[Dict[str, str]]) -> str:
        return self.template.render(messages, add_generation_prompt=True)

    # ---- log-likelihood ----
    def loglikelihood(self, requests: Sequence[Tuple[str, str]]) -> List[float]:
        """Summed log-probability of each continuation after its context."""
        rows = self._rows(requests)
        results: List[float] = [0.0] * len(requests)
        with torch.inference_mode(), self._lock:
            for batch, prefix in self._batches(rows):
                start = len(prefix.tokens) if prefix else 0
                for row, logprobs in zip(batch, self._row_logprobs(batch, prefix, start)):
                    for index, continuation in row.targets:
                        scored = logprobs[-len(continuation):]
                        picked = scored[torch.arange(len(continuation)), torch.tensor(continuation)]
                        results[index] = float(picked.sum())
        return results

    def _batches(self, rows: List[_Row]) -> Iterator[Tuple[List[_Row], Optional[_Prefix]]]:
        """Batches of rows, each with the prefix whose KV cache its rows share.

        Every row shares the call's common prefix; the choices of one question also share their
        question, which then runs once for them when it is long enough to pay off.
        """
        prefix = self._shared_prefix(rows)
        start = len(prefix.tokens) if prefix else 0
        loose: List[_Row] = []
        for group in _group_by_context(rows):
            limit = min(len(r.tokens) - r.needed for r in group)
            shared = _common_prefix_length([r.tokens for r in group], limit) if len(group) > 1 else 0
            if not self.reuse_prefix or shared - start < MIN_SHARED_QUESTION:
                loose += group
                continue
            group_prefix = self._extend(prefix, group[0].tokens[start:shared])
            for i in range(0, len(group), self.batch_size):
                yield group[i:i + self.batch_size], group_prefix
        loose.sort(key=lambda r: -len(r.tokens))  # similar lengths together: little padding
        for i in range(0, len(loose), self.batch_size):
            yield loose[i:i + self.batch_size], prefix

    def _rows(self, requests: Sequence[Tuple[str, str]]) -> List[_Row]:
        rows: Dict[Tuple[int, ...], _Row] = {}
        context_memo: Dict[str, List[int]] = {}
        for index, (context, continuation) in enumerate(requests):
            context_tokens, continuation_tokens = self.encode_pair(context, continuation, context_memo)
            if len(continuation_tokens) > self.max_length:
                raise SwiftError(f'a choice of {len(continuation_tokens)} tokens does not fit the model\'s '
                                 f'{self.max_length}-token window')
            # Too long: cut from the left, as the reference harness does.
            tokens = (context_tokens + continuation_tokens)[-(self.max_length + 1):][:-1]
            row = rows.setdefault(tuple(tokens), _Row(tokens))
            row.targets.append((index, continuation_tokens))
        return list(rows.values())

    def _shared_prefix(self, rows: List[_Row]) -> Optional[_Prefix]:
        """The KV cache of the tokens every row starts with (reused from the last call when it still fits)."""
        if not self.reuse_prefix or not rows:
            return None
        limit = min(len(r.tokens) - r.needed for r in rows)  # every scored position stays after the prefix
        cached = self._prefix
        if cached and len(cached.tokens) <= limit and all(tuple(r.tokens[:len(cached.tokens)]) == cached.tokens
                                                          for r in rows):
            return cached
        if len(rows) < 2:
            return None
        length = _common_prefix_length([r.tokens for r in rows], limit)
        if length < MIN_SHARED_PREFIX:
            return None
        try:
            self._prefix = self._extend(None, rows[0].tokens[:length])
        except Exception as e:  # a model whose cache cannot be reused: score full rows instead
            logger.warning(f'prefix reuse is off for this model ({type(e).__name__}: {e}); scoring full rows')
            self.reuse_prefix = False
            return None
        return self._prefix

    def _extend(self, prefix: Optional[_Prefix], tokens: List[int]) -> _Prefix:
        """The prefix followed by `tokens`, with its KV cache (batch size 1)."""
        kwargs: Dict[str, Any] = {'logits_to_keep': 1} if self._keep_logits else {}
        if prefix is not None:
            kwargs.update(cache_kwargs(self.model, copy.deepcopy(prefix.cache)))
        out = self.model(input_ids=torch.tensor([tokens], device=self._device()), use_cache=True, **kwargs)
        cache = output_cache(out)
        if cache is None:
            raise SwiftError('the model returned no KV cache')
        return _Prefix((prefix.tokens if prefix else ()) + tuple(tokens), cache)

    def _row_logprobs(self, batch: List[_Row], prefix: Optional[_Prefix], start: int):
        """Per row: log-softmax over the vocabulary at its last `needed` positions (position i predicts token i+1)."""
        suffixes = [r.tokens[start:] for r in batch]
        width = max(len(s) for s in suffixes)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in suffixes], device=self._device())
        wanted = [list(range(len(s) - r.needed, len(s))) for s, r in zip(suffixes, batch)]
        kwargs: Dict[str, Any] = {}
        keep = sorted({p for positions in wanted for p in positions})
        if self._keep_logits:
            kwargs['logits_to_keep'] = torch.tensor(keep, device=input_ids.device)
            column = {p: i for i, p in enumerate(keep)}
        else:
            column = {p: p for p in keep}
        if prefix is not None:
            cache = copy.deepcopy(prefix.cache)
            if len(batch) > 1:
                cache.batch_repeat_interleave(len(batch))
            kwargs.update(cache_kwargs(self.model, cache), use_cache=True)
        else:
            kwargs['use_cache'] = False
        # Right padding needs no attention mask: causal attention never looks ahead at the pad tokens.
        logits = self.model(input_ids=input_ids, **kwargs).logits
        for b, positions in enumerate(wanted):
            yield torch.log_softmax(logits[b, [column[p] for p in positions]].float(), dim=-1)

    def _device(self):
        return next(self.model.parameters()).device

    # ---- generation ----
    def generate(self, prompts: Sequence[Prompt], until: Sequence[str], max_new_tokens: int) -> List[str]:
        engine = self._generation_engine()
        requests = [_request(p) for p in prompts]
        config = RequestConfig(max_tokens=max_new_tokens, temperature=0.0, stop=[s for s in until if s])
        return [r.choices[0].message.content for r in engine.infer(requests, config, use_tqdm=False)]

    def _generation_engine(self):
        if self._engine is None:
            self._engine = TransformersEngine(self.model, self.tokenizer, template=self.template)
            self._own_engine = True
            self._lock = self._engine.model_lock
        return self._engine

    def close(self) -> None:
        """Stop the generation engine this object started (an engine passed in stays up)."""
        if self._own_engine and self._engine is not None:
            self._engine.close()
            self._engine = None


def _request(prompt: Prompt) -> InferRequest:
    if isinstance(prompt, dict):  # {'messages': [...], 'images': [...]}: a multimodal question
        return InferRequest(messages=prompt['messages'], images=list(prompt.get('images') or []))
    return InferRequest(messages=prompt) if isinstance(prompt, list) else InferRequest(prompt=prompt)


def _group_by_context(rows: List[_Row]) -> List[List[_Row]]:
    """Rows grouped by the context their continuations follow (the choices of one question), in order."""
    groups: Dict[Tuple[int, ...], List[_Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row.tokens[:len(row.tokens) - row.needed + 1]), []).append(row)
    return list(groups.values())


def _common_prefix_length(sequences: List[List[int]], limit: int) -> int:
    first = sequences[0]
    length = min(limit, len(first))
    for seq in sequences[1:]:
        n = min(length, len(seq))
        i = 0
        while i < n and seq[i] == first[i]:
            i += 1
        length = i
        if length == 0:
            break
    return length


def chat_template_for(model, tokenizer, name: Optional[str], system: Optional[str] = None):
    """The swift template a chat-mode evaluation renders with: --template, else the model's own."""
    info = getattr(model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
    name = name or (info.template if info and info.template else None) or (info.model_dir if info else None)
    if not name:
        raise SwiftError('cannot tell this model\'s chat template: pass --template')
    return get_template(name, tokenizer=tokenizer, default_system=system)
