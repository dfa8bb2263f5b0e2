"""Every --rlhf_type end to end on the tiny model: checkpoint, args.json, logged metrics, plots, swift infer, and
that training moves the model the way the algorithm promises (the preference margin, the reward)."""
import io
import json
from pathlib import Path

import pytest
import torch

from swift.training.rlhf import rlhf_main

PAIRS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'},
                       {'role': 'assistant', 'content': f'Ahoy! {i} plus {i} is {2 * i}.'}],
          'rejected_response': f'{i} plus {i} is {2 * i}.'} for i in range(8)]
PROMPTS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'}], 'solution': str(2 * i)}
           for i in range(4)]

PAIR_METRICS = ('rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen',
                'logps/rejected')
EXPECTED_METRICS = {
    'dpo': PAIR_METRICS,
    'orpo': PAIR_METRICS + ('nll_loss', 'log_odds_ratio'),
    'simpo': PAIR_METRICS,
    'cpo': PAIR_METRICS + ('nll_loss', ),
    'kto': ('kl', 'rewards/chosen', 'rewards/rejected', 'logps/chosen', 'logps/rejected'),
    'rm': ('rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies'),
    'grpo': ('reward', 'reward_std', 'kl', 'rewards/accuracy/mean', 'rewards/format/mean',
             'rewards/reward_model/mean', 'rewards/reward_model_2/mean', 'completions/mean_length',
             'completions/clipped_ratio'),
    'ppo': ('reward', 'kl', 'policy_loss', 'value_loss', 'values/mean', 'completions/mean_length'),
}


def run(tiny_model_dir, out, rlhf_type, rows, **extra):
    args = dict(rlhf_type=rlhf_type, model=str(tiny_model_dir), template='smollm2', output_dir=str(out),
                add_version=False, max_steps=2, save_steps=100, logging_steps=1, per_device_train_batch_size=2,
                learning_rate=1e-3, lora_dropout=0.0, report_to=['none'], seed=1)
    if rlhf_type in ('ppo', 'grpo'):
        args.update(max_new_tokens=8)
    if rlhf_type == 'grpo':
        args.update(num_generations=2)
    args.update(extra)
    return rlhf_main(rows=rows, **args)


def _records(output_dir):
    return [json.loads(line) for line in (Path(output_dir) / 'logging.jsonl').read_text().splitlines()]


def _check_run(result, rlhf_type, tiny_model_dir):
    run_dir = Path(result.output_dir)
    checkpoint = Path(result.last_checkpoint)
    assert checkpoint.name == 'checkpoint-2'
    for name in ('adapter_config.json', 'adapter_model.safetensors', 'args.json'):
        assert (checkpoint / name).is_file(), name
    saved = json.loads((checkpoint / 'args.json').read_text())
    assert saved['model'] == str(tiny_model_dir) and saved['template'] == 'smollm2'
    assert saved['rlhf_type'] == rlhf_type
    steps = [r for r in _records(run_dir) if 'loss' in r]
    assert [r['global_step'] for r in steps] == [1, 2]
    for key in EXPECTED_METRICS[rlhf_type]:  # (a KTO step may hold desirable rows only: look at every step)
        assert any(key in r for r in steps), key
        assert (run_dir / 'images' / f'{key.replace("/", "_")}.png').is_file(), key
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in steps)
    return checkpoint


def _infer_loads(checkpoint):
    """`swift infer --adapters checkpoint` answers a piped question with nothing else given."""
    from swift.arguments import InferArguments
    from swift.infer.main import infer_main
    from swift.utils.args import parse_args
    args = parse_args(InferArguments, ['--adapters', str(checkpoint), '--max_new_tokens', '3'])
    out = io.StringIO()
    assert infer_main(args, io.StringIO('What is 1 plus 1?\n'), out).answered == 1
    assert len(out.getvalue().splitlines()) == 1


def _pair_batch(tiny_model_dir):
    from transformers import AutoTokenizer
    from swift.template import get_template
    from swift.training.rlhf.data import PairCollator, RowEncoder
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    encoder = RowEncoder(get_template('smollm2', tokenizer=tokenizer), 'dpo')
    return PairCollator(tokenizer.pad_token_id)([encoder.encode(row) for row in PAIRS])


