"""Which of our templates were proven equal to which official chat template.

tests/template/test_official_equality.py renders fixed conversations through each template and
through the official Jinja files named here (copies under ../shared/data/chat_templates, or the
chat template inside the embedded SmolLM2 GGUF) and asserts identical text; it also asserts this
table is exactly what it verified. The package never reads those files.
"""
from typing import Dict, Tuple

SMOLLM2_GGUF = 'SmolLM2-135M-Instruct.Q4_1.gguf (tokenizer.chat_template)'

OFFICIAL_REFERENCES: Dict[str, Tuple[str, ...]] = {
    'smollm2': (SMOLLM2_GGUF, ),
    'qwen': ('Qwen__Qwen2-7B-Instruct.jinja', ),
    'qwen2_5': ('Qwen__Qwen2.5-7B-Instruct.jinja', ),
    'qwen3': ('Qwen__Qwen3-0.6B.jinja', 'Qwen__Qwen3-1.7B.jinja'),
    'qwq': ('Qwen__QwQ-32B.jinja', ),
    'llama': ('meta-llama__Llama-2-7b-chat-hf.jinja', ),
    'llama3': ('meta-llama__Meta-Llama-3-8B-Instruct.jinja', ),
    'llama3_1': ('meta-llama__Llama-3.1-8B-Instruct.jinja', 'meta-llama__Llama-3.3-70B-Instruct.jinja'),
    'llama3_2': ('meta-llama__Llama-3.2-3B-Instruct.jinja', ),
    'mistral': ('mistralai__Mistral-7B-Instruct-v0.1.jinja', 'mistralai__Mixtral-8x7B-Instruct-v0.1.jinja'),
    'mistral_v3': ('mistralai__Mistral-7B-Instruct-v0.3.jinja', ),
    'mistral_nemo': ('mistralai__Mistral-Nemo-Instruct-2407.jinja', ),
    'gemma': ('google__gemma-7b-it.jinja', 'google__gemma-2-2b-it.jinja'),
    'gemma3': ('google__gemma-3-1b-it.jinja', ),
    'phi3': ('microsoft__Phi-3-mini-4k-instruct.jinja', 'microsoft__Phi-3.5-mini-instruct.jinja'),
    'phi3_small': ('microsoft__Phi-3-small-8k-instruct.jinja', ),
    'phi3_medium': ('microsoft__Phi-3-medium-128k-instruct.jinja', ),
    'phi4': ('microsoft__phi-4.jinja', ),
    'phi4_mini': ('microsoft__Phi-4-mini-instruct.jinja', ),
    'phi4_reasoning': ('microsoft__Phi-4-reasoning.jinja', ),
    'deepseek': ('deepseek-ai__DeepSeek-V2-Lite-Chat.jinja', ),
    'deepseek_v3': ('deepseek-ai__DeepSeek-V3-Base.jinja', ),
    'deepseek_r1': ('deepseek-ai__DeepSeek-R1.jinja', ),
    'deepseek_r1_distill': ('deepseek-ai__DeepSeek-R1-Distill-Qwen-32B.jinja',
                            'deepseek-ai__DeepSeek-R1-Distill-Llama-8B.jinja'),
    'deepseek_v3_1': ('deepseek-ai__DeepSeek-V3.1.jinja', ),
    'chatglm3': ('THUDM__chatglm3-6b.jinja', ),
    'glm4': ('THUDM__glm-4-9b-chat.jinja', ),
    'internlm2': ('internlm__internlm2-chat-7b.jinja', ),
    'yi': ('01-ai__Yi-1.5-34B-Chat.jinja', ),
    'falcon3': ('tiiuae__Falcon3-3B-Instruct.jinja', ),
    'granite': ('ibm-granite__granite-3.0-1b-a400m-instruct.jinja', ),
    'granite3_1': ('ibm-granite__granite-3.1-3b-a800m-instruct.jinja', ),
    'granite3_2': ('ibm-granite__granite-3.2-2b-instruct.jinja', ),
    'granite3_3': ('ibm-granite__granite-3.3-2b-instruct.jinja', ),
    'olmo': ('allenai__OLMo-7B-0724-Instruct-hf.jinja', ),
    'minicpm': ('openbmb__MiniCPM-2B-sft-fp32.jinja', ),
    'minicpm3': ('openbmb__MiniCPM3-4B.jinja', ),
    'command_r': ('CohereLabs__c4ai-command-r-v01.jinja', ),
    'command_r7b': ('CohereLabs__c4ai-command-r7b-12-2024.jinja', ),
}

