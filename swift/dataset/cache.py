"""The cache of encoded rows (--load_from_cache_file): encoding a large dataset again for every run of the same
data, model and settings is wasted time.

    samples = cached_encoding(rows, template, settings, lambda: encode(rows), enabled=args.load_from_cache_file)

The key is a hash of everything the samples depend on: every row's content, the tokenizer (its full
serialisation, not only its name), the template (its class, name and system prompt) and the encoding settings
(max_length, truncation_strategy, loss_scale, the model, the algorithm, swift's version). Changing any of them
gives another key, so a stale cache is never read; entries are JSON files under $SWIFT_CACHE/encoded, written
atomically (a run killed while writing leaves no half file behind).
"""
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from swift.utils import atomic_write_json, cache_dir, get_logger
from swift.version import __version__

logger = get_logger()


def tokenizer_fingerprint(tokenizer) -> str:
    backend = getattr(tokenizer, 'backend_tokenizer', None)
    if backend is not None:  # a fast tokenizer: its whole definition (vocabulary, merges, normaliser, ...)
        text = backend.to_str()
    elif tokenizer is not None:
        text = json.dumps(sorted(tokenizer.get_vocab().items())) + type(tokenizer).__name__
    else:
        text = ''
    special = json.dumps(getattr(tokenizer, 'special_tokens_map', {}), sort_keys=True, default=str)
    return hashlib.sha256((text + special).encode('utf-8')).hexdigest()


def _template_of(encoder) -> Any:
    """The chat template inside an encoder (an RLHF row encoder wraps one)."""
    return getattr(encoder, 'template', None) if not hasattr(encoder, 'meta') else encoder


def encoding_key(rows: Sequence[Dict[str, Any]], encoder, settings: Dict[str, Any]) -> str:
    template = _template_of(encoder)
    digest = hashlib.sha256()
    head = {'swift': __version__, 'encoder': type(encoder).__qualname__, 'settings': settings,
            'template': getattr(template, 'name', None), 'template_class': type(template).__qualname__,
            'system': getattr(template, 'default_system', None), 'loss_scale': getattr(template, 'loss_scale', None)}
    digest.update(json.dumps(head, sort_keys=True, default=str).encode('utf-8'))
    digest.update(tokenizer_fingerprint(getattr(template, 'tokenizer', None)).encode('ascii'))
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode('utf-8'))
        digest.update(b'\n')
    return digest.hexdigest()


def cache_path(key: str) -> Path:
    return cache_dir() / 'encoded' / f'{key}.json'


def cached_encoding(rows: Sequence[Dict[str, Any]], encoder, settings: Dict[str, Any],
                    encode: Callable[[], List[Dict[str, Any]]], enabled: bool) -> List[Dict[str, Any]]:
    """encode()'s samples, read from the cache when an entry for exactly these inputs exists (enabled only)."""
    if not enabled:
        return encode()
    path = cache_path(encoding_key(rows, encoder, settings))
    if path.is_file():
        try:
            samples = json.loads(path.read_text(encoding='utf-8'))
            logger.info(f'encoded rows read from the cache: {path} ({len(samples)} samples)')
            return samples
        except (OSError, ValueError) as e:  # unreadable: encode again and replace it
            logger.warning(f'cache entry {path} is unreadable ({e}); encoding again')
    samples = encode()
    atomic_write_json(path, samples, indent=None)
    logger.info(f'encoded rows saved to the cache: {path}')
    return samples
