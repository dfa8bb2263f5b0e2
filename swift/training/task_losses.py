"""The losses of --task_type seq_cls / embedding / reranker (ms-swift's --loss_type names and environment
variables). Each returns (loss, hits): hits is a bool tensor (a correct class, a positive ranked first) for the
logged accuracy, or None where the loss has no such notion.

embedding (vectors are L2-normalised, so a dot product is the cosine similarity):
    infonce             cross-entropy of each anchor over its positive and the negatives: the other rows'
                        positives (INFONCE_USE_BATCH, default true) and its own hard negatives, similarities
                        divided by INFONCE_TEMPERATURE (default 0.1); INFONCE_MASK_FAKE_NEGATIVE drops negatives
                        scoring above the positive + INFONCE_FAKE_NEG_MARGIN (default 0.1)
    cosine_similarity   MSE between cos(anchor, positive) and the row's label
    contrastive         label 1: d^2, label 0: max(0, margin - d)^2, halved; d = 1 - cos, margin 0.5
    online_contrastive  the same on the hard pairs only (positives farther than the nearest negative,
                        negatives nearer than the farthest positive), summed
reranker / generative_reranker (one score per document, groups of one positive then negatives):
    pointwise_reranker  binary cross-entropy: the positive relevant, each negative not
    listwise_reranker   cross-entropy of the positive over its group, scores / LISTWISE_RERANKER_TEMPERATURE
                        (default 1.0); groups smaller than LISTWISE_RERANKER_MIN_GROUP_SIZE (default 2) are skipped
"""
import os
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from swift.utils import SwiftError

CONTRASTIVE_MARGIN = 0.5


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ('1', 'true', 'yes')


# ---------------------------------------------------------------- seq_cls


def seq_cls_loss(logits: torch.Tensor, labels: torch.Tensor, problem_type: str):
    """As transformers' sequence classifiers: MSE (regression), cross-entropy, or BCE per label."""
    if problem_type == 'regression':
        return F.mse_loss(logits.squeeze(-1), labels.to(logits.dtype).view(-1)), None
    if problem_type == 'multi_label_classification':
        return (F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype)),
                ((logits > 0) == (labels > 0.5)).all(dim=-1))
    labels = labels.long().view(-1)
    return F.cross_entropy(logits, labels), logits.argmax(dim=-1) == labels


# ---------------------------------------------------------------- embedding


def embedding_loss(loss_type: str, vectors: torch.Tensor, negatives_per_row: torch.Tensor,
                   labels: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """`vectors`: the batch's anchors, then their positives, then every row's negatives in row order."""
    rows = len(negatives_per_row)
    anchors, positives, negatives = vectors[:rows], vectors[rows:2 * rows], vectors[2 * rows:]
    if loss_type == 'infonce':
        return infonce_loss(anchors, positives, negatives, negatives_per_row)
    if labels is None:
        raise SwiftError(f'--loss_type {loss_type} needs a "label" in every row')
    cosine = (anchors * positives).sum(dim=-1)
    if loss_type == 'cosine_similarity':
        return F.mse_loss(cosine, labels.to(cosine.dtype)), None
    distance = 1 - cosine
    hinge = F.relu(CONTRASTIVE_MARGIN - distance)
    if loss_type == 'contrastive':
        loss = 0.5 * (labels * distance.pow(2) + (1 - labels) * hinge.pow(2)).mean()
        return loss, (distance < CONTRASTIVE_MARGIN) == (labels > 0.5)
    if loss_type == 'online_contrastive':
        positive, negative = distance[labels > 0.5], distance[labels <= 0.5]
        hard_negative = negative[negative < (positive.max() if len(positive) > 1 else negative.mean())]
        hard_positive = positive[positive > (negative.min() if len(negative) > 1 else positive.mean())]
        loss = hard_positive.pow(2).sum() + F.relu(CONTRASTIVE_MARGIN - hard_negative).pow(2).sum()
        return loss, (distance < CONTRASTIVE_MARGIN) == (labels > 0.5)
    raise SwiftError(f'unknown embedding --loss_type {loss_type!r}')


def infonce_loss(anchors: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                 negatives_per_row: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    temperature = float(os.environ.get('INFONCE_TEMPERATURE', 0.1))
    use_batch = _env_bool('INFONCE_USE_BATCH', True)
    mask_fake = _env_bool('INFONCE_MASK_FAKE_NEGATIVE', False)
    margin = float(os.environ.get('INFONCE_FAKE_NEG_MARGIN', 0.1))
    rows = len(anchors)
    starts = torch.cumsum(negatives_per_row, 0) - negatives_per_row
    losses, hits = [], []
    for i in range(rows):
        own = negatives[int(starts[i]):int(starts[i]) + int(negatives_per_row[i])]
        others = torch.cat([positives[:i], positives[i + 1:]]) if use_batch else positives[:0]
        candidates = torch.cat([positives[i:i + 1], others, own])  # the positive is candidate 0
        similarity = candidates @ anchors[i]
        if mask_fake and len(similarity) > 1:
            fake = similarity[1:] > similarity[0] + margin
            similarity = torch.cat([similarity[:1], similarity[1:].masked_fill(fake, float('-inf'))])
        if len(similarity) < 2:
            raise SwiftError('infonce needs negatives: a batch of several rows (INFONCE_USE_BATCH) or '
                             '"negative_messages" in the rows')
        losses.append(F.cross_entropy((similarity / temperature)[None], similarity.new_zeros(1, dtype=torch.long)))
        hits.append(similarity.argmax() == 0)
    return torch.stack(losses).mean(), torch.stack(hits)


# ---------------------------------------------------------------- reranker


def reranker_loss(loss_type: str, scores: torch.Tensor, group_sizes: torch.Tensor
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """`scores`: one per document, groups of `group_sizes` documents, each group's positive first."""
    groups = torch.split(scores, group_sizes.tolist())
    hits = torch.stack([g.argmax() == 0 for g in groups])
    if loss_type == 'pointwise_reranker':
        targets = torch.cat([torch.arange(len(g), device=scores.device) == 0 for g in groups]).to(scores.dtype)
        return F.binary_cross_entropy_with_logits(scores, targets), hits
    if loss_type == 'listwise_reranker':
        temperature = float(os.environ.get('LISTWISE_RERANKER_TEMPERATURE', 1.0))
        min_size = int(os.environ.get('LISTWISE_RERANKER_MIN_GROUP_SIZE', 2))
        losses = [F.cross_entropy((g / temperature)[None], g.new_zeros(1, dtype=torch.long)) for g in groups
                  if len(g) >= min_size]
        if not losses:
            return scores.sum() * 0, hits  # nothing to rank in this batch: no gradient, no error
        return torch.stack(losses).mean(), hits
    raise SwiftError(f'unknown reranker --loss_type {loss_type!r}')