def _mean_logps(model, batch, temperature: float = 1.0):
    """Each labelled sequence's mean token log-probability under `model`."""
    from swift.training.rlhf.base import sequence_logps
    with torch.no_grad():
        per_token, mask, _ = sequence_logps(model.eval(), batch['input_ids'], batch['attention_mask'],
                                            batch['labels'], temperature=temperature)
    return (per_token * mask).sum(-1) / mask.sum(-1)


def _trained(tiny_model_dir, checkpoint):
    from transformers import AutoModelForCausalLM
    from swift.tuners import load_adapters
    return load_adapters(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), [str(checkpoint)])


@pytest.mark.parametrize('rlhf_type', ['dpo', 'orpo', 'simpo', 'cpo', 'kto'])
def test_offline_types_end_to_end(tiny_model_dir, tmp_path, rlhf_type):
    from transformers import AutoModelForCausalLM
    result = run(tiny_model_dir, tmp_path / 'out', rlhf_type, PAIRS)
    checkpoint = _check_run(result, rlhf_type, tiny_model_dir)
    _infer_loads(checkpoint)
    # Two steps make the policy prefer the chosen answers more than the initial model (the LoRA base) did:
    # the mean log-probability margin of chosen over rejected answers on the pairs grows.
    batch = _pair_batch(tiny_model_dir)
    before = _mean_logps(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), batch).view(2, -1)
    after = _mean_logps(_trained(tiny_model_dir, checkpoint), batch).view(2, -1)
    margin_before, margin_after = float((before[0] - before[1]).mean()), float((after[0] - after[1]).mean())
    assert margin_after > margin_before + 0.005, (margin_before, margin_after)


def score_with_swift_infer(monkeypatch, argv, stdin: str) -> str:
    """stdout of `swift infer ARGV` (the command line's own entry point) given stdin."""
    from swift.cli.infer import main
    monkeypatch.setattr('sys.stdin', io.StringIO(stdin))
    out = io.StringIO()
    monkeypatch.setattr('sys.stdout', out)
    assert main(argv) == 0
    return out.getvalue()


def test_reward_model_end_to_end(tiny_model_dir, reward_checkpoint, monkeypatch):
    import transformers
    from swift.dataset import rejected_messages
    from swift.infer.reward_model import RewardModel, load_seq_cls_model
    checkpoint = _check_run_dir(reward_checkpoint, 'rm', tiny_model_dir)
    scorer = RewardModel.load(str(checkpoint))
    # Trained, it scores chosen answers above rejected ones by more than the head it started from did (the same
    # seed gives the same initial head: a run with learning rate 0 scores exactly like this).
    transformers.set_seed(1)
    initial = RewardModel(*load_seq_cls_model(str(tiny_model_dir)), template=scorer.template)

    def margin(model):
        return sum(model.score([row['messages'] for row in PAIRS])) - sum(
            model.score([rejected_messages(row) for row in PAIRS]))

    assert margin(scorer) > margin(initial) + 0.05, (margin(initial), margin(scorer))
    scores = scorer.score([PAIRS[0]['messages'], PAIRS[1]['messages']])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    # The saved head is the trained one, not a fresh random one: scores are reproducible across loads.
    assert RewardModel.load(str(checkpoint)).score([PAIRS[0]['messages']])[0] == pytest.approx(scores[0], abs=1e-5)
    # `swift infer --adapters checkpoint` loads it as the reward model it is: one reward per piped conversation.
    stdin = ''.join(json.dumps(row['messages']) + '\n' for row in PAIRS[:2])
    printed = score_with_swift_infer(monkeypatch, ['--adapters', str(checkpoint)], stdin).splitlines()
    assert [float(line) for line in printed] == pytest.approx(scores, abs=1e-5)


def _check_run_dir(checkpoint, rlhf_type, tiny_model_dir):
    from swift.training.runner import TrainResult
    checkpoint = Path(checkpoint)
    return _check_run(TrainResult(str(checkpoint.parent), str(checkpoint)), rlhf_type, tiny_model_dir)


