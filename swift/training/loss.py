"""The causal-LM loss computed in chunks from the last hidden states, on trained positions only.

The usual path projects every position of the batch onto the vocabulary (for SmolLM2 and a batch
of 4 x 512 tokens: a 2048 x 49152 float32 logits tensor, 400 MB), then keeps it, its log-softmax and
its gradient alive until backward: about 1.2 GB that does no useful work for prompt and padding
positions. Here the projection runs over chunks of the trained positions only; each chunk's loss,
argmax and gradients (d loss / d hidden and, for a trained head, d loss / d weight) are computed at
once while the chunk's logits are in hand, and the chunk is freed. Backward only scales the stored
gradients. This is the approach of Liger-Kernel's fused linear cross-entropy, which needs Triton
(GPU only); this version is plain PyTorch and runs on every device.

`ChunkedLossModel` decides whether a model can take this path: a transformers causal LM (or a multimodal
image/audio-text-to-text model: its media are merged into the decoder's inputs, the rest is the same) whose
forward is "decoder, then a plain Linear head" (no logit soft-capping or scaling, no
prompt-learning adapter or adapter with loss terms of its own, no wrapped or adapted head). Before first use it checks on a slice of a
real batch that the chunked loss equals the model's own loss, and keeps the model's loss if not.
"""
import inspect
import math
from typing import Any, Dict, Optional, Tuple

import torch

from swift.utils import get_logger

from .collator import sequence_boundaries

logger = get_logger()
IGNORE_INDEX = -100
# At most 128 MB of float32 logits per chunk (680 rows of SmolLM2's 49k vocabulary, 220 of a 152k
# one). The head's matmul reads the whole weight once per chunk, so narrow chunks are slow: on a
# 2-core CPU, 42-row chunks took twice as long as 512-row ones for the same rows.
CHUNK_ELEMENTS = 2**25
MIN_CHUNK_ROWS = 32
# Config attributes that change logits after the head; models that have one keep their own loss.
_LOGIT_TRANSFORMS = ('final_logit_softcapping', 'logit_softcapping', 'logit_scale', 'logits_scaling',
                     'output_logits_scale', 'lm_head_multiplier', 'mup_width_scale')
