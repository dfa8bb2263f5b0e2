"""swift: fine-tune, align, evaluate, export and serve large language models.

Imports are lazy: `import swift` loads neither torch nor transformers; each name below is
imported the first time it is used.
"""
from swift.utils.lazy import lazy_exports

from swift.version import __version__  # noqa: F401

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
    # the Python API
    'prepare_model': 'swift.api',
    'train': 'swift.api',
    'load': 'swift.api',
    'Trainer': 'swift.api',
    'DPOConfig': 'swift.api',
    'train_dpo': 'swift.api',
    'train_orpo': 'swift.api',
    'train_simpo': 'swift.api',
    'train_cpo': 'swift.api',
    'train_kto': 'swift.api',
    'train_rm': 'swift.api',
    'train_ppo': 'swift.api',
    'train_grpo': 'swift.api',
    'train_gkd': 'swift.api',
    'MultiModalTrainer': 'swift.api',
    'MultiModalDatasetBuilder': 'swift.training.mm_tasks',
    # every stage's entry point (what the CLI runs) and its arguments
    'sft_main': 'swift.training.sft',
    'pt_main': 'swift.training.sft',
    'rlhf_main': 'swift.training.rlhf.workflow',
    'infer_main': 'swift.infer.main',
    'deploy_main': 'swift.infer.server.deploy',
    'eval_main': 'swift.eval.main',
    'export_main': 'swift.export.main',
    'SftArguments': 'swift.arguments',
    'PtArguments': 'swift.arguments',
    'RLHFArguments': 'swift.arguments',
    'InferArguments': 'swift.arguments',
    'DeployArguments': 'swift.arguments',
    'EvalArguments': 'swift.arguments',
    'ExportArguments': 'swift.arguments',
    # inference
    'TransformersEngine': 'swift.infer.transformers_engine',
    'PtEngine': 'swift.infer.transformers_engine',
    'InferRequest': 'swift.infer.protocol',
    'RequestConfig': 'swift.infer.protocol',
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
