"""A chat panel: system prompt, generation settings (swift infer's fields, with their defaults and help),
the conversation streamed as it is generated, an image upload for models that take images, and a button that
clears it. Used by the web UI's Infer tab and by `swift app`."""
import time
from typing import Any, Callable, Dict, Optional

import gradio as gr

from swift.utils import SwiftError

from .chat import SETTINGS, chat_request
from .forms import FormSpec, field_label
from .i18n import Labels, request_lang, text


class ChatView:
    """`backend()` gives the current chat backend (None: nothing loaded yet)."""

    def __init__(self, labels: Labels, backend: Callable[[], Any], fixed_lang: Optional[str], prefix: str,
                 defaults: Optional[Dict[str, Any]] = None, system: str = '', images: bool = False):
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
                                                     label=field_label(spec), info=labels.help(spec.help),
                                                     elem_id=f'{prefix}-{name}')
        self.chatbot = gr.Chatbot(label=labels('chat'), elem_id=f'{prefix}-chatbot', height=360)
        # Shown only for a model that takes images (png: the pixels reach the model as uploaded, not re-encoded)
        self.image = gr.Image(type='filepath', format='png', sources=['upload', 'clipboard'], label=labels('image'),
                              visible=images, height=160, elem_id=f'{prefix}-image')
        with gr.Row():
            self.message = gr.Textbox(label=labels('message'), scale=5, elem_id=f'{prefix}-message')
            self.send = gr.Button(labels('send'), variant='primary', scale=1, elem_id=f'{prefix}-send')
            self.clear = gr.Button(labels('clear'), scale=1, elem_id=f'{prefix}-clear')
        self.status = gr.Markdown(elem_id=f'{prefix}-answer-status')  # errors, or how long the answer took
        inputs = {self.message, self.chatbot, self.system, self.image, *self.settings.values()}
        outputs = [self.message, self.chatbot, self.status, self.image]
        self.send.click(self.answer, inputs=inputs, outputs=outputs)
        self.message.submit(self.answer, inputs=inputs, outputs=outputs)
        self.clear.click(lambda: ([], '', None), outputs=[self.chatbot, self.status, self.image])

    def answer(self, data: Dict[Any, Any], request: gr.Request):
        """Stream the answer into the chat: the user's turn at once, then the reply as it grows."""
        lang = request_lang(request, self.fixed_lang)
        query, system, image = data[self.message], data[self.system], data[self.image]
        history = list(data[self.chatbot] or [])
        settings = [data[component] for component in self.settings.values()]
        backend = self.backend()
        keep = gr.skip()  # the image stays in the upload box until its turn is sent
        if backend is None:
            yield query, history, text('not_loaded', lang), keep
            return
        if not query or not query.strip():
            yield '', history, '', keep
            return
        if image and getattr(backend, 'multimodal', None) is False:
            yield query, history, text('text_only', lang), None  # refused before anything is sent
            return
        try:
            values = self._settings(settings)
        except SwiftError as e:
            yield query, history, f'⚠ {e}', keep
            return
        messages, images = chat_request(system, history, query, image)
        turn = [{'path': image}, query] if image else query
        history = history + [{'role': 'user', 'content': turn}, {'role': 'assistant', 'content': ''}]
        yield '', history, '', None
        start = time.time()
        try:
            for reply in backend.stream(messages, values, images):
                history[-1] = {'role': 'assistant', 'content': reply}
                yield '', history, '', keep
        except Exception as e:  # noqa: BLE001 (the page shows what went wrong; the chat goes on)
            yield '', history, f'⚠ {type(e).__name__}: {e}', keep
            return
        yield '', history, text('answered', lang, seconds=f'{time.time() - start:.1f}'), keep

    def image_update(self, backend: Any):
        """The upload box for a newly loaded model: shown when it takes images, hidden (and emptied) when not."""
        shown = backend is not None and getattr(backend, 'multimodal', None) is not False
        return gr.update(visible=shown, value=None)

    def _settings(self, values) -> Dict[str, Any]:
        """The settings as swift infer parses them: a bad value is the CLI's message."""
        from swift.arguments import GenerationArguments
        from swift.utils.args import parse_args
        argv = [token for name, value in zip(SETTINGS, values) for token in (f'--{name}', str(value).strip() or 'none')]
        parsed = parse_args(GenerationArguments, argv)
        return {name: getattr(parsed, name) for name in SETTINGS}
