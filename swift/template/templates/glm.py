"""ChatGLM3 and GLM-4: [gMASK] prefix, <|role|> headers, no end-of-turn token (the next <|user|> ends a turn)."""
from ..base import TemplateMeta
from ..registry import register_template

# The official templates end an answer with nothing; the models stop at <|user|> / <|observation|>.
# encode() appends the EOS token after the final answer (train_suffix), as THUDM's fine-tuning code
# does, so that a fine-tuned model learns to stop.
register_template(
    TemplateMeta(
        name='chatglm3',
        prefix='[gMASK]sop',
        system_prefix='[gMASK]sop<|system|>\n {{SYSTEM}}',
        system_turn='<|system|>\n {{SYSTEM}}',
        prompt='<|user|>\n {{QUERY}}',
        response='<|assistant|>\n {{RESPONSE}}',
        generation_prompt='<|assistant|>',
        tool_prompt='<|tool|>\n {{QUERY}}',
        train_suffix='</s>',
        stop_words=['</s>', '<|user|>', '<|observation|>'],
        description='ChatGLM3-6B'))
register_template(
    TemplateMeta(
        name='glm4',
        prefix='[gMASK]<sop>',
        system_prefix='[gMASK]<sop><|system|>\n{{SYSTEM}}',
        system_turn='<|system|>\n{{SYSTEM}}',
        prompt='<|user|>\n{{QUERY}}',
        response='<|assistant|>\n{{RESPONSE}}',
        generation_prompt='<|assistant|>',
        tool_prompt='<|tool|>\n{{QUERY}}',
        train_suffix='<|endoftext|>',
        stop_words=['<|endoftext|>', '<|user|>', '<|observation|>'],
        description='GLM-4-9B-chat (tool definitions are not supported)'))
