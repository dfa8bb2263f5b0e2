"""What every alignment trainer shares, on top of SwiftTrainer (atomic checkpoints, args.json, logging).

- metrics: `self.record(name=value)` during a step; `log()` adds their means since the last log
  to the log line (train and eval separately), so logging.jsonl and images/ get every one of them;
- the reference model: `with self.reference() as ref:` gives a separate frozen model when there is
  one, else the policy itself with its LoRA adapter switched off (or the `ref` adapter switched on),
  so LoRA training never holds a second copy of the weights;
- log-probabilities of labelled tokens, and evaluation through compute_loss.
"""
import contextlib
import gc
from collections import defaultdict
from typing import Any, Dict, List, Optional, Tuple

import torch

from swift.training.trainer import SwiftTrainer
from swift.tuners.saving import is_peft_model
from swift.utils import SwiftError, get_logger

from .losses import token_logps

logger = get_logger()
REF_ADAPTER = 'ref'


def sequence_logps(model, input_ids, attention_mask, labels, temperature: float = 1.0, **forward_kwargs):
    """(per-token log-probs [B, L-1], mask [B, L-1], model output) of the labelled tokens."""
    outputs = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **forward_kwargs)
    per_token, mask = token_logps(outputs.logits, labels, temperature)
    return per_token, mask, outputs


class RLHFTrainer(SwiftTrainer):
    """Base of the alignment trainers; subclasses implement compute_loss."""
    # Our losses are means over the micro-batch: the Trainer divides them by the accumulation steps.
    loss_is_scaled_for_ga = False
    # --precompute_ref_log_probs: the item fields reference_logps(batch) reads when they are there, in the order
    # it returns them (the algorithms that can precompute set them)
    PRECOMPUTED: Tuple[str, ...] = ()

    def __init__(self, *args, rlhf_args=None, ref_model=None, **kwargs):
        kwargs.setdefault('chunked_loss', False)  # every algorithm computes its own loss from log-probabilities
        super().__init__(*args, **kwargs)
        self.rlhf_args = rlhf_args
        self.ref_model = ref_model
        if ref_model is not None:
            ref_model.eval()
            ref_model.requires_grad_(False)
        self._metrics: Dict[str, Dict[str, list]] = {'train': defaultdict(list), 'eval': defaultdict(list)}

    # ---- metrics ------------------------------------------------------------------------------
    @property
    def _mode(self) -> str:
        return 'train' if self.model.training else 'eval'

    def record(self, **values: Any) -> None:
        """Remember metric values of this step; names may contain '/', e.g. record(**{'rewards/chosen': x})."""
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                value = value.detach().float().mean().item()
            if value is not None:
                self._metrics[self._mode][name].append(float(value))

    def log(self, logs: Dict[str, float], start_time: Optional[float] = None) -> None:
        mode = 'eval' if any(key.startswith('eval_') for key in logs) else 'train'
        prefix = 'eval_' if mode == 'eval' else ''
        totals = self._totals_over_ranks({name: (sum(values), len(values))
                                          for name, values in self._metrics[mode].items() if values})
        logs.update({f'{prefix}{name}': round(total / count, 6) for name, (total, count) in totals.items()})
        self.derived_metrics(logs, prefix)
        self._metrics[mode].clear()
        super().log(logs, start_time)

    def derived_metrics(self, logs: Dict[str, float], prefix: str) -> None:
        """Metrics computed from the logged means (over every rank's rows); none by default."""

    def _totals_over_ranks(self, totals: Dict[str, Tuple[float, int]]) -> Dict[str, Tuple[float, int]]:
        """{name: (sum, count)} summed over all processes, so that a logged metric is the mean over every rank's
        rows (as one process with their whole batch would log it), not rank 0's alone. Every rank logs at the
        same step (the Trainer gathers the loss there), so this collective is reached by all of them."""
        if self.accelerator.num_processes <= 1:
            return totals
        import torch.distributed as dist
        gathered: List[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, totals)
        merged: Dict[str, Tuple[float, int]] = {}
        for part in gathered:
            for name, (total, count) in part.items():
                before = merged.get(name, (0.0, 0))
                merged[name] = (before[0] + total, before[1] + count)
        return dict(sorted(merged.items()))

    def sum_over_ranks(self, tensor: torch.Tensor) -> torch.Tensor:
        """tensor summed over all processes (a collective: every rank calls it at the same point of its step, which
        holds for the per-step statistics that use it); the tensor itself on one process."""
        if self.accelerator.num_processes <= 1:
            return tensor
        return self.accelerator.reduce(tensor.contiguous(), 'sum')

    def train(self, *args, **kwargs):
        """--precompute_ref_log_probs: score every item with the reference once, free it, then train."""
        if getattr(self.rlhf_args, 'precompute_ref_log_probs', False):
            for items in (self.train_dataset, self.eval_dataset):
                if items:
                    self.precompute_reference(items)
            self.free_reference()
            logger.info('reference log-probabilities precomputed; the reference model is freed')
        return super().train(*args, **kwargs)

    # ---- the reference model ------------------------------------------------------------------
    @contextlib.contextmanager
    def reference(self):
        """The reference model, for forward passes under torch.no_grad()."""
        if self.ref_model is not None:
            yield self.ref_model
            return
        model = self.accelerator.unwrap_model(self.model)
        if not is_peft_model(model):
            raise SwiftError('no reference model: full fine-tuning needs --ref_model (or the same --model loaded '
                             'a second time, which swift rlhf does by default)')
        if REF_ADAPTER in model.peft_config:  # --ref_adapters: the reference is base + those adapters
            active = model.active_adapter
            model.set_adapter(REF_ADAPTER, inference_mode=True)
            try:
                yield model
            finally:
                model.set_adapter(active)
            return
        with model.disable_adapter():
            yield model

    @torch.no_grad()
    def precompute_reference(self, items: List[Dict[str, Any]]) -> None:
        """Add the reference's log-probabilities (the PRECOMPUTED fields) to every item, a batch of the eval batch
        size at a time, so that training reads them instead of running the reference."""
        batch_size = self.args.per_device_eval_batch_size
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(items), batch_size):
                chunk = items[start:start + batch_size]
                batch = {k: v.to(self.args.device) for k, v in self.data_collator(chunk).items()}
                values = [value.tolist() for value in self.reference_logps(batch)]
                for item, row in zip(chunk, zip(*values)):
                    item.update(zip(self.PRECOMPUTED, row))
        finally:
            self.model.train(was_training)

    def free_reference(self) -> None:
        """After --precompute_ref_log_probs the reference model is no longer needed."""
        if self.ref_model is not None:
            self.ref_model = None
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    # ---- evaluation ---------------------------------------------------------------------------
    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None
