"""What `swift infer` and `swift deploy` check before loading a model, and `--check_args` runs alone: the
plugins load, a checkpoint named by --adapters fills in its base model, template and system prompt (its
args.json), and the backend and template names exist. Nothing here imports torch."""
from swift.arguments import InferArguments
from swift.template import check_template_name, get_agent_template
from swift.utils import SwiftError
from swift.utils.checkpoint import fill_from_checkpoint
from swift.utils.plugins import load_plugins

from .backends import check_infer_backend


def check_infer_args(args: InferArguments) -> InferArguments:
    """The same for swift infer (InferArguments) and swift deploy (DeployArguments); returns args, filled in."""
    load_plugins(args.external_plugins)
    args.read_system_file()
    # a checkpoint trained with tools in an agent template's format answers in that format
    fill_from_checkpoint(args, keys=('model', 'model_type', 'template', 'system', 'agent_template', 'enable_thinking'))
    args.require_model(', or --adapters a swift checkpoint (its args.json names the model)')
    check_infer_backend(args.infer_backend)
    given = [f'--{k}' for k in ('device_map', 'max_memory') if getattr(args, k, None) is not None]
    given += ['--num_beams'] if getattr(args, 'num_beams', 1) > 1 else []
    if given and args.infer_backend not in ('transformers', 'pt'):
        raise SwiftError(f'{" and ".join(given)}: options of the transformers backend (its from_pretrained and '
                         f'generate); --infer_backend {args.infer_backend} does not take them (its own options: '
                         '--engine_kwargs)')
    check_template_name(args.template)
    if args.agent_template:
        get_agent_template(args.agent_template)
    return args

