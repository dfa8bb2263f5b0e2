"""SwiftTrainer: the transformers Trainer with what swift adds to every training run.

- token accuracy and trained (non-masked) tokens per second in the logs;
- atomic checkpoints: a checkpoint is written into a staging folder and renamed into place in one
  step, so a run killed while saving never leaves a `checkpoint-N` that looks complete but is not;
- swift's `args.json` in every checkpoint, so `swift infer --adapters checkpoint-N` needs no other flag;
- LoRA+ (a higher learning rate for LoRA's B matrices) through the tuners package;
- micro-batches inside a step (`micro_batch_rows`, microbatch.py): the same gradient, less activation memory.
"""
import contextlib
import os
import shutil
import time
from typing import Any, Dict, Optional

import torch
from transformers import Trainer
from transformers.trainer_utils import rotate_checkpoints

from swift.tuners import lora_plus_param_groups, save_tuned_model
from swift.tuners.saving import is_peft_model
from swift.utils import get_logger
from swift.utils.checkpoint import CHECKPOINT_PREFIX, write_run_args

from . import resume_layout
from .distributed import reduce_counts, use_fsdp_on_cpu
from .loss import ChunkedLossModel
from .microbatch import split_rows

logger = get_logger()
STAGING = '.checkpoint-staging'


def accuracy_counts(predicted, target, strategy: str = 'token'):
    """(right, total) over the trained positions (target != -100): tokens, or with 'seq' the sequences that have
    trained tokens, a sequence being right when all of them are."""
    mask = target != -100
    hits = (predicted == target) & mask
    if strategy == 'token':
        return int(hits.sum()), int(mask.sum())
    has_tokens = mask.any(dim=-1)
    right = (hits.sum(dim=-1) == mask.sum(dim=-1)) & has_tokens
    return int(right.sum()), int(has_tokens.sum())


