"""A chat panel: system prompt, generation settings (swift infer's fields, with their defaults and help),
the conversation streamed as it is generated, and a button that clears it. Used by the web UI's Infer tab and
by `swift app`."""
import time
from typing import Any, Callable, Dict, Optional

import gradio as gr

from swift.utils import SwiftError

from .chat import SETTINGS, history_messages
from .forms import FormSpec, field_label
from .i18n import Labels, request_lang, text


class ChatView:
    """`backend()` gives the current chat backend (None: nothing loaded yet)."""

    def __init__(self, labels: Labels, backend: Callable[[], Any], fixed_lang: Optional[str], prefix: str,
                 defaults: Optional[Dict[str, Any]] = None, system: str = ''):
        self.backend = backend
        self.fixed_lang = fixed_lang
        infer_form = FormSpec('infer')
        defaults = defaults or {}
        self.system = gr.Textbox(value=system, label=labels('system'), lines=1, elem_id=f'{prefix}-system')
        self.settings: Dict[str, Any] = {}
        with gr.Accordion(labels('generation'), open=False):
            with gr.Row():
                for name in SETTINGS:
                    spec = infer_form.fields[name]
                    self.settings[name] = gr.Textbox(value=str(defaults.get(name, spec.default)),
                                                     label=field_label(spec), info=spec.help,
                                                     elem_id=f'{prefix}-{name}')
        self.chatbot = gr.Chatbot(label=labels('chat'), elem_id=f'{prefix}-chatbot', height=360)
        with gr.Row():
            self.message = gr.Textbox(label=labels('message'), scale=5, elem_id=f'{prefix}-message')
            self.send = gr.Button(labels('send'), variant='primary', scale=1, elem_id=f'{prefix}-send')
            self.clear = gr.Button(labels('clear'), scale=1, elem_id=f'{prefix}-clear')
        self.status = gr.Markdown(elem_id=f'{prefix}-answer-status')  # errors, or how long the answer took
        inputs = {self.message, self.chatbot, self.system, *self.settings.values()}
        outputs = [self.message, self.chatbot, self.status]
        self.send.click(self.answer, inputs=inputs, outputs=outputs)
        self.message.submit(self.answer, inputs=inputs, outputs=outputs)
        self.clear.click(lambda: ([], ''), outputs=[self.chatbot, self.status])

    def answer(self, data: Dict[Any, Any], request: gr.Request):
        """Stream the answer into the chat: the user's turn at once, then the reply as it grows."""
        lang = request_lang(request, self.fixed_lang)
        query, system = data[self.message], data[self.system]
        history = list(data[self.chatbot] or [])
        settings = [data[component] for component in self.settings.values()]
        backend = self.backend()
        if backend is None:
            yield query, history, text('not_loaded', lang)
            return
        if not query or not query.strip():
            yield '', history, ''
            return
        try:
            values = self._settings(settings)
        except SwiftError as e:
            yield query, history, f'⚠ {e}'
            return
        messages = history_messages(system, history, query)
        history = history + [{'role': 'user', 'content': query}, {'role': 'assistant', 'content': ''}]
        yield '', history, ''
        start = time.time()
        try:
            for reply in backend.stream(messages, values):
                history[-1] = {'role': 'assistant', 'content': reply}
                yield '', history, ''
        except Exception as e:  # noqa: BLE001 (the page shows what went wrong; the chat goes on)
            yield '', history, f'⚠ {type(e).__name__}: {e}'
            return
        yield '', history, text('answered', lang, seconds=f'{time.time() - start:.1f}')

    def _settings(self, values) -> Dict[str, Any]:
        """The settings as swift infer parses them: a bad value is the CLI's message."""
        from swift.arguments import GenerationArguments
        from swift.utils.args import parse_args
        argv = [token for name, value in zip(SETTINGS, values) for token in (f'--{name}', str(value).strip() or 'none')]
        parsed = parse_args(GenerationArguments, argv)
        return {name: getattr(parsed, name) for name in SETTINGS}
