"""`echo` on /v1/completions: the prompt's own tokens, with their log-probabilities when `logprobs` is set.

    {"prompt": "Question: 1 + 1 = 2", "echo": true, "logprobs": 1, "max_tokens": 0}

is answered as vLLM answers it: the choice's text is the prompt, and its `logprobs` hold one entry
per prompt token: the token's text (`tokens`), its log-probability given the tokens before it
(`token_logprobs`; the first token has nothing before it, so null), its character offset in the
prompt (`text_offset`) and the most likely tokens at its position (`top_logprobs`, `logprobs` of
them; null for the first). This is what the reference harness, and `swift eval --eval_url`, sum to
score a continuation. With max_tokens >= 1 the generated tokens follow, as usual.

The prompt is tokenized exactly as generation tokenizes a text prompt (the tokenizer with its
special tokens) and runs through the transformers model in one forward pass per batch of prompts
(right padding, which under causal attention changes no value), under the engine's model lock.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ..engine import right_padded
from .embeddings import adapter_kwargs
from .errors import APIError

ECHO_BATCH_SIZE = 8

Span = Tuple[int, int]  # a token's characters in the prompt


@dataclass
class EchoedPrompt:
    """One prompt as echoed: its tokens, and their log-probabilities when they were asked for."""
    tokens: List[str]
    text_offset: List[int]
    token_logprobs: Optional[List[Optional[float]]] = None
    top_logprobs: Optional[List[Optional[Dict[str, float]]]] = None

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)

    def legacy(self) -> Dict[str, Any]:
        """The completions API's parallel lists (log-probabilities included only when scored)."""
        return {'tokens': list(self.tokens), 'token_logprobs': list(self.token_logprobs or []),
                'top_logprobs': list(self.top_logprobs or []), 'text_offset': list(self.text_offset)}


def check_supported(engine, scored: bool) -> None:
    """400 unless this engine can echo (a tokenizer) and, for log-probabilities, run its model here."""
    if getattr(engine, 'tokenizer', None) is None:
        raise APIError(400, f'{type(engine).__name__} cannot echo prompts (no tokenizer)', param='echo',
                       code='echo_unsupported')
    # prompt log-probabilities need the transformers model in this process and the lock its scheduler holds
    if scored and (getattr(engine, 'model_lock', None) is None or not hasattr(getattr(engine, 'model', None),
                                                                              'config')):
        raise APIError(400, f'{type(engine).__name__} does not score prompts: echo with logprobs needs '
                       '--infer_backend pt', param='echo', code='echo_unsupported')


def tokenize(engine, prompts: List[str]) -> List[Tuple[List[int], List[Span]]]:
    """(token ids, character spans) per prompt; a 400 for a prompt longer than the model's context."""
    limit = getattr(engine, 'max_model_len', None)
    encoded = []
    for index, prompt in enumerate(prompts):
        ids, spans = _ids_and_spans(engine.tokenizer, prompt)
        if limit is not None and len(ids) > limit:
            raise APIError(400, f'prompt[{index}] has {len(ids)} tokens but the model\'s context is {limit} tokens',
                           param='prompt', code='context_length_exceeded')
        encoded.append((ids, spans))
    return encoded


def _ids_and_spans(tokenizer, prompt: str) -> Tuple[List[int], List[Span]]:
    # The same call as InferEngine._encode for a text prompt, so the echoed tokens are the ones generation sees.
    if getattr(tokenizer, 'is_fast', False):
        encoded = tokenizer(prompt, return_offsets_mapping=True)
        return list(encoded['input_ids']), [tuple(span) for span in encoded['offset_mapping']]
    ids = list(tokenizer(prompt)['input_ids'])
    # A slow tokenizer has no offsets: each token's span is what decoding one more token adds.
    spans, end = [], 0
    for i in range(len(ids)):
        text = tokenizer.decode(ids[:i + 1], clean_up_tokenization_spaces=False)
        start, end = min(end, len(text)), len(text)
        spans.append((start, end))
    return ids, spans


def echo(engine, encoded: List[Tuple[List[int], List[Span]]], prompts: List[str], adapter: Optional[str],
         top: Optional[int]) -> List[EchoedPrompt]:
    """Each prompt's echo; with top (the request's `logprobs`) not None, scored (blocking: run it in a thread)."""
    echoes = [_tokens(engine, prompt, ids, spans) for prompt, (ids, spans) in zip(prompts, encoded)]
    if top is None:
        return echoes
    import torch
    with torch.inference_mode():
        for start in range(0, len(encoded), ECHO_BATCH_SIZE):
            batch = [ids for ids, _ in encoded[start:start + ECHO_BATCH_SIZE]]
            for echoed, (values, alternatives) in zip(echoes[start:], _score_batch(engine, batch, adapter, top)):
                echoed.token_logprobs, echoed.top_logprobs = values, alternatives
    return echoes


def _tokens(engine, prompt: str, ids: List[int], spans: List[Span]) -> EchoedPrompt:
    texts = []
    for token_id, (start, end) in zip(ids, spans):
        # A token with no characters of its own (a BOS the tokenizer added) shows as its decoded self.
        texts.append(prompt[start:end] if end > start else _token_text(engine, token_id))
    return EchoedPrompt(texts, [start for start, _ in spans])


def _token_text(engine, token_id: int) -> str:
    return engine.tokenizer.decode([token_id], skip_special_tokens=False)


def _score_batch(engine, batch: List[List[int]], adapter: Optional[str], top: int):
    """Per prompt: (log-probability of each token, its top alternatives); None for the first token."""
    import torch
    model = engine.model
    input_ids, mask = right_padded(engine, batch)
    with engine.model_lock:  # the engine's scheduler uses the same weights between its steps
        logits = model(input_ids=input_ids, attention_mask=mask, use_cache=False,
                       **adapter_kwargs(engine, adapter, len(batch))).logits
    for row, ids in enumerate(batch):
        # position i predicts token i + 1; one row at a time keeps the float32 copy of the logits small
        logprobs = torch.log_softmax(logits[row, :len(ids) - 1].float(), dim=-1)
        targets = torch.tensor(ids[1:], device=logprobs.device)
        picked = logprobs[torch.arange(len(targets), device=logprobs.device), targets].tolist()
        alternatives: List[Optional[Dict[str, float]]] = [None]
        if top:
            values, top_ids = torch.topk(logprobs, top, dim=-1)
            for position_values, position_ids in zip(values.tolist(), top_ids.tolist()):
                alternatives.append({_token_text(engine, t): v for t, v in zip(position_ids, position_values)})
        else:
            alternatives += [{} for _ in picked]
        yield [None] + picked, alternatives
