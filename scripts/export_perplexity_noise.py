"""How sure is an export's "perplexity change", and how close is it to the source? (run by hand;
docs/benchmarks.md, "FP8 W8A16 ... 2% apart" and "FP8 W8A8 with GPTQ").

    python scripts/export_perplexity_noise.py --model <source dir> --export <swift export --quant_method dir> \
        [--dataset ROWS#N] [--quant_n_samples 16] [--max_length 256] [--draws 2000]

Rebuilds the export's own held-out rows (the same split `swift export` makes from --dataset, --quant_n_samples and
--max_length: pass the values the export used), computes each row's summed next-token loss with the source model
and with the exported directory (reloaded as `swift export` reloads it), and prints:
- the source's perplexity on the two disjoint halves of the rows (how much the *absolute* number moves with the
  rows chosen);
- the export's change vs the source on the same rows, on each half, and a paired bootstrap (rows resampled with
  replacement, the same rows for both models): its 95% interval and standard deviation in percentage points;
- the mean KL divergence of the export's next-token distribution from the source's, and at how many positions
  their most likely tokens differ (fidelity, which perplexity alone does not rank on a small model).
If the whole interval lies on one side of a target (e.g. +2%), the held-out set is large enough to decide it.
"""
import argparse
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def row_stats(source, quantized, rows):
    """Per row, one row per forward pass (as swift's perplexity): the summed next-token loss of each model, the
    predicted tokens, the summed KL(source || quantized) of the next-token distributions, and how many positions'
    most likely token differs. Perplexity on ~30 chat rows can reward noise (a variant may land below the
    source); the KL divergence from the source ranks exports by fidelity."""
    import torch
    import torch.nn.functional as F
    out = []
    with torch.inference_mode():
        for row in rows:
            ids = torch.tensor([row['input_ids']])
            log_p = F.log_softmax(source(input_ids=ids).logits[0, :-1].float(), dim=-1)
            log_q = F.log_softmax(quantized(input_ids=ids).logits[0, :-1].float(), dim=-1)
            target = ids[0, 1:]
            out.append({'source': float(F.nll_loss(log_p, target, reduction='sum')),
                        'export': float(F.nll_loss(log_q, target, reduction='sum')), 'tokens': len(target),
                        'kl': float((log_p.exp() * (log_p - log_q)).sum()),
                        'top1_changed': int((log_p.argmax(-1) != log_q.argmax(-1)).sum())})
    return out


def perplexity(stats, key, index):
    return math.exp(sum(stats[i][key] for i in index) / sum(stats[i]['tokens'] for i in index))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', required=True, help='the source model directory')
    parser.add_argument('--export', required=True, help='the directory swift export --quant_method wrote')
    parser.add_argument('--dataset', default='../shared/data/alpaca_en/alpaca_data_4000.json#96')
    parser.add_argument('--quant_n_samples', type=int, default=16)
    parser.add_argument('--max_length', type=int, default=256)
    parser.add_argument('--draws', type=int, default=2000)
    args = parser.parse_args()

    from swift.arguments import ExportArguments
    from swift.export.merge_lora import load_export_model
    from swift.export import hqq
    from swift.export.quantize import _reload, _rows
    from swift.model.hqq_format import is_hqq_dir
    export_args = ExportArguments(model=args.model, dataset=[args.dataset], quant_n_samples=args.quant_n_samples,
                                  max_length=args.max_length, quant_method='fp8', quant_bits=8)
    loaded = load_export_model(export_args, dtype='float32')
    _, held_out = _rows(export_args, loaded.template, loaded.tokenizer)
    # reloaded as swift export measured its "after" number: hqq's own loader for an HQQ directory (qmodel.pt,
    # which transformers cannot open), transformers for the others
    exported = hqq.load(args.export) if is_hqq_dir(args.export) else _reload(args.export)
    stats = row_stats(loaded.model, exported, held_out)
    n, half = len(held_out), len(held_out) // 2
    halves = (range(half), range(half, n))

    def change(index):
        return 100 * (perplexity(stats, 'export', index) / perplexity(stats, 'source', index) - 1)

    tokens = sum(row['tokens'] for row in stats)
    print(f'{n} held-out rows, {tokens} predicted tokens')
    print(f'source perplexity {perplexity(stats, "source", range(n)):.3f}; on the two halves '
          f'{perplexity(stats, "source", halves[0]):.3f} / {perplexity(stats, "source", halves[1]):.3f}')
    print(f'KL(source || export) {sum(row["kl"] for row in stats) / tokens:.4f} nats/token; most likely token '
          f'changed at {sum(row["top1_changed"] for row in stats)}/{tokens} positions')
    rng = random.Random(0)
    draws = sorted(change([rng.randrange(n) for _ in range(n)]) for _ in range(args.draws))
    mean = sum(draws) / len(draws)
    sd = math.sqrt(sum((d - mean)**2 for d in draws) / (len(draws) - 1))
    low, high = draws[int(0.025 * len(draws))], draws[int(0.975 * len(draws)) - 1]
    print(f'export change {change(range(n)):+.2f}% (halves {change(halves[0]):+.2f}% / {change(halves[1]):+.2f}%); '
          f'paired bootstrap 95% interval [{low:+.2f}%, {high:+.2f}%], sd {sd:.2f} points')
    return 0


if __name__ == '__main__':
    sys.exit(main())
