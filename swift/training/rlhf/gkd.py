"""GKD (Agarwal et al. 2024, "On-Policy Distillation of Language Models"): the student learns the teacher's
next-token distribution on every answer token, by the generalized Jensen-Shannon divergence.

Per training step, as TRL's GKDTrainer.training_step: with probability --lmbda the student answers the batch's
prompts itself and learns on those answers (on-policy); otherwise, with --seq_kd, the teacher answers them
(sequence-level KD); otherwise the dataset's answers are used. The draw is seeded by --seed and the step, so a
run is reproducible. Evaluation always scores the dataset's answers.

The loss is losses.generalized_jsd_loss (checked against TRL's) of the student and teacher logits at
--temperature (as ms-swift; TRL's trainer scores at temperature 1), plus --sft_alpha × the NLL of the answer.
Logged: jsd, on_policy (share of on-policy steps), teacher_generated, nll_loss (with --sft_alpha), and the
completion lengths of generated answers.
"""
import random

import torch

from swift.utils import SwiftError, get_logger

from . import losses
from .online import OnlineTrainer
from .rollout import PtRollout

logger = get_logger()


def check_same_tokenizer(student_tokenizer, teacher_tokenizer, teacher_name: str) -> None:
    """GKD compares the two models' distributions token by token: both must read and write the same tokens."""
    student_vocab, teacher_vocab = student_tokenizer.get_vocab(), teacher_tokenizer.get_vocab()
    if student_vocab == teacher_vocab:
        return
    differing = sorted(set(student_vocab.items()) ^ set(teacher_vocab.items()), key=lambda kv: kv[1])[:3]
    raise SwiftError(f'--teacher_model {teacher_name} has a different tokenizer from the student ('
                     f'{len(teacher_vocab)} vs {len(student_vocab)} tokens; e.g. {differing}): GKD compares '
                     'next-token distributions over one vocabulary, so pick a teacher of the same model family')


class GKDTrainer(OnlineTrainer):

    def __init__(self, *args, teacher_model=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teacher_model is None:
            raise SwiftError('GKD needs a teacher model (--teacher_model)')
        if getattr(teacher_model, 'hf_device_map', None) is None:
            teacher_model = teacher_model.to(self.args.device)
        self.teacher_model = teacher_model.eval().requires_grad_(False)
        self._teacher_rollout = None

    def teacher_rollout(self):
        if self._teacher_rollout is None:
            rollout = self.rollout
            self._teacher_rollout = PtRollout(self.teacher_model, rollout.tokenizer, rollout.template,
                                              rollout.args, rollout.max_batch_size)
        return self._teacher_rollout

    def _draw(self) -> float:
        """TRL draws random.random() per step; ours is seeded by the run's seed and the step, for resumes."""
        return random.Random(self.args.seed * 1_000_003 + self.state.global_step).random()

    def sequences(self, inputs):
        """The sequences of this step: the dataset's, the student's answers, or the teacher's (see module doc)."""
        args = self.rlhf_args
        dataset = {key: inputs[key] for key in ('input_ids', 'attention_mask', 'labels')}
        if not self.model.training:
            return dataset, 'dataset'
        draw = self._draw()
        if draw < args.lmbda:
            source, completions = 'student', self.generate(inputs['rows'], 1)
        elif args.seq_kd:
            seed = self.args.seed + 7919 * (self.state.global_step + 1)
            source, completions = 'teacher', self.teacher_rollout().generate(inputs['rows'], 1, seed)
        else:
            return dataset, 'dataset'
        completions = [per_prompt[0] for per_prompt in completions]
        self.record_completions(completions)
        return self.build_sequences(inputs['prompt_ids'], completions), source

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.rlhf_args
        batch, source = self.sequences(inputs)
        outputs = model(input_ids=batch['input_ids'], attention_mask=batch['attention_mask'], use_cache=False)
        with torch.no_grad():
            teacher_logits = self.teacher_model(input_ids=batch['input_ids'], attention_mask=batch['attention_mask'],
                                                use_cache=False).logits
        # One tokenizer (checked at load); padded embedding tables may differ in width past it.
        width = min(outputs.logits.size(-1), teacher_logits.size(-1))
        labels = batch['labels'][:, 1:]
        loss = losses.generalized_jsd_loss(outputs.logits[:, :-1, :width], teacher_logits[:, :-1, :width], labels,
                                           args.beta, args.temperature)
        self.record(jsd=loss)
        if self.model.training:
            self.record(on_policy=float(source == 'student'), teacher_generated=float(source == 'teacher'))
        if args.sft_alpha:
            per_token, mask = losses.token_logps(outputs.logits, batch['labels'])
            nll = losses.nll_loss(per_token, mask)
            loss = loss + args.sft_alpha * nll
            self.record(nll_loss=nll)
        return (loss, outputs) if return_outputs else loss

    def close(self) -> None:
        super().close()
        if self._teacher_rollout is not None:
            self._teacher_rollout.close()
            self._teacher_rollout = None
