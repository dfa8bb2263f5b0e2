"""Hub datasets: ModelScope (the default) or Hugging Face (`hf::` prefix, or use_hf=True).

Both are imported only here, only when a hub dataset is asked for. Hugging Face datasets load with
`datasets.load_dataset(id, subset, split=...)`. ModelScope datasets are downloaded with
modelscope's dataset_snapshot_download and then read by `datasets.load_dataset(local_dir, ...)`:
MsDataset.load would need modelscope's [framework] extra, which pins an older `datasets`.

A subset is a config of the dataset when it has one of that name (a `configs:` entry of its README,
e.g. gsm8k's `main`); otherwise it is a directory of the repo (hh-rlhf's `harmless-base/`), read with
`data_dir=subset`, as ms-swift does. Neither: one line that says which configs there are.

Without a network the libraries retry for about 20 seconds each; a quick reachability check
answers in a few seconds instead. When the hub is unreachable, or offline mode is set
(HF_HUB_OFFLINE=1 / HF_DATASETS_OFFLINE=1 for Hugging Face, MODELSCOPE_OFFLINE=1 for ModelScope),
the dataset is read from the local cache of an earlier load; without one, one line says what to do.
The check is skipped when a proxy is configured (only the proxy can tell).
"""
import contextlib
import json
import os
import re
import socket
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

from swift.utils import SwiftError, atomic_write_json, cache_dir, get_logger

from .readers import Record

logger = get_logger()

HUB_NAMES = {'hf': 'Hugging Face', 'ms': 'ModelScope'}
_PROXY_VARS = ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy')
_TRUE = ('1', 'true', 'yes', 'on')


def _hub_address(hub: str) -> Tuple[str, int]:
    """(host, port) of the hub's endpoint, honouring HF_ENDPOINT / MODELSCOPE_ENDPOINT (or MODELSCOPE_DOMAIN)."""
    if hub == 'hf':
        endpoint = os.environ.get('HF_ENDPOINT') or 'https://huggingface.co'
    else:  # modelscope-hub's precedence: MODELSCOPE_ENDPOINT, then the deprecated MODELSCOPE_DOMAIN
        endpoint = (os.environ.get('MODELSCOPE_ENDPOINT') or os.environ.get('MODELSCOPE_DOMAIN')
                    or 'https://www.modelscope.cn')
    endpoint = endpoint.strip()
    if '://' not in endpoint:
        endpoint = 'https://' + endpoint
    url = urlparse(endpoint)
    return url.hostname or endpoint, url.port or (80 if url.scheme == 'http' else 443)


def _hub_unreachable(hub: str, dataset_id: str, detail: str) -> SwiftError:
    return SwiftError(f'cannot load dataset {dataset_id!r} from {HUB_NAMES[hub]} ({detail}). '
                      'Use a local file instead (.jsonl/.json/.csv/.parquet/.txt or a datasets.save_to_disk '
                      'directory), or run where the hub is reachable')


def offline_reason(hub: str) -> Optional[str]:
    """'HF_HUB_OFFLINE=1' and the like when offline mode forbids asking the hub; None otherwise."""
    if hub == 'ms':
        return 'MODELSCOPE_OFFLINE=1' if _is_true(os.environ.get('MODELSCOPE_OFFLINE')) else None
    datasets_offline = os.environ.get('HF_DATASETS_OFFLINE')
    if datasets_offline is not None:  # as in datasets.config: it overrides HF_HUB_OFFLINE either way
        return 'HF_DATASETS_OFFLINE=1' if _is_true(datasets_offline) else None
    for var in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE'):
        if _is_true(os.environ.get(var)):
            return f'{var}=1'
    return None


def _is_true(value: Optional[str]) -> bool:
    return (value or '').strip().lower() in _TRUE


def _unreachable_detail(hub: str, timeout: float) -> Optional[str]:
    """Why the hub's host cannot be connected to, or None when it can (or a proxy stands in between)."""
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return None  # the proxy, not this machine, reaches the hub
    host, port = _hub_address(hub)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f'{host}:{port} is unreachable: {e.strerror or e}'


def check_reachable(hub: str, dataset_id: str, timeout: float = 3.0) -> None:
    """Fail fast, with one clear line, when the hub's host cannot even be resolved or connected to."""
    if offline_reason(hub):
        return  # the user asked for the local cache
    detail = _unreachable_detail(hub, timeout)
    if detail:
        raise _hub_unreachable(hub, dataset_id, detail) from None


