"""One command's form on the page: a component per field (labelled with its flag), the command line it runs,
the CLI's errors next to the fields they name, and a Launch button that starts the command as a job."""
from typing import Any, Callable, Dict, Optional

import gradio as gr

from swift.utils import SwiftError

from .forms import GENERAL, FieldSpec, FormSpec, field_label
from .i18n import Labels, help_text, request_lang, text
from .jobs import JobStore

ERROR_CLASS = 'swift-field-error'
CSS = f""".{ERROR_CLASS} {{ border: 2px solid #d33 !important; border-radius: 6px; }}
.{ERROR_CLASS} [data-testid="block-info"], .{ERROR_CLASS} .info {{ color: #d33 !important; font-weight: 600; }}
"""


def _component(spec: FieldSpec, elem_id: str, info):
    """A field's input, labelled with its flag; `info` is its help in the page's language."""
    label = field_label(spec)
    if spec.kind == 'bool':
        return gr.Checkbox(value=spec.default, label=label, info=info, elem_id=elem_id)
    if spec.kind == 'tristate':
        return gr.Dropdown(choices=['', 'true', 'false'], value=spec.default, label=label, info=info,
                           elem_id=elem_id)
    return gr.Textbox(value=spec.default, label=label, info=info, lines=1, max_lines=4, elem_id=elem_id)


class FormView:
    """Renders a FormSpec inside the current Blocks context; `values` of a submit → argv, errors, launch."""

    def __init__(self, form: FormSpec, labels: Labels, store: JobStore, fixed_lang: Optional[str],
                 on_launch: Optional[Callable[[str], Any]] = None):
        self.form = form
        self.store = store
        self.fixed_lang = fixed_lang
        prefix = form.command
        self.components: Dict[str, Any] = {}
        with gr.Column():
            for name in form.primary:
                self.components[name] = _component(form.fields[name], f'{prefix}-{name}', labels.help(form.fields[name].help))
            for title, specs in form.groups():
                heading = f'{labels.group(title)} ({labels("advanced")})' if labels.lang else labels.group(title)
                with gr.Accordion(heading, open=False):
                    for spec in specs:
                        self.components[spec.name] = _component(spec, f'{prefix}-{spec.name}', labels.help(spec.help))
            self.command = gr.Code(value=form.command_line([]), label=labels('command'), language='shell',
                                   interactive=False, elem_id=f'{prefix}-command')
            self.message = gr.Markdown(elem_id=f'{prefix}-message')
            with gr.Row():
                self.check_button = gr.Button(labels('check'), elem_id=f'{prefix}-check')
                self.launch_button = gr.Button(labels('launch'), variant='primary', elem_id=f'{prefix}-launch')
        self.shown_errors = gr.State({})
        inputs = {*self.components.values(), self.shown_errors}
        outputs = [self.command, self.message, self.shown_errors, *self.components.values()]
        triggers = [c.change for c in self.components.values()] + [self.check_button.click]
        gr.on(triggers, self._check, inputs=inputs, outputs=outputs, show_progress='hidden')
        event = self.launch_button.click(self._launch, inputs=inputs, outputs=outputs)
        if on_launch is not None:
            event.then(on_launch)

    def _values(self, data: Dict[Any, Any]) -> Dict[str, Any]:
        return {name: data[component] for name, component in self.components.items()}

    def _field_updates(self, errors: Dict[str, str], shown: Dict[str, str], lang: str):
        """An update for each field whose error appeared, changed or went away; the others stay as they are."""
        updates = []
        for name, component in self.components.items():
            if errors.get(name) == shown.get(name):
                updates.append(gr.skip())
            elif name in errors:
                updates.append(gr.update(info=f'⚠ {errors[name]}', elem_classes=[ERROR_CLASS]))
            else:
                updates.append(gr.update(info=help_text(self.form.fields[name].help, lang), elem_classes=[]))
        return updates

    def _evaluate(self, data):
        try:
            argv = self.form.argv(self._values(data))
        except SwiftError as e:
            return None, {GENERAL: str(e)}
        return argv, self.form.errors(argv)

    def _result(self, argv, errors, data, message: str, lang: str):
        shown = {k: v for k, v in errors.items() if k != GENERAL}
        command = self.form.command_line(argv) if argv is not None else gr.skip()
        if errors.get(GENERAL):
            message = f'{message}\n\n```\n{errors[GENERAL]}\n```'
        return (command, message, shown, *self._field_updates(shown, data[self.shown_errors], lang))

    def _check(self, data, request: gr.Request):
        lang = request_lang(request, self.fixed_lang)
        argv, errors = self._evaluate(data)
        return self._result(argv, errors, data, text('form_errors' if errors else 'form_ok', lang), lang)

    def _launch(self, data, request: gr.Request):
        lang = request_lang(request, self.fixed_lang)
        argv, errors = self._evaluate(data)
        if errors:
            return self._result(argv, errors, data, text('form_errors', lang), lang)
        job = self.store.launch(self.form.command, argv)
        return self._result(argv, errors, data, text('launched', lang, job=job.id), lang)


def install_css() -> str:
    return CSS
