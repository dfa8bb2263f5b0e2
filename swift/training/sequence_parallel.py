"""Sequence parallelism (`--sequence_parallel_size N`): DeepSpeed-Ulysses all-to-all over the attention heads.

N consecutive ranks form a sequence-parallel group. At each step the group's rows (each rank's own batch, as the
data loader shards them) are gathered, right-padded to one length (a multiple of N), and every rank runs the model
on 1/N of the positions of all those rows: embeddings, MLPs, norms and the loss see a rank's positions only. Inside
attention, an all-to-all turns [its positions, all heads] into [all positions, heads / N], SDPA runs causally
over the whole row, and a second all-to-all turns the result back. Rotary positions are the row's own
(position_ids of the slice).

Why the loss is scaled: rank r's loss is its positions' summed cross-entropy over the group's number of trained
tokens, so the group's losses add up to the one-process mean. The parameters get their gradient from every rank
of the group (the all-to-all's backward carries the other ranks' share back), and DDP then averages over all
ranks, i.e. divides by N once too often: each rank's loss is multiplied by N. The logged loss (the Trainer's mean
over ranks) is then the one-process loss.

The attention is registered with transformers' AttentionInterface (`swift_ulysses`); the library is not patched.
Labels are shifted once over the whole row before it is split, so the last position of a slice predicts the first
token of the next. Rows are right-padded and attention is causal, so no real token attends to padding.

Supported: swift sft / pt under DDP (the plain Trainer loss path). Refused (SwiftError, before any process starts
where possible): FSDP/DeepSpeed, packing / padding_free (their rows carry boundaries), RLHF, and head counts that
N does not divide.
"""
from typing import Any, Dict, List, Optional, Tuple

import torch

from swift.utils import SwiftError, get_logger

logger = get_logger()
ULYSSES = 'swift_ulysses'
_STATE: Dict[str, Any] = {'group': None, 'size': 1, 'rank': 0, 'active': False}


def setup(size: int, model) -> None:
    """Form the groups of `size` consecutive ranks (every rank creates every group, as torch requires), check the
    model's heads, and switch its attention to swift_ulysses."""
    import torch.distributed as dist
    world = dist.get_world_size() if dist.is_initialized() else 1
    if world % size:
        raise SwiftError(f'--sequence_parallel_size {size} must divide the number of processes ({world})')
    config = getattr(getattr(model, 'get_base_model', lambda: model)(), 'config', None)
    heads = getattr(config, 'num_attention_heads', None)
    if not heads or heads % size:
        raise SwiftError(f'--sequence_parallel_size {size} must divide the attention heads of the model ({heads})')
    me = dist.get_rank()
    _STATE.update(group=None, size=1, rank=0, active=False, announced=False)
    for start in range(0, world, size):
        group = dist.new_group(list(range(start, start + size)))
        if start <= me < start + size:
            _STATE.update(group=group, size=size, rank=me - start)
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    base.set_attn_implementation(register())
    logger.info(f'sequence parallelism: groups of {size} processes (Ulysses all-to-all over the heads)')


def register() -> str:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    AttentionInterface.register(ULYSSES, ulysses_attention)
    AttentionMaskInterface.register(ULYSSES, sdpa_mask)
    return ULYSSES


def _all_to_all(x: torch.Tensor) -> torch.Tensor:
    """x [N, ...] → [N, ...]: chunk i goes to rank i of the group, chunk j received comes from rank j (autograd)."""
    from torch.distributed import _functional_collectives as funcol
    # torch's functional all-to-all (its backward is the reverse all-to-all); torch.distributed.nn's is deprecated
    return funcol.wait_tensor(funcol.all_to_all_single(x.contiguous(), None, None, _STATE['group']))


