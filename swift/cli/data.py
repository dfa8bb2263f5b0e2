"""`swift data check`: what training would see in a dataset, in seconds, without loading model weights.

    swift data check --model Qwen/Qwen2.5-7B-Instruct --dataset train.jsonl --max_length 2048

Prints the detected format(s) with counts, the row counts, every bad row's location and reason
(the first --show_bad_rows of them), token-length statistics with the model's template, and how
many rows are longer than --max_length. Exit status 0 when every row is usable, 1 when some rows
are bad (training would drop them), so the check can gate a CI job.
"""
import time
from typing import List

from swift.arguments import DataCheckArguments
from swift.dataset import Rows, encode_rows, load_datasets
from swift.model.loader import load_tokenizer
from swift.template import get_template
from swift.utils import SwiftError, atomic_write_json
from swift.utils.args import format_help, parse_args

SUBCOMMANDS = ('check', )


def _template(args: DataCheckArguments):
    tokenizer = load_tokenizer(args.model, trust_remote_code=args.trust_remote_code)
    info = tokenizer.model_info
    return get_template(args.template or info.template or info.model_dir, tokenizer=tokenizer)


def _token_section(args: DataCheckArguments, rows):
    """(lines to print, EncodeReport): token lengths with the model's template."""
    template = _template(args)
    _, report = encode_rows(rows, template, max_length=None, log=False)
    name = template.name
    lines = []
    stats = report.length_stats()
    if stats:
        lines.append(f'tokens (template {name}): min {stats["min"]} / mean {stats["mean"]:.1f} / '
                     f'p95 {stats["p95"]} / max {stats["max"]}')
    if args.max_length is not None:
        over = sum(1 for n in report.lengths if n > args.max_length)
        lines.append(f'longer than max_length {args.max_length}: {over} row(s)')
    if report.failed:
        lines.append(f'the template cannot encode {report.failed} row(s):')
        lines += [f'  {loc}: {reason}' for loc, reason in report.failures[:args.show_bad_rows]]
    return lines, report


def check(args: DataCheckArguments) -> int:
    started = time.perf_counter()
    result = load_datasets(args.dataset, val_dataset=args.val_dataset, split_dataset_ratio=args.split_dataset_ratio,
                           seed=args.seed, columns=args.columns, strict=args.strict, use_hf=args.use_hf,
                           model_name=args.model_name, model_author=args.model_author,
                           external_plugins=args.external_plugins, log=False, image_folder=args.image_folder)
    report = result.report
    lines = report.source_lines()
    formats = ', '.join(f'{name} {count}' for name, count in report.formats.most_common())
    lines.append(f'formats: {formats}')
    if report.bad_count:
        lines.append(f'bad rows: {report.bad_count} (training drops them; --strict stops at the first)')
        lines += [f'  {row}' for row in report.bad_rows[:args.show_bad_rows]]
        if report.bad_count > args.show_bad_rows:
            lines.append(f'  ... and {report.bad_count - args.show_bad_rows} more')
    else:
        lines.append('bad rows: 0')
    encode_report = None
    if args.model:
        all_rows = Rows(result.train.rows + result.val.rows, result.train.locations + result.val.locations)
        token_lines, encode_report = _token_section(args, all_rows)
        lines += token_lines
    else:
        lines.append('tokens: pass --model to measure token lengths with its template')
    lines.append(f'checked in {time.perf_counter() - started:.1f}s')
    print('\n'.join(lines))
    if args.output_dir:
        data = {'dataset': report.to_dict(), 'tokens': encode_report.to_dict() if encode_report else None}
        atomic_write_json(f'{args.output_dir}/data_check.json', data)
    return 1 if report.bad_count else 0


def main(argv: List[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] in ('-h', '--help'):
        print('usage: swift data check --dataset D [--model M] [--max_length L] [--columns JSON] [--strict]\n\n' +
              format_help(DataCheckArguments, 'swift data check'))
        return 0
    command, rest = argv[0], argv[1:]
    if command not in SUBCOMMANDS:
        raise SwiftError(f'unknown subcommand {command!r}: use `swift data check ...`')
    if '-h' in rest or '--help' in rest:
        print(format_help(DataCheckArguments, 'swift data check'))
        return 0
    return check(parse_args(DataCheckArguments, rest))
