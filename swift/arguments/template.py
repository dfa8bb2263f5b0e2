"""How conversations become text: the template group of every command that encodes them."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from swift.utils import SwiftError

from .base import ArgumentGroup, check_range


@dataclass
class TemplateArguments(ArgumentGroup):
    GROUP_TITLE = 'template'

    template: Optional[str] = field(default=None, metadata={'help': 'template name (default: the model\'s own)'})
    system: Optional[str] = field(default=None, metadata={
        'help': 'system prompt, or a .txt file holding it (default: the template\'s); \\n in the text is a newline'})
    max_length: Optional[int] = field(default=None, metadata={'help': 'max tokens per sample'})

    def __post_init__(self):
        super().__post_init__()
        check_range('max_length', self.max_length, low=1)
        if self.system is not None and not self.system.endswith('.txt'):
            self.system = self.system.replace('\\n', '\n')  # as ms-swift: a shell cannot easily pass a newline

    def read_system_file(self) -> None:
        """--system path/to/file.txt: the file's text is the system prompt, as in ms-swift. Each stage's checks
        call this (parsing reads no files)."""
        if self.system is None or not self.system.endswith('.txt'):
            return
        path = Path(self.system).expanduser()
        if not path.is_file():
            raise SwiftError(f'--system {self.system}: a value ending in .txt is read as a file holding the system '
                             'prompt (as in ms-swift), and there is no such file')
        try:
            self.system = path.read_text(encoding='utf-8')
        except UnicodeDecodeError as e:
            raise SwiftError(f'--system {self.system}: not UTF-8 text ({e.reason} at byte {e.start})') from None
