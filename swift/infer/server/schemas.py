"""The request bodies the server accepts (pydantic), and their translation into engine requests.

Fields follow the OpenAI API. Extensions, as vLLM and ms-swift accept them: `top_k`,
`repetition_penalty`, `ignore_eos`. Fields a client may send that change nothing here (`user`,
`metadata`, ...) are accepted and ignored; any other unknown field is a 400 naming it, so a client never believes
a setting took effect when it did not. Omitted sampling fields take the server's defaults
(`swift deploy --max_new_tokens/--temperature/...`).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

from pydantic import BaseModel, ConfigDict

from ..protocol import InferRequest, RequestConfig
from .errors import bad_request

@dataclass
class GenerationDefaults:
    """What a request gets for a field it leaves out."""
    max_tokens: Optional[int] = 512
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    stop: List[str] = field(default_factory=list)  # always added to a request's own stop strings


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra='forbid')
    include_usage: bool = False


class _Request(BaseModel):
    model_config = ConfigDict(extra='forbid')

    model: Optional[str] = None
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    min_p: Optional[float] = None  # vLLM's extension
    repetition_penalty: Optional[float] = None
    presence_penalty: Optional[float] = None
    frequency_penalty: Optional[float] = None
    stop: Union[str, List[str], None] = None
    seed: Optional[int] = None
    n: int = 1
    stream: bool = False
    stream_options: Optional[StreamOptions] = None
    logit_bias: Optional[Dict[str, float]] = None
    ignore_eos: bool = False
    # accepted and ignored: they change nothing here
    user: Optional[str] = None
    metadata: Optional[Dict[str, Any]] = None
    store: Optional[bool] = None
    service_tier: Optional[str] = None
    parallel_tool_calls: Optional[bool] = None
    prompt_cache_key: Optional[str] = None
    safety_identifier: Optional[str] = None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def _config(self, defaults: GenerationDefaults, max_tokens: Optional[int], logprobs: bool,
                top_logprobs: Optional[int]) -> RequestConfig:
        if self.logit_bias:
            raise bad_request('logit_bias is not supported by this server', param='logit_bias')
        if self.stream_options is not None and not self.stream:
            raise bad_request('stream_options is only allowed with stream=true', param='stream_options')
        own_stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return RequestConfig(
            max_tokens=defaults.max_tokens if max_tokens is None else max_tokens,
            temperature=_or(self.temperature, defaults.temperature),
            top_p=_or(self.top_p, defaults.top_p),
            top_k=_or(self.top_k, defaults.top_k),
            min_p=_or(self.min_p, defaults.min_p),
            repetition_penalty=_or(self.repetition_penalty, defaults.repetition_penalty),
            presence_penalty=_or(self.presence_penalty, 0.0),
            frequency_penalty=_or(self.frequency_penalty, 0.0),
            stop=own_stops + [s for s in defaults.stop if s not in own_stops],
            seed=self.seed, n=self.n, stream=self.stream, logprobs=logprobs, top_logprobs=top_logprobs,
            ignore_eos=self.ignore_eos)


class ChatCompletionRequest(_Request):
    messages: List[Dict[str, Any]]
    max_completion_tokens: Optional[int] = None
    logprobs: bool = False
    top_logprobs: Optional[int] = None
    tools: Optional[List[Dict[str, Any]]] = None
    tool_choice: Optional[Union[str, Dict[str, Any]]] = None

    def to_engine(self, defaults: GenerationDefaults, adapter: Optional[str]) -> Tuple[InferRequest, RequestConfig]:
        if self.tool_choice not in (None, 'auto', 'none'):
            raise bad_request('tool_choice supports "auto" and "none" only (the model decides whether to call a '
                              'tool; no call can be forced)', param='tool_choice')
        messages, media = _flatten_messages(self.messages)
        max_tokens = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        config = self._config(defaults, max_tokens, self.logprobs, self.top_logprobs)
        return InferRequest(messages, tools=self.tools, adapter=adapter, **media), config


class CompletionRequest(_Request):
    prompt: Union[str, List[str], List[int], List[List[int]]]
    logprobs: Optional[int] = None  # the legacy API: how many alternatives per token (0-5)
    echo: bool = False
    suffix: Optional[str] = None
    best_of: Optional[int] = None

    def prompts(self) -> List[str]:
        prompts = [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise bad_request('prompt must be a string or a non-empty list of strings (token-id prompts are not '
                              'supported)', param='prompt')
        if self.stream and len(prompts) > 1:
            raise bad_request('a streaming request takes one prompt; send one request per prompt', param='prompt')
        return prompts

    @property
    def echo_only(self) -> bool:
        """echo with max_tokens=0: the prompt's tokens (and log-probabilities), nothing generated."""
        return self.echo and self.max_tokens == 0

    def to_engine(self, defaults: GenerationDefaults, adapter: Optional[str]) -> List[Tuple[InferRequest,
                                                                                          RequestConfig]]:
        """What to generate, one pair per prompt; none for an echo-only request."""
        for name, unsupported in (('suffix', self.suffix is not None), ('best_of', self.best_of not in (None, self.n))):
            if unsupported:
                raise bad_request(f'{name} is not supported by this server', param=name)
        if self.logprobs is not None and not 0 <= self.logprobs <= 5:
            raise bad_request(f'logprobs must be in [0, 5], got {self.logprobs}', param='logprobs')
        if self.echo and self.stream:
            raise bad_request('echo is not supported with stream=true; send stream=false', param='echo')
        if self.max_tokens == 0 and not self.echo:
            raise bad_request('max_tokens=0 generates nothing: it needs echo=true (the prompt\'s tokens and their '
                              'log-probabilities)', param='max_tokens')
        if self.echo_only:
            self.prompts()  # the same 400s for a malformed prompt or field as a generating request
            self._config(defaults, 1, self.logprobs is not None, self.logprobs or None).validate()
            return []
        config = self._config(defaults, self.max_tokens, self.logprobs is not None, self.logprobs or None)
        return [(InferRequest(prompt=p, adapter=adapter), config) for p in self.prompts()]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra='forbid')

    input: Union[str, List[str], List[int], List[List[int]]]
    model: Optional[str] = None
    encoding_format: Literal['float', 'base64'] = 'float'
    dimensions: Optional[int] = None
    user: Optional[str] = None

    def inputs(self, max_inputs: Optional[int] = None) -> List[Union[str, List[int]]]:
        """Each input as text or as token ids; a 400 past `max_inputs` (before any of them is tokenized)."""
        value = self.input
        if isinstance(value, str):
            items = [value]
        elif value and all(isinstance(v, int) for v in value):
            items = [list(value)]  # one input given as token ids
        else:
            items = list(value)
        if not items or any(len(item) == 0 for item in items):
            raise bad_request('input must be a non-empty string, list of strings, or list of token-id lists',
                              param='input')
        if max_inputs is not None and len(items) > max_inputs:
            raise bad_request(f'input has {len(items)} inputs; this server embeds at most {max_inputs} per request '
                              '(--max_embedding_inputs): split them over several requests', param='input')
        return items