# Batch keys of a text-only batch; any other key (pixel values, ...) keeps a text model's own loss (a multimodal
# model takes its media keys).
_DECODER_KEYS = ('input_ids', 'attention_mask', 'position_ids', 'use_cache', 'cu_seq_lens_q', 'cu_seq_lens_k',
                 'max_length_q', 'max_length_k')


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    """sum_i CE(hidden_i @ weight.T + bias, target_i), with gradients computed during forward."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, target, chunk_rows: int):
        want_hidden, want_weight, want_bias = ctx.needs_input_grad[:3]
        grad_hidden = torch.empty_like(hidden) if want_hidden else None
        grad_weight = torch.zeros_like(weight, dtype=torch.float32) if want_weight else None
        grad_bias = torch.zeros_like(bias, dtype=torch.float32) if want_bias else None
        loss = hidden.new_zeros((), dtype=torch.float32)
        correct = torch.zeros((), dtype=torch.long, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk_rows):
            h, t = hidden[start:start + chunk_rows], target[start:start + chunk_rows]
            logits = torch.nn.functional.linear(h, weight, bias).float()
            rows = torch.arange(len(t), device=t.device)
            target_logit = logits[rows, t]  # a copy: the logits are overwritten below
            top, argmax = logits.max(dim=-1)
            correct += (argmax == t).sum()
            # All in place over the chunk: the logits become exp(logits - max), then the softmax.
            exp = logits.sub_(top[:, None]).exp_()
            total = exp.sum(dim=-1)
            loss += (top + total.log() - target_logit).sum()
            if grad_hidden is None and grad_weight is None and grad_bias is None:
                continue
            # d CE / d logits = softmax - one_hot(target)
            probs = exp.div_(total[:, None])
            probs[rows, t] -= 1
            if grad_hidden is not None:
                grad_hidden[start:start + chunk_rows] = probs.to(weight.dtype) @ weight
            if grad_weight is not None:
                grad_weight += probs.t() @ h.float()
            if grad_bias is not None:
                grad_bias += probs.sum(dim=0)
        ctx.save_for_backward(*(g if g is not None else torch.empty(0) for g in (grad_hidden, grad_weight, grad_bias)))
        ctx.mark_non_differentiable(correct)
        ctx.weight_dtype = weight.dtype
        return loss, correct

    @staticmethod
    def backward(ctx, grad_loss, _grad_correct):
        grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
        want_hidden, want_weight, want_bias = ctx.needs_input_grad[:3]
        return (grad_hidden * grad_loss.to(grad_hidden.dtype) if want_hidden else None,
                (grad_weight * grad_loss).to(ctx.weight_dtype) if want_weight else None,
                (grad_bias * grad_loss).to(ctx.weight_dtype) if want_bias else None, None, None)


def even_chunk_rows(total: int, most: int) -> int:
    """Rows per chunk when `total` rows are split into as few chunks of at most `most` rows as possible,
    all of about the same size (so that no chunk is a narrow, slow remainder)."""
    chunks = max(1, math.ceil(total / most))
    return max(1, math.ceil(total / chunks))


def chunked_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, target: torch.Tensor,
                          bias: Optional[torch.Tensor] = None, chunk_rows: Optional[int] = None
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """(summed cross-entropy, number of argmax hits) of `hidden` [N, d] projected by `weight` [V, d]."""
    if chunk_rows is None:
        chunk_rows = even_chunk_rows(hidden.shape[0], max(MIN_CHUNK_ROWS, CHUNK_ELEMENTS // weight.shape[0]))
    return _ChunkedLinearCrossEntropy.apply(hidden, weight, bias, target, chunk_rows)


def _unwrap_peft(model):
    """The transformers model under a PEFT wrapper (adapters injected), and why the adapter needs the model's
    own loss, if it does: prompt learning (prefix/prompt/p-tuning) edits the inputs, and tuners with their own
    forward (AdaLoRA's orthogonal regularisation, ...) add terms to the loss the model returns."""
    peft_config = getattr(model, 'active_peft_config', None)
    if peft_config is None or not hasattr(model, 'get_base_model'):
        return model, None
    if getattr(peft_config, 'is_prompt_learning', False):
        return model.get_base_model(), 'a prompt-learning adapter edits the inputs'
    from peft.tuners.tuners_utils import BaseTuner
    tuner = getattr(model, 'base_model', None)
    if isinstance(tuner, BaseTuner) and type(tuner).forward is not BaseTuner.forward:
        return model.get_base_model(), f'{type(tuner).__name__} adds its own terms to the loss'
    return model.get_base_model(), None


class ChunkedLossModel:
    """The chunked loss for one model, or the reason it cannot take it (`reason`).

    The model still runs its own forward (through any DDP or PEFT wrapper), asked for the logits of
    the last position only (`logits_to_keep=1`); a hook on its decoder hands over the last hidden
    states, from which the loss is computed here.
    """

    def __init__(self, model):
        self.head = None
        self.multimodal = False
        self.verified = False
        self._hidden = None
        self._armed = False
        self.reason = self._check(model)

    def _check(self, model) -> Optional[str]:
        from transformers.models.auto import modeling_auto
        base, adapter_reason = _unwrap_peft(model)
        if adapter_reason:
            return adapter_reason
        name = type(base).__name__
        self.multimodal = any(name in getattr(modeling_auto, mapping, {}).values()
                              for mapping in ('MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES',
                                              'MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES'))
        if not self.multimodal and name not in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values():
            return f'{name} is not a causal or multimodal LM of transformers'
        parameters = inspect.signature(type(base).forward).parameters
        # a multimodal forward without the keyword (Qwen2-Audio) passes it on to its decoder; a hook on the head
        # keeps its projection to the last position (last_hidden_states)
        passes_on = self.multimodal and any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        if 'logits_to_keep' not in parameters and not passes_on:
            return f'{name}.forward has no logits_to_keep'
        config = getattr(base, 'config', None)
        transforms = [name for name in _LOGIT_TRANSFORMS if getattr(config, name, None) not in (None, 1, 1.0)]
        if transforms:
            return f'the model transforms its logits ({", ".join(transforms)})'
        decoder = base.get_decoder() if hasattr(base, 'get_decoder') else None
        head = base.get_output_embeddings() if hasattr(base, 'get_output_embeddings') else None
        if decoder is None or decoder is base:
            return 'the model has no separate decoder'
        if type(head) is not torch.nn.Linear:
            return f'the output head is a {type(head).__name__}, not a plain Linear (adapted or wrapped)'
        self.head = head
        decoder.register_forward_hook(self._capture)
        return None

    def _capture(self, module, args, output):
        if self._armed:
            self._hidden = output.last_hidden_state if hasattr(output, 'last_hidden_state') else output[0]

    def usable(self, inputs: Dict[str, Any]) -> bool:
        if self.reason is not None or inputs.get('labels') is None:
            return False
        mask = inputs.get('attention_mask')
        return ((self.multimodal or all(key in _DECODER_KEYS or key == 'labels' for key in inputs))
                and (mask is None or mask.dim() == 2))

    def last_hidden_states(self, model, inputs: Dict[str, Any]) -> torch.Tensor:
        self._armed, self._hidden = True, None
        # the head sees the last position only, also in a forward without logits_to_keep (Qwen2-Audio's)
        last_only = self.head.register_forward_pre_hook(lambda module, args: (args[0][..., -1:, :], *args[1:]))
        try:
            model(**{k: v for k, v in inputs.items() if k != 'labels'}, logits_to_keep=1)
        finally:
            self._armed = False
            last_only.remove()
        hidden, self._hidden = self._hidden, None
        if hidden is None:
            raise RuntimeError('the decoder hook saw no forward pass')
        return hidden

    def loss(self, model, inputs: Dict[str, Any], num_items_in_batch=None) -> Tuple[torch.Tensor, int, int]:
        """(loss, trained tokens, argmax hits); the loss is normalised as transformers' causal-LM loss:
        summed over trained tokens, divided by num_items_in_batch when given, else by their count."""
        hidden = self.last_hidden_states(model, inputs)
        target = inputs['labels'][:, 1:]
        trained = target != IGNORE_INDEX
        total, correct = chunked_cross_entropy(hidden[:, :-1][trained], self.head.weight, target[trained],
                                               bias=self.head.bias)
        count = int(trained.sum())
        divisor = num_items_in_batch if num_items_in_batch is not None else max(count, 1)
        if isinstance(divisor, torch.Tensor):
            divisor = divisor.to(total.device)
        return total / divisor, count, int(correct)

    def verify(self, model, inputs: Dict[str, Any], extra: int = 64) -> bool:
        """Once: on a slice of a real batch (one row, up to `extra` tokens past its first trained one), in
        eval mode (no dropout), the chunked loss must equal the model's own loss. False, with `reason`
        set, when it does not (or when the batch trains nothing, so that a later batch is checked)."""
        if self.verified or self.reason is not None:
            return self.verified
        trained = inputs['labels'][:, 1:] != IGNORE_INDEX
        rows = trained.any(dim=1).nonzero().flatten()
        if not len(rows):
            return False
        row = int(rows[0])
        length = int(trained[row].nonzero()[0]) + 1 + extra
        piece = {k: (v[row:row + 1, :length] if isinstance(v, torch.Tensor) and v.dim() == 2 else v)
                 for k, v in inputs.items()}
        if any(k not in _DECODER_KEYS and k != 'labels' for k in inputs):
            piece = dict(inputs)  # media tensors are not laid out per row (nor cut with the text): the whole batch
        if 'cu_seq_lens_q' in piece:  # the sequence boundaries of the slice, not of the batch
            piece.update(sequence_boundaries(piece['position_ids']))
        was_training = model.training
        model.eval()
        # One forward gives both: the model's own loss over its full logits, and (through the decoder hook) the
        # hidden states the chunked loss projects: the check costs one forward of the slice, not two.
        self._armed, self._hidden = True, None
        try:
            with torch.no_grad():
                reference = float(model(**piece).loss)
                hidden = self._hidden
                if hidden is None:
                    raise RuntimeError('the decoder hook saw no forward pass')
                target = piece['labels'][:, 1:]
                trained = target != IGNORE_INDEX
                total = chunked_cross_entropy(hidden[:, :-1][trained], self.head.weight, target[trained],
                                              bias=self.head.bias)[0]
                ours = float(total) / max(int(trained.sum()), 1)
        finally:
            self._armed, self._hidden = False, None
            model.train(was_training)
        if not math.isclose(ours, reference, rel_tol=1e-4, abs_tol=1e-5):
            self.reason = (f'its own loss on a slice of the first batch ({reference:.6f}) differs from the '
                           f'chunked loss ({ours:.6f})')
            logger.warning(f"chunked loss disabled: {self.reason}; using the model's own loss")
            return False
        self.verified = True
        logger.info("loss: chunked over trained positions (equal to the model's own loss on a slice of the first "
                    'batch, or on all of it when it holds media)')
        return True
