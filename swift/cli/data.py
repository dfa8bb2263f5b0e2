"""`swift data check`: what training would see in a dataset, in seconds, without loading model weights.

    swift data check --model Qwen/Qwen2.5-7B-Instruct --dataset train.jsonl --max_length 2048

Prints the detected format(s) with counts, the row counts, every bad row's location and reason
(the first --show_bad_rows of them), token-length statistics with the model's template, and how
many rows are longer than --max_length. Exit status 0 when every row is usable, 1 when some rows
are bad (training would drop them), so the check can gate a CI job.
"""
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from swift.utils import SwiftError, atomic_write_json, get_logger
from swift.utils.args import format_help, parse_args

logger = get_logger()
SUBCOMMANDS = ('check', )


@dataclass
class DataCheckArguments:
    dataset: List[str] = field(default_factory=list,
                               metadata={'help': '[hf::|ms::]ID_OR_PATH[:subset][#N], several are concatenated'})
    model: Optional[str] = field(default=None, metadata={'help': 'model whose tokenizer and template measure lengths'})
    val_dataset: List[str] = field(default_factory=list)
    max_length: Optional[int] = field(default=2048, metadata={'help': 'count the rows longer than this'})
    columns: Optional[Dict[str, str]] = field(default=None, metadata={'help': 'JSON map of column renames'})
    strict: bool = field(default=False, metadata={'help': 'stop at the first bad row'})
    use_hf: bool = field(default=False, metadata={'help': 'hub datasets from Hugging Face instead of ModelScope'})
    template: Optional[str] = field(default=None, metadata={'help': "template name (default: the model's)"})
    model_name: List[str] = field(default_factory=list, metadata={'help': 'name for swift/self-cognition'})
    model_author: List[str] = field(default_factory=list, metadata={'help': 'author for swift/self-cognition'})
    split_dataset_ratio: float = 0.0
    seed: int = 42
    external_plugins: List[str] = field(default_factory=list, metadata={'help': 'Python files registering datasets'})
    output_dir: Optional[str] = field(default=None, metadata={'help': 'also save the report as JSON here'})
    show_bad_rows: int = field(default=20, metadata={'help': 'how many bad rows to list'})

    def __post_init__(self):
        if not self.dataset and not self.val_dataset:
            raise SwiftError('--dataset is required (a file, directory, registered or hub dataset)')
        if self.max_length is not None and self.max_length <= 0:
            raise SwiftError(f'--max_length must be positive, got {self.max_length}')


class _ChatTemplateLengths:
    """Token counts from the tokenizer's own chat template, for when swift.template is not installed.

    It gives input_ids only, no labels: enough to measure lengths, not to train.
    """

    def __init__(self, tokenizer):
        if not getattr(tokenizer, 'chat_template', None):
            raise SwiftError('this tokenizer has no chat_template; pass --template')
        self.tokenizer = tokenizer
        self.name = 'tokenizer chat_template'

    def encode(self, row: Dict[str, Any]) -> Dict[str, Any]:
        text = self.tokenizer.apply_chat_template(row['messages'], tools=row.get('tools'), tokenize=False)
        input_ids = self.tokenizer(text, add_special_tokens=False)['input_ids']
        return {'input_ids': input_ids, 'attention_mask': [1] * len(input_ids)}


def _load_tokenizer(model: str):
    try:
        from swift.model.loader import load_tokenizer
    except ImportError:  # an older checkout: read the tokenizer files directly
        from transformers import AutoTokenizer
        return AutoTokenizer.from_pretrained(model)
    return load_tokenizer(model)


def _load_template(args: DataCheckArguments, tokenizer):
    try:
        from swift.template import get_template
    except ImportError:
        logger.warning('swift.template.get_template is not available: measuring with the tokenizer chat_template')
        return _ChatTemplateLengths(tokenizer)
    info = getattr(tokenizer, 'model_info', None)
    name = args.template or (info.template if info else None) or (info.model_dir if info else args.model)
    return get_template(name, tokenizer=tokenizer)


def _token_section(args: DataCheckArguments, rows):
    """(lines to print, EncodeReport): token lengths with the model's template."""
    from swift.dataset import encode_rows
    tokenizer = _load_tokenizer(args.model)
    template = _load_template(args, tokenizer)
    _, report = encode_rows(rows, template, max_length=None, log=False)
    name = getattr(template, 'name', type(template).__name__)
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
    from swift.dataset import Rows, load_datasets
    started = time.perf_counter()
    result = load_datasets(args.dataset, val_dataset=args.val_dataset, split_dataset_ratio=args.split_dataset_ratio,
                           seed=args.seed, columns=args.columns, strict=args.strict, use_hf=args.use_hf,
                           model_name=args.model_name, model_author=args.model_author,
                           external_plugins=args.external_plugins, log=False)
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
