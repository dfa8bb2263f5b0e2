"""Arguments of the interactive front ends: `swift web-ui`, `swift app` and `swift menu`."""
from dataclasses import dataclass, field
from typing import List, Optional

from swift.utils import SwiftError

from .base import BaseArguments, check_choice, check_range
from .generation import GenerationArguments
from .model import AdapterArguments, ModelArguments
from .template import TemplateArguments

UI_LANGUAGES = ('en', 'zh')
LOOPBACK_NAMES = ('127.0.0.1', 'localhost', '::1')


@dataclass
class ServerUIArguments(BaseArguments):
    """Where a Gradio page listens and who may open it."""
    GROUP_TITLE = 'page'

    server_name: str = field(default='127.0.0.1', metadata={'help': 'address to listen on (0.0.0.0: every interface; '
                                                                     'use --auth then)'})
    server_port: Optional[int] = field(default=None, metadata={'help': 'port (default 7860, or the next free one)'})
    lang: Optional[str] = field(default=None, metadata={'help': 'en | zh (default: the browser\'s language)'})
    share: bool = field(default=False, metadata={'help': 'also publish a temporary public gradio.live link'})
    auth: Optional[str] = field(default=None, metadata={'help': 'user:password required to open the page'})

    def __post_init__(self):
        super().__post_init__()
        if self.lang is not None:
            check_choice('lang', self.lang, UI_LANGUAGES)
        check_range('server_port', self.server_port, 0, 65535)
        if self.auth is not None and (':' not in self.auth or not self.auth.split(':', 1)[0]):
            raise SwiftError('--auth must be user:password, e.g. --auth admin:s3cret')

    @property
    def auth_pair(self):
        return tuple(self.auth.split(':', 1)) if self.auth else None

    @property
    def exposed_without_auth(self) -> bool:
        """Listening beyond this machine (or publicly shared) with no password: anyone reaching it can run jobs."""
        return (self.share or self.server_name not in LOOPBACK_NAMES) and not self.auth


@dataclass
class WebUIArguments(ServerUIArguments):
    """`swift web-ui`: one tab per stage; jobs run as detached swift processes."""
    GROUP_TITLE = 'swift web-ui'

    jobs_dir: Optional[str] = field(default=None, metadata={'help': 'where jobs keep their command, log and status '
                                                                     '(default <swift cache>/web-ui/jobs)'})


@dataclass
class AppArguments(ServerUIArguments, GenerationArguments, AdapterArguments, TemplateArguments, ModelArguments):
    """`swift app`: a chat page for one model, on a local engine or an OpenAI-compatible server."""
    GROUP_TITLE = 'swift app'

    base_url: Optional[str] = field(default=None, metadata={'help': 'an OpenAI-compatible server '
                                                                     '(http://host:port/v1) instead of a local engine'})
    api_key: Optional[str] = field(default=None, metadata={'help': 'the server\'s key (with --base_url)'})
    studio_title: Optional[str] = field(default=None, metadata={'help': 'the page\'s title (default: the model)'})
    stream: bool = field(default=True, metadata={'help': 'show the answer while it is generated'})

    def __post_init__(self):
        super().__post_init__()
        if not self.model and not self.adapters:
            self.require_model(', or --adapters a swift checkpoint')
        if self.base_url and self.adapters:
            raise SwiftError('--adapters load on a local engine; with --base_url the server chooses the weights')


@dataclass
class MenuArguments(BaseArguments):
    """`swift menu`: the one-click flow in a terminal."""
    GROUP_TITLE = 'swift menu'

    yes: bool = field(default=False, metadata={'help': 'take every default without asking (embedded model, '
                                                       'self-cognition LoRA, one chat turn)'})
    model: Optional[str] = field(default=None, metadata={'help': 'the model to propose first (default: the '
                                                                 'embedded one)'})
    work_dir: str = field(default='swift-menu', metadata={'help': 'where the runs and exports go'})
    max_steps: int = field(default=16, metadata={'help': 'training steps of the default run (16: one pass over '
                                                         'the 240 self-cognition rows, packed)'})
    model_name: List[str] = field(default_factory=lambda: ['Swifty'], metadata={
        'help': 'the name the model learns in self-cognition training'})
    model_author: List[str] = field(default_factory=lambda: ['the swift menu'], metadata={
        'help': 'the author the model learns in self-cognition training'})

    def __post_init__(self):
        super().__post_init__()
        check_range('max_steps', self.max_steps, low=1)
