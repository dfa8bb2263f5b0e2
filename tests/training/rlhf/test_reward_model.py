"""Reward models: loading a causal LM as a scorer, pooling at the last token, checkpoints of every kind."""
import json
from pathlib import Path

import torch

from swift.infer.reward_model import RewardModel, load_seq_cls_model, sequence_scores

from .test_tiny_runs import PAIRS, run


def test_a_causal_checkpoint_with_tied_embeddings_keeps_its_embeddings(smollm_dir):
    """SmolLM2's converted checkpoint stores the tied embedding as lm_head.weight only; a direct
    AutoModelForSequenceClassification load would leave the input embeddings random."""
    from transformers import AutoModelForCausalLM
    model, tokenizer = load_seq_cls_model(str(smollm_dir), {'torch_dtype': 'float32'})
    causal = AutoModelForCausalLM.from_pretrained(str(smollm_dir), dtype=torch.float32)
    assert torch.equal(model.get_input_embeddings().weight, causal.get_input_embeddings().weight)
    assert model.config.num_labels == 1 and model.config.pad_token_id == tokenizer.pad_token_id


def test_scores_pool_at_the_last_attended_token(tiny_model_dir):
    model, _ = load_seq_cls_model(str(tiny_model_dir))
    torch.manual_seed(0)
    long, short = torch.randint(10, 500, (1, 9)), torch.randint(10, 500, (1, 5))
    padded = torch.cat([short, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    batch = torch.cat([long, padded])
    mask = torch.tensor([[1] * 9, [1] * 5 + [0] * 4])
    with torch.no_grad():
        together = sequence_scores(model, batch, mask)
        alone = torch.cat([sequence_scores(model, long, torch.ones_like(long)),
                           sequence_scores(model, short, torch.ones_like(short))])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)


def test_full_reward_model_checkpoint_loads_as_a_scorer(tiny_model_dir, tmp_path):
    result = run(tiny_model_dir, tmp_path / 'out', 'rm', PAIRS, tuner_type='full', max_steps=1)
    checkpoint = Path(result.last_checkpoint)
    config = json.loads((checkpoint / 'config.json').read_text())
    assert config['architectures'] == ['LlamaForSequenceClassification']
    scorer = RewardModel.load(str(checkpoint))
    assert scorer.template.name == 'smollm2'
    first = scorer.score([PAIRS[0]['messages']])
    assert RewardModel.load(str(checkpoint)).score([PAIRS[0]['messages']]) == first  # the trained head, every time
