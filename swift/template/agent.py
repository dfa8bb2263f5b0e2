"""Agent templates (ms-swift's --agent_template): how tool definitions, tool calls and tool results are written
as plain chat text, for any chat template, and how a model's reply is read back as OpenAI tool calls.

    agent = get_agent_template('hermes')
    messages = agent.to_plain_messages(messages, tools)   # system + tools, calls as text, results as user turns
    content, calls = agent.parse(reply)                    # calls: [{'name': ..., 'arguments': {...}}]

A template with an agent template renders the plain messages (so a model whose official chat template has no
tool format, such as SmolLM2's, can be trained for tools); without one, a template's own tool format is used
(Qwen2.5/Qwen3 write Hermes' format, Llama 3.x and Mistral theirs) and TEMPLATE_TOOL_FORMATS says how to read it.

Tool results go into a user turn in every format here; ms-swift's react_en keeps an observation inside the
assistant turn instead (the model then continues the same turn). Training differs in this one respect only.
"""
import json
import re
from typing import Any, Dict, List, Optional, Tuple

from swift.utils import SwiftError, did_you_mean

Call = Dict[str, Any]  # {'name': str, 'arguments': dict or str}


def _arguments_json(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return json.dumps(arguments, ensure_ascii=False)
    return json.dumps(arguments, ensure_ascii=False)


def _function(tool: Dict[str, Any]) -> Dict[str, Any]:
    return tool.get('function', tool) if isinstance(tool, dict) else {'name': str(tool)}


def _loads(text: str) -> Optional[Any]:
    try:
        return json.loads(text)
    except ValueError:
        return None


class AgentTemplate:
    """The base: subclasses write tools (`tools_text`), calls (`calls_text`), results (`results_text`) and read
    calls back (`parse`). `call_marker` starts a call in a reply (streaming holds text back from there)."""
    name = 'base'
    call_marker: Optional[str] = None

    def tools_text(self, tools: List[Dict[str, Any]], system: Optional[str]) -> str:
        raise NotImplementedError

    def calls_text(self, calls: List[Call]) -> str:
        raise NotImplementedError

    def results_text(self, results: List[str]) -> str:
        raise NotImplementedError

    def parse(self, text: str, tools: Optional[List[Dict[str, Any]]] = None) -> Tuple[str, List[Call]]:
        raise NotImplementedError

    # ---- the conversion every format shares ----

    def to_plain_messages(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]],
                          default_system: Optional[str] = None) -> List[Dict[str, Any]]:
        """System (+ tool definitions), user and assistant messages only: calls written into the assistant's
        text, consecutive tool results joined into one user turn, consecutive call messages into one turn."""
        out: List[Dict[str, Any]] = []
        start = 0
        system = None
        if messages and messages[0]['role'] == 'system':
            system, start = messages[0].get('content') or '', 1
        if tools:  # the tool definitions join the system prompt (the template's default one when none is given)
            system = self.tools_text(tools, default_system if system is None else system)
        if system is not None:
            out.append({'role': 'system', 'content': system})
        pending_results: List[str] = []
        for message in messages[start:]:
            role = message['role']
            if role == 'tool':
                pending_results.append(message.get('content') or '')
                continue
            if pending_results:
                out.append({'role': 'user', 'content': self.results_text(pending_results)})
                pending_results = []
            if role == 'assistant' and message.get('tool_calls'):
                calls = [normalize_call(c) for c in message['tool_calls']]
                text = self.calls_text(calls)
                content = message.get('content') or ''
                merged = f'{content}\n{text}' if content else text
                if out and out[-1]['role'] == 'assistant' and out[-1].pop('_calls', False):  # parallel calls
                    out[-1]['content'] += '\n' + text
                    out[-1]['_calls'] = True
                    continue
                out.append({'role': 'assistant', 'content': merged, '_calls': True})
            else:
                out.append({k: v for k, v in message.items() if k != 'tool_calls'})
        if pending_results:
            out.append({'role': 'user', 'content': self.results_text(pending_results)})
        for message in out:
            message.pop('_calls', None)
        return out


