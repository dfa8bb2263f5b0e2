"""Training a reward model (`--rlhf_type rm`): the Bradley-Terry loss on pairs, and its tuner.

A reward model is the base model as a sequence classifier with one output; loading one and scoring
conversations (what PPO, GRPO and `swift deploy` use) is swift.infer.reward_model's, and the loss
here scores with the same sequence_scores, so a trained reward is exactly the one served.
"""
from peft import LoraConfig, get_peft_model

from swift.infer.reward_model import SCORE_HEAD, sequence_scores
from swift.tuners import log_trainable_parameters, prepare_tuner
from swift.tuners.target_modules import resolve_target_modules
from swift.utils import SwiftError, get_logger

from . import losses
from .base import RLHFTrainer

logger = get_logger()


class RewardTrainer(RLHFTrainer):
    """Bradley-Terry loss on [chosen; rejected] batches. Logs rewards/chosen, rewards/rejected, margins, accuracies."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        scores = sequence_scores(model, inputs['input_ids'], inputs['attention_mask'])
        chosen, rejected = scores.chunk(2)
        loss = losses.reward_model_loss(chosen, rejected, inputs.get('margin'),
                                        self.rlhf_args.center_rewards_coefficient)
        self.record(**{'rewards/chosen': chosen, 'rewards/rejected': rejected, 'rewards/margins': chosen - rejected,
                       'rewards/accuracies': (chosen > rejected).float()})
        return (loss, {'scores': scores}) if return_outputs else loss


def prepare_reward_model(model, args):
    """The tuner for a reward model: full / freeze as for any model; LoRA on every linear layer but the
    score head, which trains in full and is saved with the adapter (PEFT's SEQ_CLS task)."""
    if args.tuner_type in ('full', 'freeze'):
        return prepare_tuner(model, args)
    targets = args.target_regex or [t for t in resolve_target_modules(model, args, expand=True) if t != SCORE_HEAD]
    config = LoraConfig(task_type='SEQ_CLS', r=args.lora_rank, lora_alpha=args.lora_alpha,
                        lora_dropout=args.lora_dropout, bias=args.lora_bias, use_dora=args.use_dora,
                        use_rslora=args.use_rslora, target_modules=targets,
                        modules_to_save=sorted(set(args.modules_to_save) | {SCORE_HEAD}))
    try:
        model = get_peft_model(model, config)
    except ValueError as e:
        raise SwiftError(f'--rlhf_type rm: PEFT rejected the LoRA configuration: {e}') from None
    log_trainable_parameters(model)
    return model
