"""--predict_with_generate (ms-swift's): at each evaluation the model also answers the validation rows, greedily,
and the answers are scored against the rows' own answers with ms-swift's NLG metrics, logged beside eval_loss as
eval_rouge-1, eval_rouge-2, eval_rouge-l and eval_bleu-4 (percent).

The metrics are ms-swift's (swift/metrics/nlg.py there): both texts cut into words by jieba, ROUGE F-scores of the
`rouge` package, nltk's sentence BLEU-4 with smoothing method 3, averaged over the rows whose texts have words.
A validation item's prompt is its tokens before its last trained span (the answer), the reference that span.
"""
from typing import Any, Dict, List, Sequence, Tuple

IGNORE_INDEX = -100
NLG_METRICS = ('rouge-1', 'rouge-2', 'rouge-l', 'bleu-4')


def compute_rouge_bleu(predictions: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    import jieba
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rouge.rouge import Rouge
    values: Dict[str, List[float]] = {key: [] for key in NLG_METRICS}
    for prediction, reference in zip(predictions, references):
        hypothesis = [w.strip(' ') for w in jieba.cut(prediction) if w.strip(' ')]
        words = [w.strip(' ') for w in jieba.cut(reference) if w.strip(' ')]
        if not hypothesis or not words:
            continue
        for key, score in Rouge().get_scores(' '.join(hypothesis), ' '.join(words))[0].items():
            values[key].append(score['f'])
        values['bleu-4'].append(sentence_bleu([words], hypothesis, smoothing_function=SmoothingFunction().method3))
    return {key: round(100 * sum(v) / len(v), 6) if v else 0.0 for key, v in values.items()}


def prompt_and_reference(item: Dict[str, Any]) -> Tuple[List[int], List[int]]:
    """(the tokens before the item's last trained span, that span's token ids)."""
    labels = list(item['labels'])
    trained = [i for i, label in enumerate(labels) if label != IGNORE_INDEX]
    if not trained:
        return list(item['input_ids']), []
    end = trained[-1] + 1
    start = end - 1
    while start > 0 and labels[start - 1] != IGNORE_INDEX:
        start -= 1
    return list(item['input_ids'][:start]), labels[start:end]


class GenerationEval:
    """Answers the validation items greedily (left-padded batches of `model.generate`) and scores them."""

    def __init__(self, tokenizer, stop_token_ids: Sequence[int], max_new_tokens: int = 64, batch_size: int = 8):
        self.tokenizer = tokenizer
        self.stop_token_ids = sorted(set(stop_token_ids))
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.last: List[Tuple[str, str]] = []  # (answer, reference) of the latest evaluation

    def answers(self, model, prompts: List[List[int]]) -> List[str]:
        import torch
        pad = self.tokenizer.pad_token_id
        device = next(model.parameters()).device
        texts = []
        for begin in range(0, len(prompts), self.batch_size):
            batch = prompts[begin:begin + self.batch_size]
            width = max(len(p) for p in batch)
            ids = torch.tensor([[pad] * (width - len(p)) + p for p in batch], device=device)
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch], device=device)
            with torch.no_grad():
                out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                     max_new_tokens=self.max_new_tokens, eos_token_id=self.stop_token_ids,
                                     pad_token_id=pad)
            for row in out[:, width:].tolist():
                cut = next((i for i, t in enumerate(row) if t in self.stop_token_ids), len(row))
                texts.append(self.tokenizer.decode(row[:cut], skip_special_tokens=True))
        return texts

    def score(self, model, items: Sequence[Dict[str, Any]]) -> Dict[str, float]:
        pairs = [prompt_and_reference(item) for item in items]
        pairs = [(prompt, reference) for prompt, reference in pairs if reference]
        was_training = model.training
        model.eval()
        try:
            answers = self.answers(model, [prompt for prompt, _ in pairs])
        finally:
            model.train(was_training)
        references = [self.tokenizer.decode(reference, skip_special_tokens=True) for _, reference in pairs]
        self.last = list(zip(answers, references))
        return compute_rouge_bleu(answers, references)