def normalize_call(call: Any) -> Call:
    """An OpenAI tool call ({'function': {'name', 'arguments'}}) or a bare {'name', 'arguments'} → Call."""
    function = call.get('function', call) if isinstance(call, dict) else None
    if not isinstance(function, dict) or not function.get('name'):
        raise SwiftError(f'a tool call needs a function name, got {call!r:.80}')
    arguments = function.get('arguments', function.get('parameters', {}))
    if isinstance(arguments, str):
        parsed = _loads(arguments)
        arguments = parsed if parsed is not None else arguments
    return {'name': function['name'], 'arguments': arguments}


def _tool_lines(tools) -> str:
    return '\n'.join(json.dumps(tool if 'function' in tool else {'type': 'function', 'function': tool},
                                ensure_ascii=False) for tool in tools)


class Hermes(AgentTemplate):
    """NousResearch Hermes / Qwen2.5: <tool_call>{"name", "arguments"}</tool_call>, results in <tool_response>."""
    name = 'hermes'
    call_marker = '<tool_call>'
    _CALL = re.compile(r'<tool_call>\s*(.+?)\s*(?:</tool_call>|$)', re.DOTALL)

    def tools_text(self, tools, system):
        head = f'{system}\n\n' if system else ''
        return (head + '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n'
                'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n'
                + _tool_lines(tools) + '\n</tools>\n\nFor each function call, return a json object with function '
                'name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n'
                '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')

    def calls_text(self, calls):
        return '\n'.join('<tool_call>\n{"name": ' + json.dumps(c['name'], ensure_ascii=False) + ', "arguments": '
                         + _arguments_json(c['arguments']) + '}\n</tool_call>' for c in calls)

    def results_text(self, results):
        return '\n'.join(f'<tool_response>\n{r}\n</tool_response>' for r in results)

    def parse(self, text, tools=None):
        calls = []
        for match in self._CALL.finditer(text):
            value = _loads(match.group(1))
            if isinstance(value, dict) and value.get('name'):
                calls.append({'name': value['name'], 'arguments': value.get('arguments', {})})
        content = text.split(self.call_marker, 1)[0].strip() if calls else text
        return content, calls


class React(AgentTemplate):
    """ReAct: Thought / Action / Action Input / Observation / Final Answer."""
    name = 'react_en'
    call_marker = 'Action:'
    _CALL = re.compile(r'Action:\s*(.+?)\s*\nAction Input:\s*(.+?)\s*(?=\nObservation:|\nAction:|\nThought:|$)',
                       re.DOTALL)
    words = {'intro': 'Answer the following questions as best you can. You have access to the following tools:',
             'format': 'Use the following format:\n\nQuestion: the input question you must answer\nThought: you '
                       'should always think about what to do\nAction: the action to take, one of [{names}]\n'
                       'Action Input: the input to the action, a JSON object\nObservation: the result of the '
                       'action\n... (Thought/Action/Action Input/Observation can repeat)\nThought: I now know the '
                       'final answer\nFinal Answer: the final answer to the original question\n\nBegin!'}

    def tools_text(self, tools, system):
        lines = []
        for tool in tools:
            function = _function(tool)
            lines.append(f'{function.get("name")}: {function.get("description", "")} Parameters: '
                         f'{json.dumps(function.get("parameters", {}), ensure_ascii=False)}')
        names = ', '.join(str(_function(t).get('name')) for t in tools)
        head = f'{system}\n\n' if system else ''
        return head + self.words['intro'] + '\n\n' + '\n'.join(lines) + '\n\n' + self.words['format'].format(
            names=names)

    def calls_text(self, calls):
        return '\n'.join(f'Action: {c["name"]}\nAction Input: {_arguments_json(c["arguments"])}' for c in calls)

    def results_text(self, results):
        return '\n'.join(f'Observation: {r}' for r in results)

    def parse(self, text, tools=None):
        calls = []
        for match in self._CALL.finditer(text):
            arguments = _loads(match.group(2))
            calls.append({'name': match.group(1).strip(), 'arguments': arguments if arguments is not None
                          else match.group(2)})
        content = text.split(self.call_marker, 1)[0].strip() if calls else text
        return content, calls


