"""What the chat pages talk to: a local engine (swift infer's) or an OpenAI-compatible server (swift deploy's).

    backend = LocalChat.load(['--model', 'smollm2-135m-instruct', '--adapters', ckpt])
    for text in backend.stream(messages, settings, images): ...   # the answer so far, growing

Images travel as ms-swift rows carry them: an `<image>` tag in the user's text where the image was, and the
image files in order in `images` (swift infer's engine); for a server they become OpenAI `image_url` parts.
"""
import base64
import mimetypes
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from swift.arguments import InferArguments
from swift.utils.args import parse_args

# The generation settings a chat page offers (GenerationArguments' fields, as swift infer takes them)
SETTINGS = ('max_new_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty')
IMAGE_TAG = '<image>'


def _part_text(part: Any, images: List[str]) -> str:
    """One part of a Gradio 6 message: its text, or an image tag (the file appended to `images`)."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ''
    if part.get('type') == 'file' or 'path' in part:
        path = (part.get('file') or part).get('path')
        if path:
            images.append(path)
            return IMAGE_TAG
        return ''
    return part.get('text', '') or ''


def chat_request(system: Optional[str], history: List[Dict[str, Any]], query: str,
                 image: Optional[str] = None) -> Tuple[List[Dict[str, str]], List[str]]:
    """The request: messages (the system prompt, the chat so far as Gradio keeps it, the new query) and the
    images of the whole chat in order, each marked by an `<image>` tag in its turn's text."""
    images: List[str] = []
    messages = [{'role': 'system', 'content': system}] if system and system.strip() else []
    for message in history:
        content = message.get('content')
        parts = content if isinstance(content, list) else [content]  # Gradio 6 keeps content as a list of parts
        messages.append({'role': message['role'], 'content': ''.join(_part_text(p, images) for p in parts)})
    if image:
        images.append(image)
        query = IMAGE_TAG + query
    return messages + [{'role': 'user', 'content': query}], images


def history_messages(system: Optional[str], history: List[Dict[str, Any]], query: str) -> List[Dict[str, str]]:
    """The messages of a chat that has no images."""
    return chat_request(system, history, query)[0]


def openai_messages(messages: List[Dict[str, str]], images: List[str]) -> List[Dict[str, Any]]:
    """Tagged messages + image files → OpenAI messages whose images are data: URI `image_url` parts, in place
    (a server does not read the client's disk)."""
    if not images:
        return messages
    queue = list(images)
    out = []
    for message in messages:
        pieces = message['content'].split(IMAGE_TAG)
        if len(pieces) == 1:
            out.append(message)
            continue
        parts: List[Dict[str, Any]] = []
        for index, piece in enumerate(pieces):
            if index:
                parts.append({'type': 'image_url', 'image_url': {'url': _data_uri(queue.pop(0))}})
            if piece:
                parts.append({'type': 'text', 'text': piece})
        out.append({'role': message['role'], 'content': parts})
    return out


def _data_uri(path: str) -> str:
    mime = mimetypes.guess_type(path)[0] or 'image/png'
    return f'data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}'


class LocalChat:
    """swift infer's engine in this process (its arguments parsed and checked as the CLI does)."""

    def __init__(self, engine, args: InferArguments):
        self.engine = engine
        self.args = args

    @classmethod
    def load(cls, argv: List[str]) -> 'LocalChat':
        from swift.infer.checks import check_infer_args
        from swift.infer.main import build_engine
        args = check_infer_args(parse_args(InferArguments, argv))
        return cls(build_engine(args), args)

    @property
    def multimodal(self) -> bool:
        """Whether the model takes images (its template is a multimodal one)."""
        return bool(getattr(getattr(self.engine, 'template', None), 'is_multimodal', False))

    def stream(self, messages: List[Dict[str, str]], settings: Dict[str, Any],
               images: Optional[List[str]] = None) -> Iterator[str]:
        from swift.infer.main import request_config_from
        from swift.infer.protocol import InferRequest
        args = parse_args(InferArguments, {**self._base(), **settings})
        reply = ''
        request = InferRequest(messages, images=list(images or []))
        for delta in self.engine.stream(request, request_config_from(args)):
            reply += delta
            yield reply

    def _base(self) -> Dict[str, Any]:
        return {'model': self.args.model, 'adapters': self.args.adapters}

    def close(self) -> None:
        self.engine.close()


class ServerChat:
    """An OpenAI-compatible server (swift deploy, vLLM, ...), streamed through the openai client."""

    multimodal = None  # unknown: the page offers the upload; a text-only server refuses the image (HTTP 400)

    def __init__(self, base_url: str, api_key: Optional[str], model: Optional[str]):
        from openai import OpenAI
        self.client = OpenAI(base_url=base_url, api_key=api_key or 'EMPTY')
        self.model = model or self.client.models.list().data[0].id

    def stream(self, messages: List[Dict[str, str]], settings: Dict[str, Any],
               images: Optional[List[str]] = None) -> Iterator[str]:
        extra = {'top_k': settings['top_k'], 'min_p': settings.get('min_p', 0.0),
                 'repetition_penalty': settings['repetition_penalty']}
        chunks = self.client.chat.completions.create(
            model=self.model, messages=openai_messages(messages, list(images or [])), stream=True, max_tokens=settings.get('max_new_tokens'),
            temperature=settings['temperature'], top_p=settings['top_p'], extra_body=extra)
        reply = ''
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                reply += chunk.choices[0].delta.content
                yield reply

    def close(self) -> None:
        self.client.close()