def _positions_to_heads(x: torch.Tensor) -> torch.Tensor:
    """[B, H, s, D] (this rank's s positions, every head) → [B, H/N, N·s, D] (every position, this rank's heads)."""
    n, (b, h, s, d) = _STATE['size'], x.shape
    parts = x.reshape(b, n, h // n, s, d).permute(1, 0, 2, 3, 4)  # [N (head chunk), B, H/N, s, D]
    got = _all_to_all(parts)  # [N (position chunk = source rank), B, H/N, s, D]
    return got.permute(1, 2, 0, 3, 4).reshape(b, h // n, n * s, d)


def _heads_to_positions(x: torch.Tensor) -> torch.Tensor:
    """The inverse: [B, H/N, N·s, D] → [B, H, s, D]."""
    n, (b, hn, length, d) = _STATE['size'], x.shape
    s = length // n
    parts = x.reshape(b, hn, n, s, d).permute(2, 0, 1, 3, 4)  # [N (position chunk), B, H/N, s, D]
    got = _all_to_all(parts)  # [N (head chunk = source rank), B, H/N, s, D]
    return got.permute(1, 0, 2, 3, 4).reshape(b, n * hn, s, d)


def ulysses_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      attention_mask: Optional[torch.Tensor], dropout: float = 0.0, scaling: Optional[float] = None,
                      is_causal: Optional[bool] = None, **kwargs) -> Tuple[torch.Tensor, None]:
    """Causal attention over the whole row from this rank's slice of it; outside a sequence-parallel step (an
    evaluation or generation call) plain sdpa."""
    if not _STATE['active']:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    n, heads = _STATE['size'], query.shape[1]
    if key.shape[1] % n:  # fewer key/value heads than processes: give each its query heads' copy
        key, value = (t.repeat_interleave(heads // t.shape[1], dim=1) for t in (key, value))
    q, k, v = (_positions_to_heads(t) for t in (query, key, value))
    gqa = {'enable_gqa': True} if k.shape[1] != q.shape[1] else {}
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=dropout if module.training else 0.0,
                                                           scale=scaling, is_causal=True, **gqa)
    return _heads_to_positions(out).transpose(1, 2).contiguous(), None


def _gather_rows(inputs) -> Tuple[List[List[int]], List[List[int]]]:
    """The (input ids, labels) of the group's rows without their padding, in group-rank order."""
    import torch.distributed as dist
    mask = inputs.get('attention_mask')
    rows = []
    for i in range(inputs['input_ids'].shape[0]):
        keep = mask[i].bool() if mask is not None else slice(None)
        rows.append((inputs['input_ids'][i][keep].tolist(), inputs['labels'][i][keep].tolist()))
    gathered: List[Any] = [None] * _STATE['size']
    dist.all_gather_object(gathered, rows, group=_STATE['group'])
    every = [row for part in gathered for row in part]
    return [r[0] for r in every], [r[1] for r in every]


def loss(trainer, model, inputs, num_items_in_batch=None) -> Tuple[torch.Tensor, int, int]:
    """(this rank's share of the group's loss, scaled as the module docstring says; trained tokens; correct).
    Each micro-batch is normalised by its own trained tokens; with gradient accumulation the micro-batches'
    losses are averaged (divided here when the Trainer leaves the division to the loss, as for models that take
    num_items_in_batch)."""
    ids, labels = _gather_rows(inputs)
    n, me = _STATE['size'], _STATE['rank']
    length = -(-max(len(r) for r in ids) // n) * n
    tokenizer = getattr(trainer.processing_class, 'tokenizer', trainer.processing_class)  # a processor's tokenizer
    pad = tokenizer.pad_token_id if tokenizer is not None else 0
    device = inputs['input_ids'].device
    input_ids = torch.tensor([r + [pad] * (length - len(r)) for r in ids], device=device)
    # the label each position predicts (shifted over the whole row, before it is split)
    targets = torch.tensor([r[1:] + [-100] * (length - len(r) + 1) for r in labels], device=device)
    span = slice(me * length // n, (me + 1) * length // n)
    positions = torch.arange(length, device=device)[span].expand(len(ids), -1)
    if not _STATE.get('announced'):
        _STATE['announced'] = True
        logger.info(f'sequence parallelism: {len(ids)} rows of {length} positions; this rank holds positions '
                    f'{span.start}-{span.stop - 1}')
    _STATE['active'] = True
    try:
        logits = model(input_ids=input_ids[:, span], position_ids=positions, use_cache=False).logits
    finally:
        _STATE['active'] = False
    target = targets[:, span]
    trained = int((targets != -100).sum())
    summed = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), target.flatten(), ignore_index=-100,
                                               reduction='sum')
    with torch.no_grad():
        mask = target != -100
        correct = int((logits.argmax(-1)[mask] == target[mask]).sum())
    scaled = summed / max(trained, 1) * n
    if trainer.model_accepts_loss_kwargs and num_items_in_batch is not None:
        scaled = scaled / trainer.args.gradient_accumulation_steps
    return scaled, int(mask.sum()), correct
