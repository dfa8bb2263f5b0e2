"""`swift export --to_ollama`: a Modelfile whose TEMPLATE is a Go text/template that renders like swift's template.

Ollama renders prompts with Go's text/template over `.Messages` (each with `.Role` and `.Content`). It puts
the Modelfile's SYSTEM in front as a system message when a request has none, and when the last message
is the assistant's it continues that message instead of starting a new turn. So, for a declarative swift
template (a TemplateMeta), the Go template written here renders:
  - a conversation ending in a user/tool/system message as swift does with add_generation_prompt=True;
  - one ending in an assistant message as swift renders the messages before it, with the generation
    prompt, followed by the assistant's text (a prefill: no end-of-turn, the model continues).
The default system prompt goes to SYSTEM; stop words to PARAMETER stop.

What Go's text/template cannot do is refused with the construct named: trimming message contents
(`| trim` in the Jinja; Go's builtins and Ollama's functions have no trim), and templates written as
Python code (tools, thinking, dates), for which no Go program is generated.
"""
import json
from dataclasses import dataclass
from typing import List, Optional

from swift.template.base import _SLOT_RE, Template
from swift.utils import SwiftError


@dataclass
class Modelfile:
    template: str  # the Go template
    system: Optional[str]
    stop: List[str]

    def text(self, gguf_path: str) -> str:
        lines = [f'FROM {gguf_path}', f'TEMPLATE """{_triple_quoted(self.template, "TEMPLATE")}"""']
        if self.system is not None:
            lines.append(f'SYSTEM """{_triple_quoted(self.system, "SYSTEM")}"""')
        lines += [f'PARAMETER stop {json.dumps(word, ensure_ascii=False)}' for word in self.stop]
        return '\n'.join(lines) + '\n'


def modelfile_for(template: Template, tokenizer=None) -> Modelfile:
    return Modelfile(go_template_for(template), template.default_system, list(template.stop_words))


def go_template_for(template: Template) -> str:
    """The Go text/template equivalent of a declarative swift template, or a SwiftError naming what has none."""
    if type(template) is not Template:
        raise SwiftError(f'--to_ollama: template {template.name!r} is written as Python code '
                         f'({type(template).__name__}: tools, thinking or dates), which has no Go text/template '
                         'equivalent generated here. Use an Ollama library template for the family, or a '
                         'declarative --template.')
    if template.meta.strip_content:
        raise SwiftError(f'--to_ollama: template {template.name!r} trims message contents (Jinja `| trim`); Go\'s '
                         'text/template and Ollama\'s template functions have no trim, so no Go template renders '
                         'it the same.')
    return _GoWriter(template).write()


class _GoWriter:
    """Writes the Go program; every literal is printed as a Go string ({{- "..." }}) so layout whitespace,
    which the `{{-` markers trim, never reaches the prompt."""

    def __init__(self, template: Template):
        self.meta = template.meta
        self.lines: List[str] = []

    def write(self) -> str:
        meta = self.meta
        self._stmt('$system := ""')
        self._stmt('$hasSystem := false')
        self._stmt('$start := 0')
        self._stmt('if and .Messages (eq (index .Messages 0).Role "system")')
        self._stmt('$system = (index .Messages 0).Content')
        self._stmt('$hasSystem = true')
        self._stmt('$start = 1')
        self._stmt('end')
        self._stmt('$pending := false')  # the system prompt still to be merged into the first user message
        if meta.system_prefix is not None:
            self._stmt('if $hasSystem')
            self._out(meta.system_prefix, SYSTEM='$system')
            self._stmt('else')
            self._out(meta.prefix)
            self._stmt('end')
        else:
            self._out(meta.prefix)
            if meta.system_in_user is not None:
                self._stmt('$pending = $hasSystem')
        self._stmt('$lastRole := ""')
        self._stmt('range $i, $m := .Messages')
        self._stmt('if ge $i $start')
        self._stmt('$last := eq (len (slice $.Messages $i)) 1')
        self._stmt('$lastRole = $m.Role')
        self._user_turn()
        self._assistant_turn()
        self._other_turn('tool', meta.tool_prompt, 'QUERY')
        self._other_turn('system', meta.system_turn, 'SYSTEM')
        self._stmt('end')  # if/else if chain of roles
        self._stmt('end')  # if ge $i $start
        self._stmt('end')  # range
        self._stmt('if ne $lastRole "assistant"')
        self._out(meta.generation_prompt)
        self._stmt('end')
        return '\n'.join(self.lines)

    def _user_turn(self) -> None:
        meta = self.meta
        self._stmt('if eq $m.Role "user"')
        before, after = meta.prompt.split('{{QUERY}}') if '{{QUERY}}' in meta.prompt else (meta.prompt, None)
        self._out(before)
        if after is not None:
            if meta.system_in_user is not None:
                self._stmt('if $pending')
                self._out(meta.system_in_user, SYSTEM='$system', QUERY='$m.Content')
                self._stmt('else')
                self._print('$m.Content')
                self._stmt('end')
                self._stmt('$pending = false')
            else:
                self._print('$m.Content')
            self._out(after)

    def _assistant_turn(self) -> None:
        meta = self.meta
        head, tail = meta.response.split('{{RESPONSE}}')
        self._stmt('else if eq $m.Role "assistant"')
        self._stmt('if $last')  # continued by the model: the generation prompt, then the text so far
        self._out(meta.generation_prompt)
        self._print('$m.Content')
        self._stmt('else')
        self._out(head)
        self._print('$m.Content')
        self._out(tail)
        self._out(meta.chat_sep)
        self._stmt('end')

    def _other_turn(self, role: str, pattern: Optional[str], slot: str) -> None:
        if pattern is None:
            return  # a role the template does not support renders nothing (Go templates cannot raise)
        self._stmt(f'else if eq $m.Role "{role}"')
        self._out(pattern, **{slot: '$m.Content'})

    # ---- writing ----
    def _out(self, pattern: str, **slots: str) -> None:
        """Print a pattern: literal pieces as Go strings, {{SLOT}}s as the given Go expressions."""
        position = 0
        for match in _SLOT_RE.finditer(pattern):
            self._literal(pattern[position:match.start()])
            self._print(slots[match.group(1)])
            position = match.end()
        self._literal(pattern[position:])

    def _literal(self, text: str) -> None:
        if text:
            self._print(_go_string(text))

    def _print(self, expression: str) -> None:
        self.lines.append('{{- ' + expression + ' -}}')

    def _stmt(self, statement: str) -> None:
        self.lines.append('{{- ' + statement + ' -}}')


def _go_string(text: str) -> str:
    """A Go interpreted string literal. JSON's escapes (\\n, \\", \\\\, \\uXXXX) are all valid Go escapes."""
    return json.dumps(text, ensure_ascii=False)


def _triple_quoted(text: str, what: str) -> str:
    if '"""' in text:
        raise SwiftError(f'--to_ollama: the {what} contains """, which ends a Modelfile block; '
                         'no Modelfile can hold it')
    return text
