"""swift rlhf --rlhf_type gkd on the tiny model: the student moves towards a different tiny teacher, on-policy and
teacher-generated steps happen as --lmbda / --seq_kd say, and a teacher with another tokenizer is refused."""
import json
from pathlib import Path

import pytest
import torch

from swift.training.rlhf import rlhf_main
from swift.utils import SwiftError

ROWS = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'},
                      {'role': 'assistant', 'content': f'{i} plus {i} is {2 * i}.'}]} for i in range(6)]


@pytest.fixture(scope='module')
def teacher_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model's architecture and tokenizer with other random weights, made confident (a random tiny model's
    next-token distributions are near uniform): a teacher the student is not."""
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM
    path = tmp_path_factory.mktemp('tiny-teacher')
    torch.manual_seed(123)
    teacher = LlamaForCausalLM(AutoConfig.from_pretrained(str(tiny_model_dir)))
    with torch.no_grad():
        teacher.model.norm.weight.mul_(3.0)
    teacher.save_pretrained(str(path))
    AutoTokenizer.from_pretrained(str(tiny_model_dir)).save_pretrained(str(path))
    return path


def _run(student, teacher, out, **extra):
    args = dict(rlhf_type='gkd', model=str(student), teacher_model=str(teacher), template='smollm2',
                output_dir=str(out), add_version=False, max_steps=3, save_steps=100, logging_steps=1,
                per_device_train_batch_size=2, learning_rate=1e-3, lora_dropout=0.0, report_to=['none'], seed=1,
                max_new_tokens=6, warmup_ratio=0.0)
    args.update(extra)
    return rlhf_main(rows=ROWS, **args)


def _jsd_to_teacher(student, teacher, tokenizer_dir):
    """The GKD loss of `student` against `teacher` on the dataset's answers."""
    from transformers import AutoTokenizer
    from swift.template import get_template
    from swift.training.rlhf import losses
    from swift.training.rlhf.data import DistillCollator, RowEncoder
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    encoder = RowEncoder(get_template('smollm2', tokenizer=tokenizer), 'gkd')
    batch = DistillCollator(tokenizer.pad_token_id)([encoder.encode(row) for row in ROWS])
    with torch.no_grad():
        s = student.eval()(input_ids=batch['input_ids'], attention_mask=batch['attention_mask']).logits
        t = teacher.eval()(input_ids=batch['input_ids'], attention_mask=batch['attention_mask']).logits
    return float(losses.generalized_jsd_loss(s[:, :-1], t[:, :-1], batch['labels'][:, 1:], 0.5, 0.9))


def test_gkd_moves_the_student_towards_the_teacher(tiny_model_dir, teacher_dir, tmp_path):
    from transformers import AutoModelForCausalLM
    result = _run(tiny_model_dir, teacher_dir, tmp_path / 'out', lmbda=0.5, seq_kd=True,
                  sft_alpha=0.01, tuner_type='full', learning_rate=1e-3)
    checkpoint = Path(result.last_checkpoint)
    assert (checkpoint / 'model.safetensors').is_file()
    saved = json.loads((checkpoint / 'args.json').read_text())
    assert saved['teacher_model'] == str(teacher_dir) and saved['lmbda'] == 0.5 and saved['seq_kd'] is True
    steps = [json.loads(line) for line in (Path(result.output_dir) / 'logging.jsonl').read_text().splitlines()]
    steps = [r for r in steps if 'loss' in r]
    assert len(steps) == 3 and all('jsd' in r and 'nll_loss' in r for r in steps)
    # seed 1 draws 0.516, 0.498, 0.275 for steps 0-2 (random.Random(seed·1000003 + step)): the teacher answers
    # (0.516 ≥ lmbda, --seq_kd), then the student twice.
    assert [r['on_policy'] for r in steps] == [0.0, 1.0, 1.0]
    assert [r['teacher_generated'] for r in steps] == [1.0, 0.0, 0.0]
    assert all('completions/mean_length' in r for r in steps)
    # Full fine-tuning: the teacher differs in its final norm, which LoRA on the linear layers barely reaches.
    teacher = AutoModelForCausalLM.from_pretrained(str(teacher_dir))
    before = _jsd_to_teacher(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), teacher, tiny_model_dir)
    trained = AutoModelForCausalLM.from_pretrained(str(checkpoint))
    after = _jsd_to_teacher(trained, teacher, tiny_model_dir)
    assert after < 0.97 * before, (before, after)


def test_gkd_refuses_a_teacher_with_another_tokenizer(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer, LlamaForCausalLM, AutoConfig
    other = tmp_path / 'other'
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    tokenizer.add_tokens(['<teacher_only>'])
    tokenizer.save_pretrained(str(other))
    LlamaForCausalLM(AutoConfig.from_pretrained(str(tiny_model_dir))).save_pretrained(str(other))
    with pytest.raises(SwiftError, match='different tokenizer from the student'):
        _run(tiny_model_dir, other, tmp_path / 'out', max_steps=1)


def test_gkd_arguments():
    from swift.arguments import GKDArguments, RLHFArguments
    from swift.utils.args import parse_args
    args = parse_args(RLHFArguments, ['--rlhf_type', 'gkd', '--model', 'm', '--teacher_model', 't', '--dataset', 'd',
                                      '--lmbda', '1', '--seq_kd', 'true', '--beta', '0.2'])
    assert isinstance(args, GKDArguments) and (args.lmbda, args.seq_kd, args.beta) == (1.0, True, 0.2)
    assert args.temperature == 0.9 and not args.uses_reference
    with pytest.raises(SwiftError, match='--teacher_model'):
        parse_args(RLHFArguments, ['--rlhf_type', 'gkd', '--model', 'm', '--dataset', 'd'])
    with pytest.raises(SwiftError, match='--lmbda must be in'):
        parse_args(RLHFArguments, ['--rlhf_type', 'gkd', '--model', 'm', '--teacher_model', 't', '--dataset', 'd',
                                   '--lmbda', '1.5'])
    with pytest.raises(SwiftError, match='GKD option'):
        parse_args(RLHFArguments, ['--rlhf_type', 'dpo', '--model', 'm', '--dataset', 'd', '--lmbda', '0.5'])
