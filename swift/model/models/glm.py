"""GLM (Zhipu AI / THUDM): ChatGLM3, GLM-4 and GLM-4-0414.

ModelScope publishes them under ZhipuAI, Hugging Face under THUDM. ChatGLM3 and glm-4-9b share
the remote-code architecture ChatGLMModel, so a local directory is told apart by its name.
GLM-4-0414 (Glm4ForCausalLM, native in transformers) keeps glm-4-9b-chat's chat format; it
differs only in how tool calls are written.
"""
from ..registry import Model, ModelArch, ModelGroup, ModelMeta, register_model

CHATGLM_ARCH = ModelArch(language_model=['transformer'], lm_head=['transformer.output_layer'])
CHATGLM_LORA_TARGETS = ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h']

register_model(
    ModelMeta(
        model_type='chatglm3',
        model_groups=[
            ModelGroup([
                Model('ZhipuAI/chatglm3-6b', 'THUDM/chatglm3-6b'),
                Model('ZhipuAI/chatglm3-6b-32k', 'THUDM/chatglm3-6b-32k'),
                Model('ZhipuAI/chatglm3-6b-128k', 'THUDM/chatglm3-6b-128k'),
            ]),
            ModelGroup([Model('ZhipuAI/chatglm3-6b-base', 'THUDM/chatglm3-6b-base')], tags=['base']),
        ],
        template='chatglm3',
        architectures=['ChatGLMModel', 'ChatGLMForConditionalGeneration'],
        model_arch=CHATGLM_ARCH,
        lora_target_modules=CHATGLM_LORA_TARGETS,
        torch_dtype='float16',
        requires=['transformers<4.42'],
        description='ChatGLM3-6B (remote code written for transformers<4.42).',
    ))

register_model(
    ModelMeta(
        model_type='glm4',
        model_groups=[
            ModelGroup([
                Model('ZhipuAI/glm-4-9b-chat', 'THUDM/glm-4-9b-chat'),
                Model('ZhipuAI/glm-4-9b-chat-1m', 'THUDM/glm-4-9b-chat-1m'),
                Model('ZhipuAI/LongWriter-glm4-9b', 'THUDM/LongWriter-glm4-9b'),
            ]),
            ModelGroup([Model('ZhipuAI/glm-4-9b', 'THUDM/glm-4-9b')], tags=['base']),
        ],
        template='glm4',
        architectures=['ChatGLMModel', 'ChatGLMForConditionalGeneration'],
        model_arch=CHATGLM_ARCH,
        lora_target_modules=CHATGLM_LORA_TARGETS,
        requires=['transformers>=4.42'],
        description='GLM-4-9B (remote code).',
    ))

register_model(
    ModelMeta(
        model_type='glm4_0414',
        model_groups=[
            ModelGroup([
                Model('ZhipuAI/GLM-4-9B-0414', 'THUDM/GLM-4-9B-0414'),
                Model('ZhipuAI/GLM-4-32B-0414', 'THUDM/GLM-4-32B-0414'),
            ]),
            ModelGroup([Model('ZhipuAI/GLM-4-32B-Base-0414', 'THUDM/GLM-4-32B-Base-0414')], tags=['base']),
        ],
        template='glm4',
        architectures=['Glm4ForCausalLM'],
        lora_target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_up_proj', 'down_proj'],
        requires=['transformers>=4.51'],
        description=('GLM-4-0414 9B/32B (native transformers architecture). Chat format taken to be glm-4-9b-chat\'s: '
                     'no copy of the 0414 template was available to check it.'),
    ))
