"""A policy and its reference as swift rlhf builds them, for tests that call a trainer's compute_loss directly."""


def load_policy_for(rlhf_type: str, model_dir, output_dir, **arguments):
    """(arguments, run, model, tokenizer, template) of a full fine-tune of `model_dir` with --rlhf_type."""
    from swift.arguments import RLHFArguments
    from swift.training.rlhf.workflow import load_policy
    from swift.training.runner import TrainingRun
    from swift.utils.args import parse_args
    args = parse_args(RLHFArguments, dict(rlhf_type=rlhf_type, model=str(model_dir), dataset=['unused'],
                                          tuner_type='full', report_to=['none'], **arguments))
    run = TrainingRun(args, output_dir)
    model, tokenizer = load_policy(run)
    return args, run, model, tokenizer, run.template(model, tokenizer)


def perturbed_policy_and_reference(model, args, scale: float = 0.02):
    """(policy, reference): the policy moved off the reference by seeded noise in every parameter, vision tower
    included, so that the log-ratios are not zero and the pixels change the loss."""
    import torch
    from swift.training.rlhf.workflow import load_reference, prepare_policy
    model = prepare_policy(model, args)
    reference = load_reference(args, model)
    torch.manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * scale)
    return model, reference
