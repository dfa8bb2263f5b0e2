"""What the chat pages talk to: a local engine (swift infer's) or an OpenAI-compatible server (swift deploy's).

    backend = LocalChat.load(['--model', 'smollm2-135m-instruct', '--adapters', ckpt])
    for text in backend.stream(messages, settings): ...       # the answer so far, growing
"""
from typing import Any, Dict, Iterator, List, Optional

from swift.arguments import InferArguments
from swift.utils.args import parse_args

# The generation settings a chat page offers (GenerationArguments' fields, as swift infer takes them)
SETTINGS = ('max_new_tokens', 'temperature', 'top_p', 'top_k', 'repetition_penalty')


def history_messages(system: Optional[str], history: List[Dict[str, Any]], query: str) -> List[Dict[str, str]]:
    """The request's messages: the system prompt, the chat so far (Gradio's message dicts), the new query."""
    messages = [{'role': 'system', 'content': system}] if system and system.strip() else []
    for message in history:
        content = message.get('content')
        if isinstance(content, list):  # Gradio 6 keeps content as a list of parts
            content = ''.join(part.get('text', '') for part in content if isinstance(part, dict))
        messages.append({'role': message['role'], 'content': str(content)})
    return messages + [{'role': 'user', 'content': query}]


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

    def stream(self, messages: List[Dict[str, str]], settings: Dict[str, Any]) -> Iterator[str]:
        from swift.infer.main import request_config_from
        from swift.infer.protocol import InferRequest
        args = parse_args(InferArguments, {**self._base(), **settings})
        reply = ''
        for delta in self.engine.stream(InferRequest(messages), request_config_from(args)):
            reply += delta
            yield reply

    def _base(self) -> Dict[str, Any]:
        return {'model': self.args.model, 'adapters': self.args.adapters}

    def close(self) -> None:
        self.engine.close()


class ServerChat:
    """An OpenAI-compatible server (swift deploy, vLLM, ...), streamed through the openai client."""

    def __init__(self, base_url: str, api_key: Optional[str], model: Optional[str]):
        from openai import OpenAI
        self.client = OpenAI(base_url=base_url, api_key=api_key or 'EMPTY')
        self.model = model or self.client.models.list().data[0].id

    def stream(self, messages: List[Dict[str, str]], settings: Dict[str, Any]) -> Iterator[str]:
        extra = {'top_k': settings['top_k'], 'repetition_penalty': settings['repetition_penalty']}
        chunks = self.client.chat.completions.create(
            model=self.model, messages=messages, stream=True, max_tokens=settings.get('max_new_tokens'),
            temperature=settings['temperature'], top_p=settings['top_p'], extra_body=extra)
        reply = ''
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                reply += chunk.choices[0].delta.content
                yield reply

    def close(self) -> None:
        self.client.close()