def _or(value, default):
    return default if value is None else value


def _part_url(part: Dict[str, Any], kind: str, i: int) -> str:
    """The http(s) URL or data: URI of an image_url / video_url part (a server never reads its own disk for a
    client); an input_audio part's base64 `data` becomes a data: URI."""
    if kind == 'input_audio':
        audio = part.get('input_audio')
        if not isinstance(audio, dict) or not isinstance(audio.get('data'), str):
            raise bad_request(f'messages[{i}].content: input_audio needs {{"data": <base64>, "format": "wav"}}',
                              param='messages')
        return f'data:audio/{audio.get("format") or "wav"};base64,{audio["data"]}'
    url = part.get(kind)
    url = url.get('url') if isinstance(url, dict) else url
    if not isinstance(url, str) or not url.startswith(('http://', 'https://', 'data:')):
        raise bad_request(f'messages[{i}].content: an {kind} must be an http(s) URL or a data: URI', param='messages')
    return url


_MEDIA_PARTS = {'image_url': ('images', '<image>'), 'video_url': ('videos', '<video>'),
                'input_audio': ('audios', '<audio>')}


def _flatten_messages(messages: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], Dict[str, List[str]]]:
    """OpenAI content-part lists → plain text contents (text parts joined, each image / video / audio as an
    `<image>` / `<video>` / `<audio>` tag where its part was, the convention of swift's rows); the media (URLs or
    data: URIs) collected apart, in order, per kind."""
    if not messages:
        raise bad_request('messages must hold at least one message', param='messages')
    flat, media = [], {}
    for i, message in enumerate(messages):
        content = message.get('content')
        if isinstance(content, list):
            texts = []
            for part in content:
                kind = part.get('type') if isinstance(part, dict) else None
                if kind == 'text':
                    texts.append(str(part.get('text', '')))
                elif kind in _MEDIA_PARTS:
                    key, tag = _MEDIA_PARTS[kind]
                    media.setdefault(key, []).append(_part_url(part, kind, i))
                    texts.append(tag)
                else:
                    raise bad_request(f'messages[{i}].content: unsupported content part {kind!r} (text, '
                                      'image_url, video_url and input_audio parts are understood)', param='messages')
            message = {**message, 'content': ''.join(texts)}
        flat.append(message)
    return flat, media
