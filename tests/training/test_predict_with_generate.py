"""--predict_with_generate (ms-swift's): ms-swift's NLG metrics (rouge-1/-2/-l, bleu-4 over jieba words) and the
prompt / reference split of a validation item. A training run logging them: tests/training/test_trainer_flags.py."""
from swift.training.generate_eval import compute_rouge_bleu, prompt_and_reference


def test_metrics_and_the_split_of_an_item():
    assert compute_rouge_bleu(['the cat sat on the mat'], ['the cat sat on the mat']) == {
        'rouge-1': 100.0, 'rouge-2': 100.0, 'rouge-l': 100.0, 'bleu-4': 100.0}
    low = compute_rouge_bleu(['a dog ran'], ['the cat sat on the mat'])
    assert low['rouge-1'] == 0.0 and low['bleu-4'] < 10
    item = {'input_ids': [1, 2, 3, 4, 5, 6, 7], 'labels': [-100, 2, -100, -100, 5, 6, -100]}
    assert prompt_and_reference(item) == ([1, 2, 3, 4], [5, 6])  # the last trained span is the answer


def test_the_best_checkpoint_is_chosen_by_rouge_l_unless_told_otherwise(tiny_model_dir, tmp_path):
    """ms-swift's default: --predict_with_generate makes rouge-l (larger is better) the best-checkpoint metric."""
    from swift.arguments import SftArguments
    from swift.training.runner import TrainingRun
    from swift.utils.args import parse_args
    base = dict(model=str(tiny_model_dir), dataset=['unused'], report_to=['none'])
    chosen = {}
    for name, extra in (('generate', {'predict_with_generate': True}), ('plain', {}),
                        ('told', {'predict_with_generate': True, 'metric_for_best_model': 'loss'})):
        args = TrainingRun(parse_args(SftArguments, dict(base, **extra)), tmp_path / name).training_arguments(True)
        chosen[name] = (args.metric_for_best_model, args.greater_is_better)
    assert chosen == {'generate': ('rouge-l', True), 'plain': (None, None), 'told': ('loss', False)}
