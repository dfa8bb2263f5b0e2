"""Engine responses → the JSON bodies of the OpenAI API (chat as it is, legacy completions rebuilt)."""
import json
import time
import uuid
from typing import Any, Dict, List, Optional

from ..protocol import ChatCompletionResponse, ChatCompletionStreamResponse, ChoiceLogprobs
from .echo import EchoedPrompt


def sse(data: Any) -> str:
    """One server-sent event: `data: <json>` and a blank line."""
    return f'data: {json.dumps(data, ensure_ascii=False)}\n\n'


SSE_DONE = 'data: [DONE]\n\n'


def chat_body(response: ChatCompletionResponse, model: str) -> Dict[str, Any]:
    body = response.to_dict()
    body['model'] = model
    return body


def chat_chunk(chunk: ChatCompletionStreamResponse, model: str, include_usage: bool) -> Optional[Dict[str, Any]]:
    """The chunk to send, or None for the final usage chunk when the client did not ask for it."""
    if not chunk.choices and not include_usage:
        return None
    body = chunk.to_dict()
    body['model'] = model
    if not include_usage:
        body.pop('usage')
    return body


class CompletionShaper:
    """Builds `text_completion` bodies and chunks for one /v1/completions request."""

    def __init__(self, model: str, prompts: List[str], n: int, logprobs: bool):
        self.model = model
        self.prompts = prompts
        self.n = n
        self.logprobs = logprobs
        self.id = f'cmpl-{uuid.uuid4().hex}'
        self.created = int(time.time())
        self._offsets: Dict[int, int] = {}  # choice index → text offset of its next token (streaming)

    def body(self, responses: List[ChatCompletionResponse]) -> Dict[str, Any]:
        choices, prompt_tokens, completion_tokens = [], 0, 0
        for p, response in enumerate(responses):
            for choice in response.choices:
                index = p * self.n + choice.index
                choices.append(self._choice(index, choice.message.content, choice.finish_reason, choice.logprobs,
                                            offset=len(self.prompts[p])))
            prompt_tokens += response.usage.prompt_tokens
            completion_tokens += response.usage.completion_tokens
        usage = {'prompt_tokens': prompt_tokens, 'completion_tokens': completion_tokens,
                 'total_tokens': prompt_tokens + completion_tokens}
        return self._envelope(choices, usage)

    def echo_body(self, echoes: List[EchoedPrompt], responses: List[ChatCompletionResponse]) -> Dict[str, Any]:
        """echo=true: each choice is its prompt followed by what was generated (nothing when max_tokens=0)."""
        choices, completion_tokens = [], 0
        for p, (prompt, echoed) in enumerate(zip(self.prompts, echoes)):
            response = responses[p] if responses else None
            generated = response.choices if response else [None] * self.n
            for i, choice in enumerate(generated):
                text = choice.message.content if choice else ''
                logprobs = None
                if self.logprobs:
                    logprobs = echoed.legacy()
                    if choice and choice.logprobs:
                        for key, values in legacy_logprobs(choice.logprobs, len(prompt)).items():
                            logprobs[key] += values
                # echo only: the prompt is all there is, as a completion stopped by max_tokens (as vLLM says)
                choices.append({'index': p * self.n + (choice.index if choice else i), 'text': prompt + text,
                                'finish_reason': choice.finish_reason if choice else 'length', 'logprobs': logprobs})
            completion_tokens += response.usage.completion_tokens if response else 0
        prompt_tokens = sum(e.num_tokens for e in echoes)
        usage = {'prompt_tokens': prompt_tokens, 'completion_tokens': completion_tokens,
                 'total_tokens': prompt_tokens + completion_tokens}
        return self._envelope(choices, usage)

    def chunk(self, chunk: ChatCompletionStreamResponse, include_usage: bool) -> Optional[Dict[str, Any]]:
        """A streamed completion chunk (one prompt), or None when there is nothing to send."""
        if not chunk.choices:
            return self._envelope([], chunk.usage.to_dict()) if include_usage and chunk.usage else None
        choices = []
        for choice in chunk.choices:
            text = choice.delta.content or ''
            if not text and not choice.finish_reason and not (choice.logprobs and choice.logprobs.content):
                continue  # the chat stream's opening role chunk has no counterpart here
            offset = self._offsets.get(choice.index, len(self.prompts[0]))
            choices.append(self._choice(choice.index, text, choice.finish_reason, choice.logprobs, offset))
            self._offsets[choice.index] = offset + len(text)
        if not choices:
            return None
        body = self._envelope(choices, None)
        if not include_usage:
            body.pop('usage')
        return body

    def _choice(self, index: int, text: str, finish_reason: Optional[str], logprobs: Optional[ChoiceLogprobs],
                offset: int) -> Dict[str, Any]:
        return {'index': index, 'text': text, 'finish_reason': finish_reason,
                'logprobs': legacy_logprobs(logprobs, offset) if self.logprobs and logprobs else None}

    def _envelope(self, choices: List[Dict[str, Any]], usage: Optional[Dict[str, int]]) -> Dict[str, Any]:
        return {'id': self.id, 'object': 'text_completion', 'created': self.created, 'model': self.model,
                'choices': choices, 'usage': usage}


def legacy_logprobs(logprobs: ChoiceLogprobs, offset: int) -> Dict[str, Any]:
    """The completions API's logprobs: parallel lists of tokens, their logprobs, alternatives and offsets."""
    tokens, token_logprobs, top, offsets = [], [], [], []
    for entry in logprobs.content:
        tokens.append(entry.token)
        token_logprobs.append(entry.logprob)
        top.append({alt.token: alt.logprob for alt in entry.top_logprobs})
        offsets.append(offset)
        offset += len(entry.token)
    return {'tokens': tokens, 'token_logprobs': token_logprobs, 'top_logprobs': top, 'text_offset': offsets}