# ---------------------------------------------------------------- loading one subset/split


class _UnknownSubset(Exception):
    pass


def _unknown_config(error: Exception, subset: str) -> bool:
    """datasets' way of saying `subset` is no config: unknown online, or absent from the offline cache."""
    text = str(error)
    return isinstance(error, ValueError) and (f"BuilderConfig '{subset}' not found" in text or (
        text.startswith("Couldn't find cache for") and f"for config '{subset}'" in text))


def _load_subset(path: str, subset: str, split: str, is_directory: Callable[[], Optional[bool]],
                 directory_first: bool = False):
    """(rows, whether `subset` is a directory) of the dataset at `path` (a hub ID, or the local copy of a
    ModelScope repo): a config of that name, else the repo's directory of that name (data_dir).
    is_directory() says whether the repo has that directory (None: cannot tell); directory_first reads a
    directory without asking for a config first. Raises _UnknownSubset when it is neither."""
    import datasets
    if subset == 'default':
        return datasets.load_dataset(path, split=split), False
    known = ''
    if not (directory_first and is_directory()):
        try:
            return datasets.load_dataset(path, subset, split=split), False
        except ValueError as e:
            if not _unknown_config(e, subset):
                raise
            configs = re.search(r'Available: (\[.*?\])', str(e))
            known = configs.group(1) if configs else ''
        if is_directory() is False:
            raise _UnknownSubset(known) from None
    try:
        return datasets.load_dataset(path, data_dir=subset, split=split), True
    except (FileNotFoundError, ValueError) as e:  # no data files there (or, offline, none cached)
        if isinstance(e, ValueError) and not str(e).startswith("Couldn't find cache for"):
            raise
        raise _UnknownSubset(known) from None


@contextlib.contextmanager
def _hf_offline(on: bool):
    """Hugging Face offline mode for this process while the block runs: huggingface_hub and datasets read
    HF_HUB_OFFLINE once, at import, so setting the variable now would change nothing."""
    if not on:
        yield
        return
    import datasets.config
    import huggingface_hub.constants as hf_constants
    saved = datasets.config.HF_HUB_OFFLINE, hf_constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = hf_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, hf_constants.HF_HUB_OFFLINE = saved


class _HfLoader:
    """datasets.load_dataset(id, ...). datasets 5.2 cannot find a data_dir load in its cache offline (it
    looks for config 'default-data_dir=X' where the online load wrote 'default-<hash of the data files>'),
    so swift records which cache files a directory subset was read into and reads those offline."""

    def __init__(self, dataset_id: str, cache_only: bool):
        self.dataset_id, self.cache_only = dataset_id, cache_only
        self.record_path = cache_dir() / 'hub' / 'datasets' / f'hf--{dataset_id.replace("/", "--")}.json'

    def __call__(self, subset: str, split: str):
        if self.cache_only:
            recorded = self._recorded(subset, split)
            if recorded is not None:
                return recorded
        with _hf_offline(self.cache_only):
            rows, is_directory = _load_subset(self.dataset_id, subset, split, lambda: self._is_directory(subset))
        if is_directory and not self.cache_only:
            self._record(subset, split, [f['filename'] for f in getattr(rows, 'cache_files', None) or []])
        return rows

    def _is_directory(self, subset: str) -> Optional[bool]:
        """One paths-info request: without it, datasets looks for data files under a missing directory
        with dozens of requests before it gives up."""
        if self.cache_only:
            return None
        from huggingface_hub import HfApi
        try:
            entries = HfApi().get_paths_info(self.dataset_id, [subset], repo_type='dataset')
        except Exception:  # let datasets' own attempt say what is wrong
            return None
        return any(type(e).__name__ == 'RepoFolder' for e in entries)

    def _read_record(self) -> dict:
        try:
            record = json.loads(self.record_path.read_text(encoding='utf-8'))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def _record(self, subset: str, split: str, files: List[str]) -> None:
        if files:
            record = self._read_record()
            record.setdefault(subset, {})[split] = files
            atomic_write_json(self.record_path, record)

    def _recorded(self, subset: str, split: str):
        files = (self._read_record().get(subset) or {}).get(split)
        if not files or not all(os.path.isfile(f) for f in files):
            return None
        import datasets
        logger.info(f'{self.dataset_id}:{subset}/{split}: reading the cached copy {files[0]}')
        parts = [datasets.Dataset.from_file(f) for f in files]
        return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


