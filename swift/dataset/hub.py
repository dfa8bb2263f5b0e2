"""Hub datasets: ModelScope (the default) or Hugging Face (`hf::` prefix, or use_hf=True).

Both are imported only here, only when a hub dataset is asked for. Hugging Face datasets load with
`datasets.load_dataset(id, subset, split=...)`. ModelScope datasets are downloaded with
modelscope's dataset_snapshot_download and then read by `datasets.load_dataset(local_dir, ...)`:
MsDataset.load would need modelscope's [framework] extra, which pins an older `datasets`.

Without a network the libraries retry for about 20 seconds each; a quick reachability check
answers in a few seconds instead, with one line that says what to do. It is skipped when a
proxy is configured or HF_HUB_OFFLINE=1 asks for the local cache.
"""
import os
import socket
from typing import Iterator, List, Tuple
from urllib.parse import urlparse

from swift.utils import SwiftError, get_logger

from .readers import Record

logger = get_logger()

HUB_NAMES = {'hf': 'Hugging Face', 'ms': 'ModelScope'}
_PROXY_VARS = ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy')


def _hub_address(hub: str) -> Tuple[str, int]:
    """(host, port) of the hub's endpoint, honouring HF_ENDPOINT / MODELSCOPE_DOMAIN."""
    if hub == 'hf':
        endpoint = os.environ.get('HF_ENDPOINT') or 'https://huggingface.co'
    else:
        endpoint = os.environ.get('MODELSCOPE_DOMAIN') or 'https://www.modelscope.cn'
    if '://' not in endpoint:
        endpoint = 'https://' + endpoint
    url = urlparse(endpoint)
    return url.hostname or endpoint, url.port or (80 if url.scheme == 'http' else 443)


def _hub_unreachable(hub: str, dataset_id: str, detail: str) -> SwiftError:
    return SwiftError(f'cannot load dataset {dataset_id!r} from {HUB_NAMES[hub]} ({detail}). '
                      'Use a local file instead (.jsonl/.json/.csv/.parquet/.txt or a datasets.save_to_disk '
                      'directory), or run where the hub is reachable')


def check_reachable(hub: str, dataset_id: str, timeout: float = 3.0) -> None:
    """Fail fast, with one clear line, when the hub's host cannot even be resolved or connected to."""
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return  # the proxy, not this machine, reaches the hub
    if hub == 'hf' and os.environ.get('HF_HUB_OFFLINE', '').strip().lower() in ('1', 'true', 'yes', 'on'):
        return  # the user asked for the local cache
    host, port = _hub_address(hub)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise _hub_unreachable(hub, dataset_id, f'{host}:{port} is unreachable: {e.strerror or e}') from None


def _load_hf(dataset_id: str, subset: str, split: str):
    import datasets
    return datasets.load_dataset(dataset_id, None if subset == 'default' else subset, split=split)


def _load_ms(dataset_id: str, subset: str, split: str):
    import datasets
    from modelscope.hub.snapshot_download import dataset_snapshot_download
    local_dir = dataset_snapshot_download(dataset_id)
    return datasets.load_dataset(local_dir, None if subset == 'default' else subset, split=split)


def read_hub_dataset(hub: str, dataset_id: str, subsets: List[str], splits: List[str]) -> Iterator[Record]:
    """Rows of every (subset, split), located as 'org/name:subset/split: row N' (0-based)."""
    check_reachable(hub, dataset_id)
    loader = _load_hf if hub == 'hf' else _load_ms
    for subset in subsets:
        for split in splits:
            name = f'{dataset_id}:{subset}/{split}'
            logger.info(f'loading {name} from {HUB_NAMES[hub]}')
            try:
                rows = loader(dataset_id, subset, split)
            except SwiftError:
                raise
            except Exception as e:  # network, missing repo, bad subset: all are one line for the user
                detail = str(e).strip().splitlines()[0] if str(e).strip() else ''
                raise _hub_unreachable(hub, name, f'{type(e).__name__}: {detail}'[:300]) from None
            for index, row in enumerate(rows):
                yield Record(f'{name}: row {index}', data=row)
