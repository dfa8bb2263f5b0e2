"""`swift web-ui`: one tab per stage (Train, RLHF, Infer, Deploy, Eval, Export) and the Jobs tab.

    demo = build_web_ui(JobStore(jobs_dir), lang=None)     # the page (Gradio Blocks)
    web_ui_main(['--server_port', '7860', '--lang', 'zh'])  # what the command runs

Forms come from the commands' arguments classes (swift.ui.forms); launched commands are detached jobs
(swift.ui.jobs); the Infer tab chats in this process with swift infer's engine.
"""
import sys
import threading
from typing import List, Optional, Sequence

import gradio as gr

from swift.arguments.ui import WebUIArguments
from swift.utils import SwiftError, get_logger
from swift.utils.args import parse_args

from .chat import LocalChat
from .chat_view import ChatView
from .form_view import CSS, FormView
from .forms import FormSpec
from .i18n import Labels, request_lang, text
from .jobs import FINISHED, JobStore
from .jobs_view import JobsView

logger = get_logger()


class InferPanel:
    """The Infer tab: a model or a finished job's checkpoint, loaded once, then chatted with."""

    def __init__(self, labels: Labels, store: JobStore, fixed_lang: Optional[str]):
        self.store = store
        self.fixed_lang = fixed_lang
        self.backend: Optional[LocalChat] = None
        self.lock = threading.Lock()  # one model at a time: a second Load waits, then replaces it
        with gr.Row():
            self.checkpoint = gr.Dropdown(choices=[], label=labels('checkpoint'), allow_custom_value=True,
                                          elem_id='infer-checkpoint', scale=3)
            self.model = gr.Textbox(label=labels('model'), elem_id='infer-model', scale=3)
            self.refresh_button = gr.Button(labels('refresh'), elem_id='infer-refresh', scale=1)
            self.load_button = gr.Button(labels('load'), variant='primary', elem_id='infer-load', scale=1)
        self.status = gr.Markdown(elem_id='infer-status')
        self.chat = ChatView(labels, lambda: self.backend, fixed_lang, 'infer')
        self.refresh_button.click(self.checkpoints, outputs=[self.checkpoint])
        self.load_button.click(self.load, inputs=[self.checkpoint, self.model], outputs=[self.status, self.chat.image])

    def checkpoints(self):
        """Every checkpoint of every finished job, newest job first."""
        found = [str(ckpt) for job in self.store.jobs() if job.status() == FINISHED
                 for ckpt in reversed(job.checkpoints())]
        return gr.update(choices=found, value=found[0] if found else None)

    def load(self, checkpoint: Optional[str], model: Optional[str], request: gr.Request):
        lang = request_lang(request, self.fixed_lang)
        argv: List[str] = []
        if model and model.strip():
            argv += ['--model', model.strip()]
        if checkpoint and checkpoint.strip():
            argv += ['--adapters', checkpoint.strip()]
        what = ' + '.join(a for a in (model, checkpoint) if a and a.strip()) or '?'
        try:
            with self.lock:
                if self.backend is not None:
                    self.backend.close()
                    self.backend = None
                self.backend = LocalChat.load(argv)
        except SwiftError as e:
            return f'⚠ {e}', self.chat.image_update(None)
        kind = text('takes_images' if self.backend.multimodal else 'text_only_note', lang)
        return f"{text('loaded', lang, what=what)} {kind}", self.chat.image_update(self.backend)


def build_web_ui(store: JobStore, lang: Optional[str] = None) -> gr.Blocks:
    labels = Labels(lang)
    with gr.Blocks(title='swift web-ui') as demo:
        gr.Markdown(f'## {labels("title")}' if lang else '## swift web-ui')
        gr.Markdown(labels('intro'))
        with gr.Tabs():
            with gr.Tab(labels('tab_train'), id='train', elem_id='tab-train'):
                with gr.Tabs():
                    for command in ('sft', 'pt'):
                        with gr.Tab(labels(f'sub_{command}'), id=command, elem_id=f'tab-{command}'):
                            FormView(FormSpec(command), labels, store, lang)
            with gr.Tab(labels('tab_rlhf'), id='rlhf', elem_id='tab-rlhf'):
                FormView(FormSpec('rlhf'), labels, store, lang)
            with gr.Tab(labels('tab_infer'), id='infer', elem_id='tab-infer'):
                infer = InferPanel(labels, store, lang)
            for command in ('deploy', 'eval', 'export'):
                with gr.Tab(labels(f'tab_{command}'), id=command, elem_id=f'tab-{command}'):
                    FormView(FormSpec(command), labels, store, lang)
            with gr.Tab(labels('tab_jobs'), id='jobs', elem_id='tab-jobs'):
                JobsView(labels, store, lang)
        demo.load(infer.checkpoints, outputs=[infer.checkpoint])
    demo.swift_labels = labels
    return demo


def launch_page(demo: gr.Blocks, args, labels: Labels, block: bool = True):
    """Serve a page as the arguments say (loopback by default; a warning when others can reach it unprotected)."""
    if args.exposed_without_auth:
        where = 'a public gradio.live link' if args.share else args.server_name
        logger.warning(f'the page is reachable from {where} without a password: anyone who reaches it can start '
                       'jobs and read your files through them. Pass --auth user:password.')
    return demo.launch(server_name=args.server_name, server_port=args.server_port, share=args.share,
                       auth=args.auth_pair, i18n=labels.i18n, css=CSS, prevent_thread_lock=not block,
                       inbrowser=False, quiet=False, footer_links=['gradio'])


def web_ui_main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(WebUIArguments, list(argv if argv is not None else sys.argv[1:]))
    store = JobStore(args.jobs_dir)
    logger.info(f'jobs are kept in {store.root}')
    demo = build_web_ui(store, args.lang)
    launch_page(demo, args, demo.swift_labels)
    return 0