class _MsLoader:
    """Downloads the whole repo once (modelscope skips the files it already has), then reads it locally;
    offline, modelscope's local copy (local_files_only=True)."""

    def __init__(self, dataset_id: str, cache_only: bool):
        self.dataset_id, self.cache_only = dataset_id, cache_only
        self.local_dir: Optional[Path] = None

    def __call__(self, subset: str, split: str):
        if self.local_dir is None:
            from modelscope.hub.snapshot_download import dataset_snapshot_download, snapshot_download
            if self.cache_only:  # modelscope 1.40's dataset_snapshot_download has no local_files_only
                path = snapshot_download(self.dataset_id, repo_type='dataset', local_files_only=True)
            else:
                path = dataset_snapshot_download(self.dataset_id)
            self.local_dir = Path(path)
        local_dir = self.local_dir
        return _load_subset(str(local_dir), subset, split, lambda: (local_dir / subset).is_dir(),
                            directory_first=True)[0]


# ---------------------------------------------------------------- errors


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ''


def _is_missing_repo(error: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(error)}
    if names & {'DatasetNotFoundError', 'RepositoryNotFoundError', 'NotExistError'}:
        return True
    response = getattr(error, 'response', None)  # modelscope's HTTPError for a missing repo
    return type(error).__name__ == 'HTTPError' and getattr(response, 'status_code', None) == 404


def _chain(error: BaseException) -> List[BaseException]:
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _load_error(hub: str, dataset_id: str, subset: str, split: str, error: Exception) -> SwiftError:
    name = f'{dataset_id}:{subset}/{split}'
    hub_name = HUB_NAMES[hub]
    if isinstance(error, _UnknownSubset):
        configs = f' (its configs: {error.args[0]})' if error.args and error.args[0] else ''
        return SwiftError(f'{hub_name} dataset {dataset_id!r} has no subset {subset!r}: no config of that name'
                          f'{configs} and no directory {subset}/ with data files in the repo')
    unknown_split = re.match(r'Unknown split "(.*)"\. Should be one of (\[.*\])', str(error))
    if unknown_split:
        return SwiftError(f'{hub_name} dataset {dataset_id!r}, subset {subset!r} has no split {split!r}; '
                          f'it has {unknown_split.group(2)}')
    if _is_missing_repo(error):
        token = 'HF_TOKEN' if hub == 'hf' else 'MODELSCOPE_API_TOKEN'
        return SwiftError(f'{hub_name} has no dataset {dataset_id!r} (or it is private or gated: set {token}); '
                          'check the ID' + (', or try ModelScope (ms::ID)' if hub == 'hf' else
                                            ', or try Hugging Face (hf::ID)'))
    return _hub_unreachable(hub, name, f'{type(error).__name__}: {_first_line(error)}'[:300])


# ---------------------------------------------------------------- rows


def read_hub_dataset(hub: str, dataset_id: str, subsets: List[str], splits: List[str]) -> Iterator[Record]:
    """Rows of every (subset, split), located as 'org/name:subset/split: row N' (0-based)."""
    offline = offline_reason(hub)
    unreachable = None if offline else _unreachable_detail(hub, timeout=3.0)
    if unreachable:
        logger.warning(f'{HUB_NAMES[hub]} is unreachable ({unreachable}): looking for {dataset_id} in the local '
                       'cache')
    cache_only = bool(offline or unreachable)
    load = (_HfLoader if hub == 'hf' else _MsLoader)(dataset_id, cache_only)
    for subset in subsets:
        for split in splits:
            name = f'{dataset_id}:{subset}/{split}'
            logger.info(f'loading {name} from {HUB_NAMES[hub]}' + (' (local cache)' if cache_only else ''))
            try:
                rows = load(subset, split)
            except SwiftError:
                raise
            except Exception as e:  # network, missing repo, bad subset: all are one line for the user
                if not cache_only:
                    raise _load_error(hub, dataset_id, subset, split, e) from None
                why = (f'subset {subset!r} is not in the local cache' if isinstance(e, _UnknownSubset) else
                       f'no copy in the local cache: {type(e).__name__}: {_first_line(e)}')
                if unreachable:
                    raise _hub_unreachable(hub, dataset_id, f'{unreachable}; {why}'[:400]) from None
                raise _hub_unreachable(hub, name, f'offline ({offline}) and {why}'[:400]) from None
            for index, row in enumerate(rows):
                yield Record(f'{name}: row {index}', data=row)