def test_grpo_end_to_end(tiny_model_dir, tmp_path, reward_checkpoint):
    # two reward models (ms-swift's --reward_model a b), each one more reward
    result = run(tiny_model_dir, tmp_path / 'out', 'grpo', PROMPTS, reward_funcs=['accuracy', 'format'],
                 reward_model=[reward_checkpoint, reward_checkpoint], scale_rewards='batch')
    checkpoint = _check_run(result, 'grpo', tiny_model_dir)
    _infer_loads(checkpoint)


@pytest.mark.parametrize('rlhf_type', ['grpo', 'ppo'])
def test_an_online_step_moves_the_policy_towards_the_better_completions(tiny_model_dir, tmp_path, reward_checkpoint,
                                                                        monkeypatch, rlhf_type):
    """One update raises the log-probability of the step's completions in proportion to their advantage: the
    completions that scored above their group (GRPO) or the batch (PPO) became more likely, the others less."""
    from transformers import AutoModelForCausalLM
    from swift.training.rlhf.grpo import GRPOTrainer
    from swift.training.rlhf.online import OnlineTrainer
    from swift.training.rlhf.ppo import PPOTrainer
    recorded = {}

    def recording(method, key):
        def wrapper(self, *args, **kwargs):
            value = method(self, *args, **kwargs)
            recorded.setdefault(key, value)  # the first step's
            return value
        return wrapper

    monkeypatch.setattr(OnlineTrainer, 'build_sequences', recording(OnlineTrainer.build_sequences, 'batch'))
    trainer_class = GRPOTrainer if rlhf_type == 'grpo' else PPOTrainer
    monkeypatch.setattr(trainer_class, 'score', recording(trainer_class.score, 'rewards'))
    extra = dict(num_generations=4, reward_funcs=['format', 'accuracy']) if rlhf_type == 'grpo' else {}
    result = run(tiny_model_dir, tmp_path / 'out', rlhf_type, PROMPTS, reward_model=reward_checkpoint, max_steps=1,
                 warmup_ratio=0.0, **extra)
    batch = {key: value.cpu() for key, value in recorded['batch'].items()}
    rewards = recorded['rewards']
    rewards = (rewards[0] if rlhf_type == 'grpo' else rewards).cpu().float()  # GRPO: (total, per function)
    if rlhf_type == 'grpo':
        groups = rewards.view(-1, 4)
        advantages = ((groups - groups.mean(1, keepdim=True)) / (groups.std(1, keepdim=True) + 1e-4)).view(-1)
    else:
        advantages = rewards - rewards.mean()
    assert advantages.abs().sum() > 0  # the step had something to learn from
    temperature = 0.9  # the log-probabilities the update works on are the sampling temperature's
    before = _mean_logps(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), batch, temperature)
    after = _mean_logps(_trained(tiny_model_dir, result.last_checkpoint), batch, temperature)
    assert float((advantages * (after - before)).sum()) > 0


def test_ppo_end_to_end(tiny_model_dir, tmp_path, reward_checkpoint):
    result = run(tiny_model_dir, tmp_path / 'out', 'ppo', PROMPTS, reward_model=reward_checkpoint)
    checkpoint = _check_run(result, 'ppo', tiny_model_dir)
    assert (checkpoint / 'value_head.safetensors').is_file()
    _infer_loads(checkpoint)


def test_evaluation_logs_the_same_metrics_with_eval_prefix(tiny_model_dir, tmp_path):
    result = run(tiny_model_dir, tmp_path / 'out', 'dpo', PAIRS, split_dataset_ratio=0.25, eval_steps=2)
    evaluations = [r for r in _records(result.output_dir) if 'eval_loss' in r]
    assert evaluations and evaluations[-1]['global_step'] == 2
    for key in ('eval_rewards/accuracies', 'eval_rewards/margins', 'eval_logps/chosen'):
        assert key in evaluations[-1], key
    assert not any(k.startswith('eval_') for r in _records(result.output_dir) if 'loss' in r for k in r)
