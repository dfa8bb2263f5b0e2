"""swift: fine-tune, align, evaluate, export and serve large language models.

Imports are lazy: `import swift` loads neither torch nor transformers; each name below is
imported the first time it is used.
"""
from swift.utils.lazy import lazy_exports

__version__ = '0.1.0'

# public name → module that defines it
_LAZY = {
    'register_model': 'swift.model',
    'ModelMeta': 'swift.model',
    'ModelGroup': 'swift.model',
    'Model': 'swift.model',
    'get_model_tokenizer': 'swift.model.loader',
    'register_template': 'swift.template',
    'get_template': 'swift.template',
    'Template': 'swift.template',
    'TemplateMeta': 'swift.template',
    'Swift': 'swift.tuners',
    'LoRAConfig': 'swift.tuners',
    'AdaLoraConfig': 'swift.tuners',
    'VeraConfig': 'swift.tuners',
    'BOFTConfig': 'swift.tuners',
    'IA3Config': 'swift.tuners',
    'prepare_model': 'swift.api',
    'train': 'swift.api',
    'load': 'swift.api',
    'sft_main': 'swift.train.sft',
    'pt_main': 'swift.train.sft',
    'SftArguments': 'swift.train.arguments',
    'PtEngine': 'swift.infer.pt_engine',
    'TransformersEngine': 'swift.infer.pt_engine',
    'InferRequest': 'swift.infer.protocol',
    'RequestConfig': 'swift.infer.protocol',
    # alignment (swift rlhf)
    'Trainer': 'swift.train.rlhf',
    'DPOConfig': 'swift.train.rlhf',
    'RLHFArguments': 'swift.train.rlhf',
    'rlhf_main': 'swift.train.rlhf',
    'train_dpo': 'swift.train.rlhf',
    'train_orpo': 'swift.train.rlhf',
    'train_simpo': 'swift.train.rlhf',
    'train_cpo': 'swift.train.rlhf',
    'train_kto': 'swift.train.rlhf',
    'train_rm': 'swift.train.rlhf',
    'train_ppo': 'swift.train.rlhf',
    'train_grpo': 'swift.train.rlhf',
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
