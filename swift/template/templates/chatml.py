"""ChatML and the families that use it unchanged: <|im_start|>role\\ncontent<|im_end|>\\n."""
from ..base import TemplateMeta
from ..registry import register_template

CHATML = dict(
    system_prefix='<|im_start|>system\n{{SYSTEM}}<|im_end|>\n',
    system_turn='<|im_start|>system\n{{SYSTEM}}<|im_end|>\n',
    prompt='<|im_start|>user\n{{QUERY}}<|im_end|>\n',
    response='<|im_start|>assistant\n{{RESPONSE}}<|im_end|>',
    chat_sep='\n',
    tool_prompt='<|im_start|>tool\n{{QUERY}}<|im_end|>\n',
    stop_words=['<|im_end|>'],
)


def chatml_meta(name: str, **overrides) -> TemplateMeta:
    return TemplateMeta(name=name, **{**CHATML, **overrides})


register_template(chatml_meta('chatml', description='plain ChatML, no default system prompt'))
register_template(
    chatml_meta(
        'smollm2',
        default_system='You are a helpful AI assistant named SmolLM, trained by Hugging Face',
        description='SmolLM2 Instruct (ChatML with a default system prompt)'))
register_template(
    chatml_meta(
        'qwen',
        default_system='You are a helpful assistant.',
        stop_words=['<|im_end|>', '<|endoftext|>'],
        description='Qwen1.5 / Qwen2 chat'))
# InternLM's official templates write BOS first; tool results go in the generic tool role, as they do.
register_template(chatml_meta('internlm2', prefix='<s>', system_prefix='<s><|im_start|>system\n{{SYSTEM}}<|im_end|>\n',
                              description='InternLM2 / InternLM2.5 chat'))
register_template(chatml_meta('internlm3', prefix='<s>', system_prefix='<s><|im_start|>system\n{{SYSTEM}}<|im_end|>\n',
                              description='InternLM3 instruct'))
# MiniCPM3 writes the system block only for a system prompt; tool definitions are not supported here.
register_template(chatml_meta('minicpm3', description='MiniCPM3'))
