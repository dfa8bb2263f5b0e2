"""An OpenAI-compatible server as the thing under test (`--eval_url http://host:port/v1`).

- Log-likelihood: POST /completions with the context and choice as the prompt, `echo: true`,
  `logprobs: 1`; the log-probabilities of the echoed tokens after the context are summed. This is
  how the reference harness scores API models. `max_tokens: 0` first (nothing is generated:
  `swift deploy` then runs one forward pass over the prompt); a server that refuses 0 gets
  `max_tokens: 1`, as the reference harness sends, and the generated token is ignored.
- Servers that return no prompt log-probabilities (and chat mode): multiple choice is asked as a
  lettered question and scored by the letter in the reply, a different scoring that the results
  record as such.
- Generation: POST /completions with the plain-text prompt, or /chat/completions in chat mode or
  when the server has no completions endpoint.
Plain HTTP (urllib): no client package needed. Requests run concurrently (`concurrency`).
"""
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

from swift.utils import SwiftError, get_logger

from .local_lm import Prompt

logger = get_logger()


class HTTPStatusError(SwiftError):

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ConnectError(SwiftError):
    """The server cannot be reached at all."""


class OpenAIClient:

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 600.0):
        self.base_url = base_url.rstrip('/')
        self.api_key = api_key
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        url = f'{self.base_url}{path}'
        headers = {'Content-Type': 'application/json'}
        if self.api_key:
            headers['Authorization'] = f'Bearer {self.api_key}'
        data = json.dumps(body).encode('utf-8') if body is not None else None
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode('utf-8'))
        except urllib.error.HTTPError as e:
            detail = e.read().decode('utf-8', 'replace')[:300]
            raise HTTPStatusError(e.code, f'{method} {url}: HTTP {e.code} {detail}') from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, 'reason', e)
            raise ConnectError(f'--eval_url {self.base_url}: cannot connect ({reason}); start the server '
                             '(swift deploy ...) or check the address, which ends in /v1') from None
        except json.JSONDecodeError:
            raise SwiftError(f'{method} {url}: the answer is not JSON; is this an OpenAI-compatible server?') from None

    def models(self) -> List[str]:
        return [m['id'] for m in self._request('GET', '/models').get('data', [])]

    def completion(self, **body) -> Dict[str, Any]:
        return self._request('POST', '/completions', body)

    def chat(self, **body) -> Dict[str, Any]:
        return self._request('POST', '/chat/completions', body)


def _cut_at_stop(text: str, until: Sequence[str]) -> str:
    cut = min((text.find(s) for s in until if s and s in text), default=-1)
    return text[:cut] if cut >= 0 else text


def continuation_logprob(logprobs: Dict[str, Any], context_chars: int, prompt_chars: int) -> float:
    """Sum of the log-probabilities of the echoed prompt tokens that start at or after the context's end."""
    tokens = logprobs.get('tokens') or []
    values = logprobs.get('token_logprobs') or []
    offsets = logprobs.get('text_offset')
    if offsets is None:  # rebuild from the token strings
        offsets, position = [], 0
        for token in tokens:
            offsets.append(position)
            position += len(token)
    total, found = 0.0, False
    for offset, value in zip(offsets, values):
        if context_chars <= offset < prompt_chars:
            if value is None:
                raise SwiftError('the server returned no log-probability for a prompt token')
            total += value
            found = True
    if not found:
        raise SwiftError('the server\'s echoed tokens do not cover the answer choice (no text_offset past the context)')
    return total