# Multimodal templates: copies under ../shared/data/chat_templates_multimodal, rendered with content-part lists
# (tests/template/test_multimodal_templates.py).
MULTIMODAL_REFERENCES: Dict[str, Tuple[str, ...]] = {
    'smolvlm': ('HuggingFaceTB__SmolVLM-Instruct.jinja', 'HuggingFaceTB__SmolVLM2-2.2B-Instruct.jinja'),
}

# The multimodal families' templates (tests/template/test_multimodal_families.py): '<folder>/<file>' under
# ../shared/data, compared with content-part lists and with `<image>`-tagged strings.
VLM_REFERENCES: Dict[str, Tuple[str, ...]] = {
    'qwen2_vl': ('chat_templates/Qwen__Qwen2-VL-7B-Instruct.jinja',
                 'chat_templates_multimodal/Qwen__Qwen2.5-VL-7B-Instruct.jinja'),
    'qwen2_5_vl': ('chat_templates_multimodal/Qwen__Qwen2.5-VL-7B-Instruct.jinja', ),
    'qwen3_vl': ('chat_templates_multimodal/Qwen__Qwen3-VL-2B-Instruct.jinja', ),
    'llava1_5': ('chat_templates_multimodal/llava-hf__llava-1.5-7b-hf.jinja', ),
    'llava_next_mistral': ('chat_templates_multimodal/llava-hf__llava-v1.6-mistral-7b-hf.jinja', ),
    'llava_onevision': ('chat_templates_multimodal/llava-hf__llava-onevision-qwen2-7b-si-hf.jinja', ),
    'internvl_hf': ('chat_templates_multimodal/OpenGVLab__InternVL3-78B-hf.jinja', ),
    'gemma3_vl': ('chat_templates_multimodal/google__gemma-3-4b-it.jinja', ),
    'idefics2': ('chat_templates_multimodal/HuggingFaceM4__idefics2-8b-chatty.jinja', ),
    'idefics3': ('chat_templates_multimodal/HuggingFaceM4__Idefics3-8B-Llama3.jinja', ),
    'phi3_vision': ('chat_templates/microsoft__Phi-3-vision-128k-instruct.jinja', ),
    'llama3_2_vision': ('chat_templates/meta-llama__Llama-3.2-11B-Vision-Instruct.jinja', ),
}

# Templates compared with the template a transformers processor ships (tests/template/test_av_templates.py).
PROCESSOR_REFERENCES: Dict[str, Tuple[str, ...]] = {
    'qwen2_audio': ('transformers Qwen2AudioProcessor.default_chat_template (Qwen2-Audio-Instruct)', ),
    'phi4_multimodal': ('the processor chat_template of microsoft/Phi-4-multimodal-instruct in transformers format, '
                        'as transformers\' tests/models/phi4_multimodal/test_processor_phi4_multimodal.py carries it '
                        '(tests/template/test_phi_vision_templates.py)', ),
}

# Why the remaining built-in templates have no official reference to compare with.
UNVERIFIED: Dict[str, str] = {
    'chatml': 'generic ChatML; no single official template',
    'qwen3_thinking': 'no copy of the Qwen3-*-Thinking-2507 template was available offline',
    'internlm3': 'no copy of the InternLM3 template was available offline',
    'baichuan2': 'Baichuan2 publishes no chat template (format taken from its generation code)',
    'olmo2': 'no copy of the OLMo-2 template was available offline',
    'raw': 'plain text for pre-training: no chat format to compare',
    'qwen2_5_omni': 'no verbatim copy of the Qwen2.5-Omni template was found',
    'minicpmv2_6': 'no verbatim copy of the MiniCPM-V 2.6 template was found',
    'minicpmv4_6': ('no verbatim copy of the MiniCPM-V 4.6 chat_template.jinja was found; the rendering follows '
                    "ms-swift's minicpmv4_6 template"),
    'minicpmv4_7': ('no verbatim copy of the MiniCPM-V 4.7 chat_template.jinja was found; rendered as minicpmv4_6 '
                    '(ms-swift has no template of its own for it)'),
    'pixtral': 'no verbatim copy of the Pixtral / Mistral-Small-3.1 template was found',
    'glm4v': 'no verbatim copy of the GLM-4.1V / GLM-4V template was found',
}


def official_reference_status() -> Dict[str, str]:
    """Template name -> 'verified against <official files>' or 'unverified: <reason>', for every built-in template."""
    status = {name: 'verified against ' + ', '.join(files)
              for name, files in {**OFFICIAL_REFERENCES, **MULTIMODAL_REFERENCES, **VLM_REFERENCES,
                                  **PROCESSOR_REFERENCES}.items()}
    status.update({name: 'unverified: ' + reason for name, reason in UNVERIFIED.items()})
    return dict(sorted(status.items()))
