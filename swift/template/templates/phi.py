"""Phi-3 (mini, small, medium), Phi-3.5 and Phi-4 (plain, mini, reasoning)."""
from swift.utils import get_logger

from ..base import Chat, Template, TemplateMeta
from ..registry import register_template

logger = get_logger()

PHI4_REASONING_SYSTEM = (
    'You are Phi, a language model trained by Microsoft to help users. Your role as an assistant involves thoroughly '
    'exploring questions through a systematic thinking process before providing the final precise and accurate '
    'solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, '
    'reflection, backtracing, and iteration to develop well-considered thinking process. Please structure your '
    'response into two main sections: Thought and Solution using the specified format: <think> {Thought section} '
    '</think> {Solution section}. In the Thought section, detail your reasoning process in steps. Each step should '
    'include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new '
    'ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the '
    'Solution section, based on various attempts, explorations, and reflections from the Thought section, '
    'systematically present the final solution that you deem correct. The Solution section should be logical, '
    'accurate, and concise and detail necessary steps needed to reach the conclusion. Now, try to solve the following '
    'question through the above guidelines:')


class Phi4ReasoningTemplate(Template):
    """Phi-4-reasoning's official template always writes its own system prompt and ignores system messages.

    We do the same (with a warning); default_system= still replaces that prompt.
    """

    def _leading_system(self, chat: Chat):
        if any(m['role'] == 'system' for m in chat.messages):
            logger.warning("template 'phi4_reasoning': the official chat template ignores system messages; "
                           'pass default_system to replace its built-in system prompt')
        return self.default_system, 0  # later system messages render as system_turn='' (nothing)


PHI3 = dict(
    system_prefix='<|system|>\n{{SYSTEM}}<|end|>\n',
    system_turn='<|system|>\n{{SYSTEM}}<|end|>\n',
    prompt='<|user|>\n{{QUERY}}<|end|>\n',
    response='<|assistant|>\n{{RESPONSE}}<|end|>',
    chat_sep='\n',
    suffix='<|endoftext|>',
    stop_words=['<|end|>', '<|endoftext|>'],
)
PHI4 = dict(
    system_prefix='<|im_start|>system<|im_sep|>{{SYSTEM}}<|im_end|>',
    system_turn='<|im_start|>system<|im_sep|>{{SYSTEM}}<|im_end|>',
    prompt='<|im_start|>user<|im_sep|>{{QUERY}}<|im_end|>',
    response='<|im_start|>assistant<|im_sep|>{{RESPONSE}}<|im_end|>',
    stop_words=['<|im_end|>', '<|endoftext|>'],
)

register_template(TemplateMeta(name='phi3', **PHI3, description='Phi-3-mini (2024-07), Phi-3.5-mini instruct'))
register_template(
    TemplateMeta(
        name='phi3_small',
        **{**PHI3, 'prefix': '<|endoftext|>', 'system_prefix': '<|endoftext|><|system|>\n{{SYSTEM}}<|end|>\n',
           'tool_prompt': '<|tool|>\n{{QUERY}}<|end|>\n'},
        description='Phi-3-small instruct (BOS <|endoftext|>)'))
register_template(
    TemplateMeta(
        name='phi3_medium',
        prompt='<|user|>\n{{QUERY}}<|end|>\n<|assistant|>\n',
        response='{{RESPONSE}}<|end|>',
        generation_prompt='',
        chat_sep='\n',
        stop_words=['<|end|>', '<|endoftext|>'],
        description='Phi-3-medium instruct (no system role; every user turn opens the answer)'))
register_template(TemplateMeta(name='phi4', **PHI4, description='Phi-4 (14B)'))
register_template(
    TemplateMeta(
        name='phi4_mini',
        system_prefix='<|system|>{{SYSTEM}}<|end|>',
        system_turn='<|system|>{{SYSTEM}}<|end|>',
        prompt='<|user|>{{QUERY}}<|end|>',
        response='<|assistant|>{{RESPONSE}}<|end|>',
        suffix='<|endoftext|>',
        stop_words=['<|end|>', '<|endoftext|>'],
        description='Phi-4-mini instruct'))
register_template(
    TemplateMeta(
        name='phi4_reasoning',
        **{**PHI4, 'system_turn': ''},
        default_system=PHI4_REASONING_SYSTEM,
        template_cls=Phi4ReasoningTemplate,
        description='Phi-4-reasoning (fixed system prompt; answers think in <think>)'))