class ReactZh(React):
    name = 'react_zh'
    words = {'intro': '尽你所能回答以下问题。你拥有如下工具：',
             'format': '以下格式回答：\n\nThought: 思考你应该做什么\nAction: 工具的名称，必须是[{names}]之一\n'
                       'Action Input: 工具的输入（JSON 对象）\nObservation: 工具返回的结果\n... '
                       '(Thought/Action/Action Input/Observation 可以重复)\nThought: 我现在知道最终答案了\n'
                       'Final Answer: 对原始问题的最终答案\n\n现在开始！'}


class Qwen(AgentTemplate):
    """Qwen-Agent's function-call prompt: ✿FUNCTION✿ / ✿ARGS✿ / ✿RESULT✿ / ✿RETURN✿."""
    name = 'qwen_en'
    call_marker = '✿FUNCTION✿'
    _CALL = re.compile(r'✿FUNCTION✿:\s*(.+?)\s*\n✿ARGS✿:\s*(.+?)\s*(?=\n✿|$)', re.DOTALL)
    intro = '# Tools\n\n## You have access to the following tools:'
    outro = ('## When you need to call a tool, please insert the following command in your reply, which can be '
             'called zero or multiple times according to your needs:\n\n✿FUNCTION✿: The tool to use, should be one '
             'of [{names}]\n✿ARGS✿: The input of the tool\n✿RESULT✿: Tool results\n✿RETURN✿: Reply based on '
             'tool results.')

    def tools_text(self, tools, system):
        blocks = []
        for tool in tools:
            function = _function(tool)
            blocks.append(f'### {function.get("name")}\n\n{function.get("name")}: {function.get("description", "")} '
                          f'Parameters: {json.dumps(function.get("parameters", {}), ensure_ascii=False)} '
                          'Format the arguments as a JSON object.')
        names = ','.join(str(_function(t).get('name')) for t in tools)
        head = f'{system}\n\n' if system else ''
        return head + self.intro + '\n\n' + '\n\n'.join(blocks) + '\n\n' + self.outro.format(names=names)

    def calls_text(self, calls):
        return '\n'.join(f'✿FUNCTION✿: {c["name"]}\n✿ARGS✿: {_arguments_json(c["arguments"])}' for c in calls)

    def results_text(self, results):
        return '\n'.join(f'✿RESULT✿: {r}' for r in results)

    def parse(self, text, tools=None):
        calls = []
        for match in self._CALL.finditer(text):
            arguments = _loads(match.group(2))
            calls.append({'name': match.group(1), 'arguments': arguments if arguments is not None else match.group(2)})
        content = text.split(self.call_marker, 1)[0].strip() if calls else text
        return content, calls


class QwenZh(Qwen):
    name = 'qwen_zh'
    intro = '# 工具\n\n## 你拥有如下工具：'
    outro = ('## 你可以在回复中插入零次、一次或多次以下命令以调用工具：\n\n✿FUNCTION✿: 工具名称，必须是[{names}]之一。\n'
             '✿ARGS✿: 工具输入\n✿RESULT✿: 工具结果\n✿RETURN✿: 根据工具结果进行回复')


class Glm4(AgentTemplate):
    """GLM-4: a call is the function's name on one line and its JSON arguments on the next."""
    name = 'glm4'

    def tools_text(self, tools, system):
        head = f'{system}\n\n' if system else ''
        blocks = [f'## {_function(t).get("name")}\n\n{json.dumps(_function(t), ensure_ascii=False, indent=4)}\n'
                  '在调用上述函数时，请使用 Json 格式表示调用的参数。' for t in tools]
        return head + '# 可用工具\n\n' + '\n\n'.join(blocks)

    def calls_text(self, calls):
        return '\n'.join(f'{c["name"]}\n{_arguments_json(c["arguments"])}' for c in calls)

    def results_text(self, results):
        return '\n'.join(results)

    def parse(self, text, tools=None):
        names = {str(_function(t).get('name')) for t in tools or []}
        lines = text.strip().split('\n', 1)
        if len(lines) == 2 and lines[0].strip() in names:
            arguments = _loads(lines[1].strip())
            if isinstance(arguments, dict):
                return '', [{'name': lines[0].strip(), 'arguments': arguments}]
        return text, []