class SwiftTrainer(Trainer):

    def __init__(self, *args, swift_args: Optional[Dict[str, Any]] = None, lorap_lr_ratio: Optional[float] = None,
                 chunked_loss: bool = True, part_lrs: Optional[Dict[str, float]] = None, acc_strategy: str = 'token',
                 generation_eval=None, micro_batch_rows: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.micro_batch_rows = micro_batch_rows
        self.generation_eval = generation_eval  # --predict_with_generate (generate_eval.py)
        self.acc_strategy = acc_strategy  # 'seq': whole sequences right (the chunked loss never holds their logits)
        chunked_loss = chunked_loss and acc_strategy == 'token'
        self.swift_args = swift_args or {}
        self.lorap_lr_ratio = lorap_lr_ratio
        self.part_lrs = part_lrs or {}  # multimodal --vit_lr / --aligner_lr: {module prefix: lr}
        self.chunked_loss = None
        plugin = getattr(self.accelerator.state, 'deepspeed_plugin', None)
        if plugin is not None and plugin.zero_stage == 3:
            chunked_loss = False  # ZeRO-3 gathers lm_head's partitioned weight only inside the model's forward
            logger.info("loss: the model's own (DeepSpeed ZeRO-3 partitions the output layer)")
        if chunked_loss and self.args.n_gpu <= 1:  # DataParallel replicas would not reach the hook
            self.chunked_loss = ChunkedLossModel(self.model)
            if self.chunked_loss.reason:
                logger.info(f"loss: the model's own ({self.chunked_loss.reason})")
        self._staging_dir: Optional[str] = None
        self._saved_steps = set()  # the steps this run wrote a checkpoint for
        self._reset_counters()

    def create_accelerator_and_postprocess(self):
        super().create_accelerator_and_postprocess()
        self.is_fsdp_enabled = self.is_fsdp_enabled or use_fsdp_on_cpu(self.accelerator, self.args)

    # ---- metrics ------------------------------------------------------------------------------
    def _reset_counters(self):
        self._correct = 0  # tokens (or, with --acc_strategy seq, sequences) predicted right ...
        self._acc_items = 0  # ... out of this many
        self._trained_tokens = 0
        self._since = time.time()

    sequence_parallel = False  # --sequence_parallel_size > 1 (the runner sets it up)
    micro_batch_rows = 0  # --micro_batch_rows: rows per forward/backward inside a step (0: the whole batch)

    def training_step(self, model, inputs, num_items_in_batch=None):
        """The batch in micro-batches of `micro_batch_rows` rows, one forward/backward each, when its loss is a sum
        over trained tokens divided by the whole batch's count (num_items_in_batch): then the micro-batches'
        gradients add up to the whole batch's, and only one micro-batch's activations are alive at a time.
        Under DDP the gradients are all-reduced once, after the last micro-batch."""
        parts = split_rows(inputs, self.micro_batch_rows) if self._can_split(num_items_in_batch) else None
        if parts is None:
            return super().training_step(model, inputs, num_items_in_batch)
        total = None
        for i, part in enumerate(parts):
            # no_sync is a no-op without DDP; nested in the Trainer's own no_sync it leaves syncing off
            sync = contextlib.nullcontext() if i == len(parts) - 1 else self.accelerator.no_sync(model)
            with sync:
                loss = super().training_step(model, part, num_items_in_batch)
            total = loss if total is None else total + loss
        return total

    def _can_split(self, num_items_in_batch) -> bool:
        # What the arguments rule out (sequence parallelism, DeepSpeed, FSDP) swift.training.sft.micro_batch_rows
        # decided (0 then); here what only the trainer and the model tell. Every loss path of compute_loss divides a
        # sum by num_items_in_batch exactly when the model takes loss kwargs; a label smoother or custom loss
        # function may not, a MoE router's auxiliary loss is a mean over the forward's tokens, and DataParallel
        # reduces gradients its own way.
        config = getattr(self.accelerator.unwrap_model(self.model), 'config', None)
        return (self.micro_batch_rows > 0 and num_items_in_batch is not None and self.model_accepts_loss_kwargs
                and not getattr(config, 'output_router_logits', False)
                and self.label_smoother is None and self.compute_loss_func is None and self.args.n_gpu <= 1)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.sequence_parallel and not return_outputs:
            from . import sequence_parallel
            loss, trained, correct = sequence_parallel.loss(self, model, inputs, num_items_in_batch)
            if model.training:
                self._trained_tokens += trained
                self._acc_items += trained
                self._correct += correct
            return loss
        if inputs.get('loss_scale') is not None:
            return self._weighted_loss(model, inputs, return_outputs, num_items_in_batch)
        chunked = self.chunked_loss
        if (model.training and not return_outputs and chunked is not None and self.label_smoother is None
                and self.compute_loss_func is None and chunked.usable(inputs) and chunked.verify(model, inputs)):
            return self._chunked_loss(model, inputs, num_items_in_batch)
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True,
                                             num_items_in_batch=num_items_in_batch)
        labels = inputs.get('labels')
        if model.training and labels is not None and getattr(outputs, 'logits', None) is not None:
            with torch.no_grad():
                # Causal LM: the logit at position t predicts the label at t+1.
                self._count_accuracy(outputs.logits[:, :-1].argmax(dim=-1), labels[:, 1:])
        return (loss, outputs) if return_outputs else loss

    def _weighted_loss(self, model, inputs, return_outputs, num_items_in_batch):
        """The causal-LM loss with a weight per token (--loss_scale hermes / react): sum(w * CE) over the
        trained tokens, divided by their number (or the batch's, as transformers divides)."""
        inputs = dict(inputs)
        weights, labels = inputs.pop('loss_scale'), inputs.pop('labels')
        outputs = model(**inputs)
        logits = outputs.logits[:, :-1].float()
        target, weight = labels[:, 1:], weights[:, 1:].to(logits.device)
        mask = target != -100
        per_token = torch.nn.functional.cross_entropy(logits[mask], target[mask], reduction='none')
        divisor = num_items_in_batch if num_items_in_batch is not None else mask.sum().clamp(min=1)
        loss = (per_token * weight[mask]).sum() / divisor.to(logits.device) if isinstance(divisor, torch.Tensor) \
            else (per_token * weight[mask]).sum() / divisor
        if model.training:
            with torch.no_grad():
                self._count_accuracy(logits.argmax(dim=-1), target)
        return (loss, outputs) if return_outputs else loss

    def _chunked_loss(self, model, inputs, num_items_in_batch):
        """The causal-LM loss from hidden states (loss.py), normalised as the Trainer normalises the model's."""
        loss, trained, correct = self.chunked_loss.loss(
            model, inputs, num_items_in_batch if self.model_accepts_loss_kwargs else None)
        self._trained_tokens += trained
        self._acc_items += trained
        self._correct += correct
        if self.args.average_tokens_across_devices and self.model_accepts_loss_kwargs and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())  # as Trainer.compute_loss
        return loss

    def _count_accuracy(self, predicted, target) -> None:
        """Add a batch's predictions (positions aligned with their targets) to the accuracy counts: per trained
        token, or per sequence (right when every trained token is: ms-swift's --acc_strategy seq)."""
        counts = accuracy_counts(predicted, target, self.acc_strategy)
        self._correct += counts[0]
        self._acc_items += counts[1]
        self._trained_tokens += int((target != -100).sum())

    def log(self, logs: Dict[str, float], start_time: Optional[float] = None) -> None:
        if 'loss' in logs:
            # every rank logs at the same step (the Trainer gathers the loss there too): sum the counts over ranks
            correct, items, trained = reduce_counts(self.accelerator, self._correct, self._acc_items,
                                                    self._trained_tokens)
            if trained:
                elapsed = max(time.time() - self._since, 1e-9)
                logs[f'{self.acc_strategy}_acc'] = round(correct / max(items, 1), 6)
                logs['trained_tokens'] = trained
                logs['train_tokens_per_second'] = round(trained / elapsed, 2)
            self._reset_counters()
        super().log(logs, start_time)

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix='eval'):
        """eval_loss as always; with --predict_with_generate also the NLG scores of generated answers, in the same
        log entry (so --metric_for_best_model rouge-l can pick the best checkpoint)."""
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        if self.generation_eval is not None and self.eval_dataset is not None:
            scores = self.generation_eval.score(self.accelerator.unwrap_model(self.model), self.eval_dataset)
            output.metrics.update({f'{metric_key_prefix}_{key}': value for key, value in scores.items()})
        return output

    # ---- optimizer ----------------------------------------------------------------------------
    def create_optimizer(self, model=None):
        if self.optimizer is None and (self.lorap_lr_ratio or self.part_lrs):
            groups = lora_plus_param_groups(model or self.model, lr=self.args.learning_rate,
                                            lr_ratio=self.lorap_lr_ratio, weight_decay=self.args.weight_decay,
                                            part_lrs=self.part_lrs)
            optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, model or self.model)
            optimizer_kwargs.pop('lr', None)
            self.optimizer = optimizer_cls(groups, lr=self.args.learning_rate, **optimizer_kwargs)
            return self.optimizer
        return super().create_optimizer(model)

    # ---- the end of a run ----------------------------------------------------------------------
    def save_final_checkpoint(self) -> None:
        """The final state is always a checkpoint written by this run, also when the last step was no save step
        (a checkpoint of that step left by an earlier, resumed run would hold other weights)."""
        if self.state.global_step not in self._saved_steps:
            self._save_checkpoint(self.model, trial=None)

    def close(self) -> None:
        """Free what the run holds besides the model (rollout engines, ...); the runner calls it in any case."""

    # ---- saving -------------------------------------------------------------------------------
    def _get_output_dir(self, trial):
        return self._staging_dir or super()._get_output_dir(trial)

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        # a checkpoint written at another world size / layout (FSDP ↔ one process): resume_layout translates
        if not resume_layout.load_model(self, resume_from_checkpoint, model):
            super()._load_from_checkpoint(resume_from_checkpoint, model)

    resume_only_model = False  # --resume_only_model: the runner sets it; the weights only, as ms-swift

    def _load_rng_state(self, checkpoint):
        if not self.resume_only_model:
            super()._load_rng_state(checkpoint)

    def _load_optimizer_and_scheduler(self, checkpoint):
        if checkpoint is not None and self.resume_only_model:
            logger.info(f'--resume_only_model: the optimizer and scheduler start anew (not those of {checkpoint})')
            return
        if checkpoint is None or not resume_layout.load_optimizer(self, checkpoint):
            super()._load_optimizer_and_scheduler(checkpoint)

    def _save_checkpoint(self, model, trial):
        run_dir = super()._get_output_dir(trial)
        name = f'{CHECKPOINT_PREFIX}{self.state.global_step}'
        self._staging_dir = os.path.join(run_dir, STAGING)
        if self.args.should_save:
            shutil.rmtree(self._staging_dir, ignore_errors=True)
        # Several processes (DDP) write into the staging folder (each its RNG state): clear it first,
        # and move it into place only once every process has written its part.
        self.accelerator.wait_for_everyone()
        try:
            super()._save_checkpoint(model, trial)  # writes everything into the staging folder
        finally:
            staging, self._staging_dir = self._staging_dir, None
        self.accelerator.wait_for_everyone()
        self._saved_steps.add(self.state.global_step)  # on every process: they all skip the final save together
        if not self.args.should_save:
            return
        final = os.path.join(run_dir, name)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(os.path.join(staging, name), final)  # the checkpoint appears complete, or not at all
        shutil.rmtree(staging, ignore_errors=True)
        if self.state.best_model_checkpoint and STAGING in self.state.best_model_checkpoint:
            self.state.best_model_checkpoint = final
        # keep the newest save_total_limit checkpoints (and the best one), as transformers does
        rotate_checkpoints(output_dir=run_dir, save_total_limit=self.args.save_total_limit,
                           best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=False)

    def _save(self, output_dir: Optional[str] = None, state_dict=None) -> None:
        output_dir = output_dir or self.args.output_dir
        if is_peft_model(self.model):
            if self.args.should_save and state_dict is not None and self.is_fsdp_enabled:
                # FSDP: the full state was gathered from every rank's shard (save_model); the adapter's part of it
                self.accelerator.unwrap_model(self.model).save_pretrained(output_dir, state_dict=state_dict)
                if self.processing_class is not None:
                    self.processing_class.save_pretrained(output_dir)
                torch.save(self.args, os.path.join(output_dir, 'training_args.bin'))
            elif self.args.should_save:
                # The tuners package knows adapter specifics (e.g. PiSSA/OLoRA also save a plain-LoRA copy).
                save_tuned_model(self.model, output_dir, tokenizer=self.processing_class)
                torch.save(self.args, os.path.join(output_dir, 'training_args.bin'))
        else:
            super()._save(output_dir, state_dict)
        if self.args.should_save and self.swift_args:
            write_run_args(output_dir, self.swift_args)
