"""What PPO and GRPO share: each step samples completions for its prompts, then learns from them.

A batch holds prompts (data.PromptCollator). compute_loss generates with the current policy
(rollout.py), builds [prompt + completion] rows whose labels are the completion tokens, and hands
them to the algorithm. One policy update per rollout (on-policy): the "old" log-probs of the
clipped objective are the current ones, detached, exactly as TRL's GRPO with num_iterations=1.

Under FSDP2 and DeepSpeed ZeRO-3 the policy's parameters are all-gathered once for the whole rollout (as TRL
gathers ZeRO-3's for generation): each forward of a sharded model is a collective, and ranks whose completions end at
different lengths would otherwise call it a different number of times and wait on each other until the timeout.
"""
import contextlib
from typing import Any, Dict, List, Sequence

import torch

from swift.dataset.alignment import MEDIA_KEYS

from .base import RLHFTrainer, sequence_logps
from .losses import IGNORE_INDEX
from .rollout import Completion


class OnlineTrainer(RLHFTrainer):

    def __init__(self, *args, rollout=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rollout = rollout

    def generate(self, rows: Sequence[Dict[str, Any]], n: int) -> List[List[Completion]]:
        seed = self.args.seed + 7919 * (self.state.global_step + 1) + (0 if self.model.training else 10**6)
        # prompt i of this rank is prompt process_index × len(rows) + i of the step's global batch (accelerate
        # hands rank r the r-th per-device batch): its seed is the one a single process would give it
        seed += 1000 * self.args.process_index * len(rows)
        if hasattr(self.rollout, 'optimizer'):  # --offload_optimizer moves its state out while vLLM generates
            self.rollout.optimizer = self.optimizer
        with self.unsharded_policy():
            return self.rollout.generate(rows, n, seed)

    @contextlib.contextmanager
    def unsharded_policy(self):
        """Every parameter of the policy whole on every rank for the rollout, with no collective inside it: FSDP2's
        modules unsharded once, DeepSpeed ZeRO-3's parameters gathered once (as TRL's unwrap_model_for_generation
        does); nothing to do for DDP, ZeRO-1/2 and one process."""
        if self.is_fsdp_enabled:
            with self._fsdp_unsharded():
                yield
        elif self.is_deepspeed_enabled and self.accelerator.state.deepspeed_plugin.zero_stage == 3:
            with self._zero3_gathered():
                yield
        else:
            yield

    @contextlib.contextmanager
    def _fsdp_unsharded(self):
        """FSDP2: one all-gather per module, kept through the forwards of generation; sharded again afterwards,
        with each module's reshard-after-forward setting restored."""
        from torch.distributed.fsdp import FSDPModule
        modules = [m for m in self.model.modules() if isinstance(m, FSDPModule)]
        states = [m._get_fsdp_state() for m in modules]
        # (reshards after forward?, the root's "decide at lazy init" flag, which set_reshard_after_forward clears)
        settings = [(any(g.post_forward_mesh_info is not None for g in state._fsdp_param_groups),
                     state._auto_reshard_after_forward) for state in states]
        for module in modules:
            module.unshard()
            module.set_reshard_after_forward(False, recurse=False)
        try:
            yield
        finally:
            for module, state, (reshard, auto) in zip(modules, states, settings):
                module.reshard()
                module.set_reshard_after_forward(reshard, recurse=False)
                state._auto_reshard_after_forward = auto

    @contextlib.contextmanager
    def _zero3_gathered(self):
        """ZeRO-3: the parameters gathered once (deepspeed.zero.GatheredParameters), and the engine's per-module
        fetch/release hooks taken off while generating, then put back (TRL's remove_hooks / add_hooks, the same
        DeepSpeed attributes). With the hooks on, every module's forward would gather and release its parameters:
        a collective per forward (ranks whose completions end at different lengths wait on each other), and the
        gathered tensors would be made under the engine's inference mode, which then breaks setting requires_grad
        (LoRA's disable_adapter for the reference: "Setting requires_grad=True on inference tensor")."""
        import deepspeed
        optimizer = self.model_wrapped.optimizer
        offload = getattr(optimizer, 'parameter_offload', optimizer)
        with deepspeed.zero.GatheredParameters(list(self.model.parameters())):
            for parameter in offload.module.parameters():
                parameter.ds_active_sub_modules.clear()
            for hook in offload.forward_hooks + offload.backward_hooks:
                hook.remove()
            offload.forward_hooks, offload.backward_hooks = [], []
            try:
                yield
            finally:
                offload._register_deepspeed_module(offload.module)  # invalidates the coordinator's trace too

    def build_sequences(self, prompt_ids: Sequence[List[int]], completions: Sequence[Completion]) -> Dict[str, Any]:
        """Right-padded prompt + completion rows; labels (and the mask) cover the completion tokens only."""
        rows = []
        for prompt, completion in zip(prompt_ids, completions):
            ids = list(prompt) + list(completion.token_ids)
            rows.append({'input_ids': ids, 'labels': [IGNORE_INDEX] * len(prompt) + list(completion.token_ids)})
        width = max(len(r['input_ids']) for r in rows)
        # a multimodal run's processing_class is the processor; its tokenizer has the pad id
        pad = getattr(self.processing_class, 'tokenizer', self.processing_class).pad_token_id
        device = self.args.device

        def padded(key, fill):
            return torch.tensor([r[key] + [fill] * (width - len(r[key])) for r in rows], device=device)

        attention = torch.tensor([[1] * len(r['input_ids']) + [0] * (width - len(r['input_ids'])) for r in rows],
                                 device=device)
        return {'input_ids': padded('input_ids', pad), 'labels': padded('labels', IGNORE_INDEX),
                'attention_mask': attention}

    def attach_media(self, batch: Dict[str, Any], rows: Sequence[Dict[str, Any]]) -> None:
        """Prompts with images (videos, audios): batch['media'], their tensors (pixel_values, ...) for the forwards
        on [prompt + completion], each row's encoded by the rollout's template as the engine encoded it for
        sampling, and collated against the batch's padded ids. Text prompts: nothing."""
        if not any(row.get(key) for row in rows for key in MEDIA_KEYS):
            return
        template = self.rollout.template
        media = [template.model_media_inputs(template.encode(row, for_inference=True)) for row in rows]
        collated = template.collate_media(media, input_ids=batch['input_ids'].cpu())
        batch['media'] = {key: value.to(self.args.device) if hasattr(value, 'to') else value
                          for key, value in collated.items()}

    def policy_logps(self, model, batch, **forward_kwargs):
        """(per-token log-probs, completion mask, outputs) at the sampling temperature."""
        return sequence_logps(model, batch['input_ids'], batch['attention_mask'], batch['labels'],
                              temperature=self.rlhf_args.temperature, **batch.get('media', {}), **forward_kwargs)

    @torch.no_grad()
    def reference_token_logps(self, batch) -> torch.Tensor:
        with self.reference() as ref:
            per_token, _, _ = sequence_logps(ref, batch['input_ids'], batch['attention_mask'], batch['labels'],
                                             temperature=self.rlhf_args.temperature, **batch.get('media', {}))
        return per_token

    def record_completions(self, completions: Sequence[Completion]) -> None:
        lengths = torch.tensor([len(c.token_ids) for c in completions], dtype=torch.float32)
        self.record(**{'completions/mean_length': lengths.mean(), 'completions/max_length': lengths.max(),
                       'completions/clipped_ratio': sum(c.finish_reason == 'length' for c in completions)
                       / len(completions)})

    def close(self) -> None:
        if self.rollout is not None:
            self.rollout.close()
