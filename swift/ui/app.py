"""`swift app --model M [--adapters ckpt] [--base_url http://host:port/v1] [--studio_title T]`: a chat page
for one model, on swift infer's engine in this process, or on an OpenAI-compatible server (swift deploy's)."""
import sys
from typing import Optional, Sequence

import gradio as gr

from swift.arguments.ui import AppArguments
from swift.utils import get_logger
from swift.utils.args import parse_args

from .chat import SETTINGS, LocalChat, ServerChat
from .chat_view import ChatView
from .i18n import Labels
from .web_ui import launch_page

logger = get_logger()


def load_backend(args: AppArguments):
    if args.base_url:
        return ServerChat(args.base_url, args.api_key, args.model)
    argv = ['--model', args.model] if args.model else []
    argv += ['--adapters', *args.adapters] if args.adapters else []
    for flag in ('template', 'max_length', 'torch_dtype', 'model_type', 'revision', 'attn_impl'):
        value = getattr(args, flag)
        if value not in (None, 'auto'):
            argv += [f'--{flag}', str(value)]
    for flag in ('use_hf', 'offline', 'trust_remote_code'):
        if getattr(args, flag):
            argv += [f'--{flag}', 'true']
    return LocalChat.load(argv)


def build_app(args: AppArguments, backend) -> gr.Blocks:
    labels = Labels(args.lang)
    title = args.studio_title or args.model or (args.adapters[0] if args.adapters else 'swift app')
    with gr.Blocks(title=title) as demo:
        gr.Markdown(f'## {title}', elem_id='app-title')
        takes_images = backend.multimodal is not False  # a server: unknown, it answers for itself
        ChatView(labels, lambda: backend, args.lang, 'app', defaults={k: getattr(args, k) for k in SETTINGS},
                 system=args.system or '', images=takes_images)
        if not takes_images:
            gr.Markdown(labels('text_only_note'), elem_id='app-modality')
    demo.swift_labels = labels
    return demo


def app_main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(AppArguments, list(argv if argv is not None else sys.argv[1:]))
    backend = load_backend(args)
    demo = build_app(args, backend)
    try:
        launch_page(demo, args, demo.swift_labels)
    finally:
        backend.close()
    return 0