class ServerLM:

    def __init__(self, url: str, api_key: Optional[str] = None, model: Optional[str] = None, chat: bool = False,
                 concurrency: int = 8, timeout: float = 600.0):
        self.client = OpenAIClient(url, api_key, timeout)
        self.chat = chat
        self.concurrency = max(1, int(concurrency))
        served = self.client.models()
        if model is None:
            if not served:
                raise SwiftError(f'--eval_url {url}: the server lists no models; pass --model with the served name')
            model = served[0]
        self.model = model
        self.name = model
        self.identity: Dict[str, Any] = {'url': url, 'model': model}
        self._has_completions = True
        self._echo_max_tokens = 0  # 1 once the server refuses 0 (decided by the probe, before any concurrency)
        self.supports_loglikelihood = not chat and self._probe_logprobs()

    def _probe_logprobs(self) -> bool:
        try:
            self._loglikelihood_one(('Question: 1 + 1 =', ' 2'))
            return True
        except ConnectError:
            raise
        except SwiftError as e:
            if isinstance(e, HTTPStatusError) and e.status == 404:
                self._has_completions = False
            logger.warning(f'{self.client.base_url}: no prompt log-probabilities ({e}); multiple-choice questions are '
                           'scored by the answer letter the model generates instead')
            return False

    def _map(self, function, items: Sequence[Any]) -> List[Any]:
        if self.concurrency == 1 or len(items) <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(function, items))

    # ---- log-likelihood ----
    def loglikelihood(self, requests: Sequence[Tuple[str, str]]) -> List[float]:
        return self._map(self._loglikelihood_one, list(requests))

    def _loglikelihood_one(self, request: Tuple[str, str]) -> float:
        context, continuation = request
        spaces = len(context) - len(context.rstrip())
        if spaces:  # as locally: trailing spaces belong to the continuation
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        prompt = context + continuation
        answer = self._echo(prompt)
        logprobs = (answer.get('choices') or [{}])[0].get('logprobs')
        if not logprobs:
            raise SwiftError('the completion has no logprobs')
        return continuation_logprob(logprobs, len(context), len(prompt))

    def _echo(self, prompt: str) -> Dict[str, Any]:
        try:
            return self.client.completion(model=self.model, prompt=prompt, max_tokens=self._echo_max_tokens,
                                          temperature=0.0, echo=True, logprobs=1)
        except HTTPStatusError as e:
            if e.status != 400 or self._echo_max_tokens != 0:
                raise
            self._echo_max_tokens = 1  # many servers want at least one generated token
            return self._echo(prompt)

    # ---- generation ----
    def generate(self, prompts: Sequence[Prompt], until: Sequence[str], max_new_tokens: int) -> List[str]:
        stops = [s for s in until if s][:4]  # the OpenAI API takes at most 4 stop sequences

        def one(prompt: Prompt) -> str:
            if isinstance(prompt, str) and not self.chat and self._has_completions:
                try:
                    answer = self.client.completion(model=self.model, prompt=prompt, max_tokens=max_new_tokens,
                                                    temperature=0.0, stop=stops)
                    return _cut_at_stop(answer['choices'][0]['text'], until)
                except HTTPStatusError as e:
                    if e.status != 404:
                        raise
                    self._has_completions = False
            if isinstance(prompt, dict):
                messages = openai_image_messages(prompt['messages'], prompt.get('images') or [])
            else:
                messages = prompt if isinstance(prompt, list) else [{'role': 'user', 'content': prompt}]
            answer = self.client.chat(model=self.model, messages=messages, max_tokens=max_new_tokens, temperature=0.0,
                                      stop=stops)
            return _cut_at_stop(answer['choices'][0]['message']['content'] or '', until)

        return self._map(one, list(prompts))


def openai_image_messages(messages: List[Dict[str, str]], images: Sequence[str]) -> List[Dict[str, Any]]:
    """Messages whose `<image>` tags become OpenAI `image_url` parts carrying the files as data: URIs, in order."""
    import base64
    import mimetypes
    remaining = list(images)
    out: List[Dict[str, Any]] = []
    for message in messages:
        pieces = message['content'].split('<image>')
        if len(pieces) == 1:
            out.append(dict(message))
            continue
        parts: List[Dict[str, Any]] = []
        for i, text in enumerate(pieces):
            if i:
                if not remaining:
                    raise SwiftError('a question has more <image> tags than images')
                path = remaining.pop(0)
                mime = mimetypes.guess_type(str(path))[0] or 'image/png'
                with open(path, 'rb') as f:
                    data = base64.b64encode(f.read()).decode('ascii')
                parts.append({'type': 'image_url', 'image_url': {'url': f'data:{mime};base64,{data}'}})
            if text:
                parts.append({'type': 'text', 'text': text})
        out.append({'role': message['role'], 'content': parts})
    if remaining:
        raise SwiftError(f'a question has {len(remaining)} image(s) without an <image> tag')
    return out
