"""`swift export --to_cached_dataset true`: encode --dataset once, as swift sft / pt would, into a directory
that `swift sft|pt --cached_dataset DIR` trains on without encoding again (ms-swift's flags and layout).

    swift export --model M --dataset data.jsonl --split_dataset_ratio 0.1 --to_cached_dataset true --output_dir D
    swift sft --model M --cached_dataset D/train --cached_val_dataset D/val      (or --cached_dataset D)
    swift export ... --to_cached_dataset true --template_mode rlhf --output_dir P   (pairs: chosen and rejected)
    swift rlhf --rlhf_type dpo --model M --cached_dataset P                       (kto: --template_mode kto)

Only the tokenizer is loaded (no weights). Rows, template and encoding go through the functions training uses
(load_datasets_for, template_for_args, encode_rows), so the samples are those training would make; the
manifest (swift.dataset.cached) lets a run check that.
"""
from pathlib import Path

from swift.arguments import ExportArguments
from swift.dataset import cached_encoding, describe_encoding, encode_rows, encoding_settings, load_datasets_for
from swift.dataset.alignment import ENCODING_OF_MODE, encode_alignment_rows
from swift.dataset.cached import write_cached_dataset
from swift.model.loader import load_tokenizer
from swift.template import template_for_args
from swift.utils import SwiftError, get_logger

logger = get_logger()


def export_cached_dataset(args: ExportArguments, output_dir: Path) -> Path:
    model_kwargs = args.load_kwargs()
    tokenizer = load_tokenizer(args.model, **{k: model_kwargs[k] for k in ('model_type', 'use_hf', 'revision',
                                                                            'offline', 'trust_remote_code')})
    template = template_for_args(args, tokenizer)
    if getattr(template, 'is_multimodal', False):
        raise SwiftError(f'--to_cached_dataset: template {template.name} is multimodal, whose samples carry media '
                         'that a cached dataset does not store yet; train from --dataset (with '
                         '--load_from_cache_file true to encode once)')
    loaded = load_datasets_for(args)  # the data report is logged
    settings = encoding_settings(args)

    def encode(rows):  # what swift sft / pt's encode does, with the same cache key (or swift rlhf's)
        if args.template_mode != 'train':
            return encode_alignment_rows(rows, template, ENCODING_OF_MODE[args.template_mode], model=args.model,
                                         max_length=args.max_length, truncation_strategy=args.truncation_strategy,
                                         loss_scale=args.loss_scale, strict=args.strict,
                                         num_proc=args.dataset_num_proc, use_cache=args.load_from_cache_file)
        encode_settings = dict(max_length=args.max_length, truncation_strategy=args.truncation_strategy,
                               loss_scale=args.loss_scale)
        return cached_encoding(rows, template, {**encode_settings, 'model': args.model}, lambda: encode_rows(
            rows, template, num_proc=args.dataset_num_proc, **encode_settings)[0], enabled=args.load_from_cache_file)

    splits = {'train': encode(loaded.train), 'val': encode(loaded.val) if loaded.val else []}
    if not splits['train']:
        raise SwiftError('--to_cached_dataset: no training samples left after validation and truncation: see the '
                         'data report above')
    write_cached_dataset(output_dir, splits, describe_encoding(template, args.model, settings, args.template_mode),
                        args.dataset)
    logger.info(f'cached dataset: {output_dir / "train"} ({len(splits["train"])} samples)'
                + (f', {output_dir / "val"} ({len(splits["val"])} samples)' if splits['val'] else ''))
    return output_dir
