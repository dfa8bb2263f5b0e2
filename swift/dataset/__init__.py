"""The dataset layer: load local files and hub datasets, convert every row to one standard format,
report bad rows with their location, and encode rows for training.

    from swift.dataset import load_datasets, encode_rows
    result = load_datasets(['data.jsonl', 'swift/self-cognition#500'], model_name='Bot', model_author='Me')
    encoded, enc_report = encode_rows(result.train, template, max_length=2048)

Importing this package loads neither torch, transformers nor datasets (they load when needed).
See docs/datasets.md for the spec syntax, the formats and the registry.
"""
from .cache import cached_encoding
from .cached import (cached_val_paths, describe_encoding, encoding_settings, load_cached_samples,
                     write_cached_dataset)
from .encode import TRUNCATION_STRATEGIES, EncodeReport, encode_rows
from .lazy import LazySamples
from .formats import RowError, detect_format, rejected_messages, standardize_row, validate_messages
from .loader import (PYTHON_ROWS, LoadResult, Rows, load_dataset, load_datasets, load_datasets_for, sample_indices,
                     split_indices)
from .registry import (DATASET_REGISTRY, DatasetMeta, DatasetOptions, get_dataset_meta, list_datasets,
                       lookup_dataset, register_dataset)
from .report import BadRow, LoadReport
from .self_cognition import HELD_OUT_IDENTITY_QUESTIONS
from .spec import DatasetSpec, parse_dataset_spec