class Llama3(AgentTemplate):
    """Llama 3.1+ JSON tool calling: {"name": ..., "parameters": {...}} as the whole reply."""
    name = 'llama3'
    call_marker = '{"name"'

    def tools_text(self, tools, system):
        head = f'{system}\n\n' if system else ''
        return (head + 'Given the following functions, please respond with a JSON for a function call with its '
                'proper arguments that best answers the given prompt.\n\nRespond in the format {"name": function '
                'name, "parameters": dictionary of argument name and its value}. Do not use variables.\n\n'
                + '\n\n'.join(json.dumps(t, ensure_ascii=False, indent=4) for t in tools))

    def calls_text(self, calls):
        return '\n'.join('{"name": ' + json.dumps(c['name'], ensure_ascii=False) + ', "parameters": '
                         + _arguments_json(c['arguments']) + '}' for c in calls)

    def results_text(self, results):
        return '\n'.join(results)

    def parse(self, text, tools=None):
        calls = []
        for line in text.strip().split('\n'):
            value = _loads(line.strip())
            if isinstance(value, dict) and value.get('name'):
                calls.append({'name': value['name'], 'arguments': value.get('parameters', value.get('arguments', {}))})
        return ('', calls) if calls else (text, [])


class Mistral(AgentTemplate):
    """Mistral: [AVAILABLE_TOOLS] / [TOOL_CALLS] [...] / [TOOL_RESULTS]."""
    name = 'mistral'
    call_marker = '[TOOL_CALLS]'

    def tools_text(self, tools, system):
        head = f'{system}\n\n' if system else ''
        return head + '[AVAILABLE_TOOLS]' + json.dumps(tools, ensure_ascii=False) + '[/AVAILABLE_TOOLS]'

    def calls_text(self, calls):
        return '[TOOL_CALLS]' + json.dumps([{'name': c['name'], 'arguments': _loads(_arguments_json(c['arguments']))}
                                            for c in calls], ensure_ascii=False)

    def results_text(self, results):
        return ''.join('[TOOL_RESULTS]' + json.dumps({'content': r}, ensure_ascii=False) + '[/TOOL_RESULTS]'
                       for r in results)

    def parse(self, text, tools=None):
        if self.call_marker not in text:
            return text, []
        content, rest = text.split(self.call_marker, 1)
        value = _loads(rest.strip())
        if isinstance(value, dict):
            value = [value]
        calls = [{'name': v['name'], 'arguments': v.get('arguments', {})} for v in value or []
                 if isinstance(v, dict) and v.get('name')]
        return (content.strip(), calls) if calls else (text, [])


AGENT_TEMPLATES = {cls.name: cls for cls in (Hermes, React, ReactZh, Qwen, QwenZh, Glm4, Llama3, Mistral)}
# the tool-call format the official chat templates of our families ask the model for (to read replies back)
TEMPLATE_TOOL_FORMATS = {'qwen2_5': 'hermes', 'qwen3': 'hermes', 'qwen3_thinking': 'hermes', 'qwq': 'hermes',
                         'llama3_2': 'llama3', 'mistral_v3': 'mistral', 'mistral_nemo': 'mistral'}


def get_agent_template(name: str) -> AgentTemplate:
    if name not in AGENT_TEMPLATES:
        raise SwiftError(f'--agent_template {name!r} is not one of {", ".join(AGENT_TEMPLATES)}.'
                         f'{did_you_mean(name, AGENT_TEMPLATES)}')
    return AGENT_TEMPLATES[name]()


def tool_parser_for(template) -> Optional[AgentTemplate]:
    """The format to read a reply's tool calls in: the template's agent template, or its family's own format."""
    if getattr(template, 'agent_template', None) is not None:
        return template.agent_template
    name = TEMPLATE_TOOL_FORMATS.get(getattr(template, 'name', None))
    return get_agent_template(name) if name else None
