"""What `swift infer` and `swift deploy` check before loading a model, and `--check_args` runs alone: the
plugins load, a checkpoint named by --adapters fills in its base model, template and system prompt (its
args.json), and the backend and template names exist. Nothing here imports torch."""
from swift.arguments import InferArguments
from swift.template import check_template_name
from swift.utils.checkpoint import fill_from_checkpoint
from swift.utils.plugins import load_plugins

from .backends import check_infer_backend


def check_infer_args(args: InferArguments) -> InferArguments:
    """The same for swift infer (InferArguments) and swift deploy (DeployArguments); returns args, filled in."""
    load_plugins(args.external_plugins)
    args.read_system_file()
    fill_from_checkpoint(args)
    args.require_model(', or --adapters a swift checkpoint (its args.json names the model)')
    check_infer_backend(args.infer_backend)
    check_template_name(args.template)
    return args

