"""PtEngine: inference on a transformers model with swift's own templates.

This first version decodes one request at a time with a KV cache; the continuous-batching
scheduler (requests joining and leaving a running batch) replaces `_decode` without changing
the public interface: infer(requests, config) and stream(request, config).
"""
from typing import Iterator, List, Optional, Sequence, Union

from swift.utils import get_logger

from .protocol import ChatCompletionResponse, ChatMessage, Choice, InferRequest, RequestConfig, Usage

logger = get_logger()


class IncrementalDecoder:
    """Turns a growing list of token ids into text deltas that never split a multi-byte character."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.token_ids: List[int] = []
        self.text = ''

    def push(self, token_id: int) -> str:
        self.token_ids.append(token_id)
        text = self.tokenizer.decode(self.token_ids, skip_special_tokens=True)
        if text.endswith('\ufffd'):  # an incomplete UTF-8 sequence: wait for the next token
            return ''
        delta, self.text = text[len(self.text):], text
        return delta


def _logits_processors(config: RequestConfig):
    from transformers.generation import (LogitsProcessorList, RepetitionPenaltyLogitsProcessor,
                                         TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)
    processors = LogitsProcessorList()
    if config.repetition_penalty and config.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(config.repetition_penalty))
    if config.temperature and config.temperature > 0:
        processors.append(TemperatureLogitsWarper(config.temperature))
        if config.top_k:
            processors.append(TopKLogitsWarper(config.top_k))
        if config.top_p < 1.0:
            processors.append(TopPLogitsWarper(config.top_p))
    return processors


class PtEngine:
    """Chat with a transformers model. `model` is an ID/path (loaded here) or an already loaded module."""

    def __init__(self, model, tokenizer=None, *, template=None, default_system: Optional[str] = None,
                 adapters: Sequence[str] = (), **load_kwargs):
        from swift.template import get_template
        if isinstance(model, str):
            from swift.model.loader import get_model_tokenizer
            model, tokenizer = get_model_tokenizer(model, **load_kwargs)
        if adapters:
            from swift.tuners import load_adapters
            model = load_adapters(model, list(adapters))
        self.model = model.eval()
        self.tokenizer = tokenizer
        info = getattr(model, 'model_info', None) or getattr(tokenizer, 'model_info', None)
        if template is None or isinstance(template, str):
            name = template or (info.template if info and info.template else None)
            template = get_template(name or (info.model_dir if info else None), tokenizer=tokenizer,
                                    default_system=default_system)
        self.template = template
        self.model_name = info.model_id if info else type(model).__name__

    # ---- public interface -------------------------------------------------------------------
    def infer(self, requests: Union[InferRequest, List[InferRequest]],
              request_config: Optional[RequestConfig] = None) -> List[ChatCompletionResponse]:
        config = request_config or RequestConfig()
        requests = [requests] if isinstance(requests, InferRequest) else requests
        responses = []
        for request in requests:
            prompt_ids = self._encode(request)
            choices, completion_tokens = [], 0
            for index in range(config.n):
                token_ids, finish_reason = [], 'length'
                decoder = IncrementalDecoder(self.tokenizer)
                for token_id, reason in self._decode(prompt_ids, config, seed_offset=index):
                    if token_id is not None:
                        token_ids.append(token_id)
                        decoder.push(token_id)
                    finish_reason = reason or finish_reason
                text = self._strip_stop(decoder.text, config)
                choices.append(Choice(index, ChatMessage('assistant', text), finish_reason))
                completion_tokens += len(token_ids)
            responses.append(
                ChatCompletionResponse(self.model_name, choices, Usage(len(prompt_ids), completion_tokens)))
        return responses

    def stream(self, request: InferRequest, request_config: Optional[RequestConfig] = None) -> Iterator[str]:
        """Yield text deltas of one reply; stop strings are never yielded."""
        config = request_config or RequestConfig()
        decoder = IncrementalDecoder(self.tokenizer)
        pending = ''  # text held back while it could be the start of a stop string
        stops = self._stop_strings(config)
        for token_id, _ in self._decode(self._encode(request), config):
            if token_id is None:
                break
            pending += decoder.push(token_id)
            cut = min((pending.find(s) for s in stops if s in pending), default=-1)
            if cut >= 0:
                yield pending[:cut]
                return
            keep = max((len(s) - 1 for s in stops), default=0)
            safe = len(pending) - keep if keep else len(pending)
            if safe > 0:
                yield pending[:safe]
                pending = pending[safe:]
        if pending:
            yield self._strip_stop(pending, config)

    # ---- internals --------------------------------------------------------------------------
    def _encode(self, request: InferRequest) -> List[int]:
        encoded = self.template.encode({'messages': request.messages, 'tools': request.tools}, for_inference=True)
        return list(encoded['input_ids'])

    def _stop_strings(self, config: RequestConfig) -> List[str]:
        return [s for s in list(config.stop) + list(getattr(self.template, 'stop_words', []) or []) if s]

    def _strip_stop(self, text: str, config: RequestConfig) -> str:
        cut = min((text.find(s) for s in self._stop_strings(config) if s in text), default=-1)
        return text[:cut] if cut >= 0 else text

    def _stop_token_ids(self) -> set:
        ids = set()
        eos = self.tokenizer.eos_token_id
        if eos is not None:
            ids.add(eos)
        for word in getattr(self.template, 'stop_words', []) or []:
            token_id = self.tokenizer.convert_tokens_to_ids(word)
            if isinstance(token_id, int) and token_id != self.tokenizer.unk_token_id:
                ids.add(token_id)
        return ids

    def _decode(self, prompt_ids: List[int], config: RequestConfig, seed_offset: int = 0):
        """Yield (token_id, finish_reason) pairs; the last pair carries the finish reason."""
        import torch
        device = next(self.model.parameters()).device
        generator = None
        if config.seed is not None:
            generator = torch.Generator(device='cpu').manual_seed(config.seed + seed_offset)
        processors = _logits_processors(config)
        stop_ids = self._stop_token_ids()
        stop_strings = [s for s in config.stop if s]
        input_ids = torch.tensor([prompt_ids], device=device)
        all_ids = input_ids
        past = None
        max_tokens = config.max_tokens if config.max_tokens is not None else 512
        decoder = IncrementalDecoder(self.tokenizer) if stop_strings else None
        with torch.inference_mode():
            for _ in range(max_tokens):
                out = self.model(input_ids=input_ids, past_key_values=past, use_cache=True)
                past = out.past_key_values
                scores = processors(all_ids, out.logits[:, -1, :].float())
                if config.temperature and config.temperature > 0:
                    probs = torch.softmax(scores, dim=-1).cpu()
                    next_id = int(torch.multinomial(probs, 1, generator=generator)[0, 0])
                else:
                    next_id = int(scores.argmax(dim=-1)[0])
                if next_id in stop_ids:
                    yield None, 'stop'
                    return
                if decoder is not None:
                    decoder.push(next_id)
                    if any(s in decoder.text for s in stop_strings):
                        yield next_id, 'stop'
                        return
                yield next_id, None
                input_ids = torch.tensor([[next_id]], device=device)
                all_ids = torch.cat([all_ids, input_ids], dim=1)
        yield None, 'length'
