"""Uploading a local directory to a model repository on ModelScope (the default) or Hugging Face.

    target = upload_target('org/name', use_hf=False, token=None, private=True)   # checks the token, no request
    create_repo(target)                                # before any long work: a bad token fails here
    url = upload_folder(target, 'output/merged', commit_message='...', extra_files={'README.md': card})

Each hub's own client does the protocol: huggingface_hub's HfApi.create_repo / upload_folder (preupload,
LFS or Xet transfers, one commit) and modelscope's HubApi.create_repo / upload_folder (LFS batch, PUT,
commits). swift adds:
- a token check before anything is sent (--hub_token, else HF_TOKEN / `hf auth login`, else
  MODELSCOPE_API_TOKEN / `modelscope login`);
- extra files (the model card, ModelScope's configuration.json) without writing into the directory:
  a staging folder of symbolic links to the directory's files plus the extra files is uploaded;
- retries of the whole upload after a network failure (a connection dropped mid-commit) or a passing
  server error (HTTP 500, 502, 503, 504): files the hub
  already holds are not sent again (both clients ask the hub which blobs it has), so a retry is cheap;
- one-line SwiftErrors for every hub failure.
"""
import contextlib
import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

from swift.utils import SwiftError, cache_dir, get_logger

from .hub import HF, MS, _describe, _exception_chain, _hf_endpoint, _is_network_error, _ms_endpoints

logger = get_logger()

UPLOAD_ATTEMPTS = 3  # one upload and two retries after network failures
RETRY_WAIT_S = (1.0, 4.0)  # waits before the 2nd and 3rd attempts
TRANSIENT_STATUS = (500, 502, 503, 504)
# Training-state files of a checkpoint: resuming needs them, someone loading the model never does.
CHECKPOINT_STATE_PATTERNS = ('optimizer.pt', 'scheduler.pt', 'scaler.pt', 'rng_state*.pth', 'global_step*',
                             'global_step*/*', 'latest')


@dataclass(frozen=True)
class UploadTarget:
    repo_id: str
    use_hf: bool
    token: str
    private: bool

    @property
    def hub(self) -> str:
        return HF if self.use_hf else MS

    @property
    def url(self) -> str:
        if self.use_hf:
            return f'{_hf_endpoint().rstrip("/")}/{self.repo_id}'
        return f'{_ms_endpoints()[0]}/models/{self.repo_id}'


def upload_target(repo_id: str, *, use_hf: bool, token: Optional[str], private: bool) -> UploadTarget:
    """The repository (org/name) to push to, with the token found; a SwiftError when there is none. Sends
    nothing."""
    found = token or (_hf_saved_token() if use_hf else _ms_saved_token())
    if not found:
        where = ('set HF_TOKEN or run `hf auth login`' if use_hf else
                 'set MODELSCOPE_API_TOKEN or run `modelscope login --token ...`')
        raise SwiftError(f'pushing to {HF if use_hf else MS} needs a token with write access: pass --hub_token, '
                         f'or {where}')
    return UploadTarget(repo_id, use_hf, found, private)


def create_repo(target: UploadTarget) -> None:
    """Create the repository (an existing one is kept as it is): a wrong token or namespace fails here."""
    logger.info(f'creating {target.repo_id} on {target.hub} ({"private" if target.private else "public"}, '
                'kept as it is if it exists)')
    try:
        if target.use_hf:
            from huggingface_hub import HfApi
            HfApi(token=target.token).create_repo(target.repo_id, private=target.private, exist_ok=True)
        else:
            _ms_api(target).create_repo(
                target.repo_id, visibility='private' if target.private else 'public', exist_ok=True)
    except Exception as e:  # every hub failure becomes one clear line
        raise _upload_error(e, target, 'create') from None


def upload_folder(target: UploadTarget,
                  folder,
                  *,
                  commit_message: str,
                  extra_files: Optional[Dict[str, bytes]] = None,
                  ignore_patterns: Sequence[str] = ()) -> str:
    """Upload every file of `folder` in one upload, with `extra_files` added (or replacing the folder's files
    of the same name), retried after network failures; returns the repository's URL."""
    folder = Path(folder)
    extra = dict(extra_files or {})
    with tempfile.TemporaryDirectory(prefix='swift-push-') as staging:
        source = _staged(folder, extra, Path(staging)) if extra else folder
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                _upload_once(target, source, commit_message, list(ignore_patterns), _tracker_file(target, folder))
                break
            except Exception as e:
                if not _is_transient(e) or attempt == UPLOAD_ATTEMPTS:
                    raise _upload_error(e, target, 'upload') from None
                wait = RETRY_WAIT_S[attempt - 1]
                logger.warning(f'upload to {target.hub} failed ({_describe(_exception_chain(e)[-1])}); '
                               f'retrying in {wait:.0f} s (attempt {attempt + 1} of {UPLOAD_ATTEMPTS})')
                time.sleep(wait)
    logger.info(f'pushed {folder} to {target.url}')
    return target.url


def _tracker_file(target: UploadTarget, folder: Path) -> Path:
    """Where modelscope keeps its resumable-upload record for this directory and repository: swift's cache,
    so that the uploaded directory is never written to and a staged copy resumes like the original."""
    key = hashlib.sha256(f'{target.repo_id}\n{folder.resolve()}'.encode()).hexdigest()[:16]
    return cache_dir() / 'hub' / 'upload' / f'{target.repo_id.replace("/", "--")}-{key}.json'


def _upload_once(target: UploadTarget, folder: Path, commit_message: str, ignore_patterns, tracker: Path) -> None:
    if target.use_hf:
        from huggingface_hub import HfApi
        HfApi(token=target.token).upload_folder(repo_id=target.repo_id, folder_path=str(folder),
                                                commit_message=commit_message,
                                                ignore_patterns=ignore_patterns or None)
        return
    with contextlib.redirect_stdout(sys.stderr):  # modelscope prints its upload report: stdout stays swift's
        _ms_api(target).upload_folder(repo_id=target.repo_id, folder_path=str(folder),
                                                 commit_message=commit_message, revision='master',
                                                 ignore_patterns=ignore_patterns or None, tracker_path=str(tracker))


def _ms_api(target: UploadTarget):
    """modelscope's HubApi for this push. A configured endpoint (MODELSCOPE_ENDPOINT) is read now and passed
    explicitly: modelscope keeps the one it saw first for the whole process."""
    from modelscope.hub.api import HubApi
    configured = os.environ.get('MODELSCOPE_ENDPOINT') or os.environ.get('MODELSCOPE_DOMAIN')
    return HubApi(endpoint=_ms_endpoints()[0] if configured else None, token=target.token)


def _staged(folder: Path, extra: Dict[str, bytes], staging: Path) -> Path:
    """A folder with a symbolic link to every file of `folder` but the extra ones, which are written out."""
    root = staging / folder.name
    for file in folder.rglob('*'):
        if file.is_file() and file.relative_to(folder).as_posix() not in extra:
            link = root / file.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(file.resolve(), link)
    root.mkdir(parents=True, exist_ok=True)
    for name, data in extra.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _status(error: BaseException) -> Optional[int]:
    """The HTTP status a hub client's exception carries (huggingface_hub: .response; modelscope: .status_code)."""
    for e in _exception_chain(error):
        for status in (getattr(getattr(e, 'response', None), 'status_code', None), getattr(e, 'status_code', None)):
            if isinstance(status, int):
                return status
    return None


def _is_transient(error: BaseException) -> bool:
    """Worth another attempt: the connection failed, or the hub answered a passing server error."""
    return _is_network_error(error) or _status(error) in TRANSIENT_STATUS


def _hf_saved_token() -> Optional[str]:
    from huggingface_hub import get_token
    return get_token()  # HF_TOKEN, else the token `hf auth login` saved


def _ms_saved_token() -> Optional[str]:
    from modelscope_hub.config import HubConfig
    return HubConfig().token or None  # MODELSCOPE_API_TOKEN, else the one `modelscope login` saved


def _upload_error(error: Exception, target: UploadTarget, step: str) -> SwiftError:
    what = f'creating {target.repo_id} on {target.hub}' if step == 'create' else \
        f'uploading to {target.repo_id} on {target.hub}'
    chain = _exception_chain(error)
    status = _status(error)
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    token_var = 'HF_TOKEN' if target.use_hf else 'MODELSCOPE_API_TOKEN'
    if status in (401, 403) or names & {'AuthenticationError', 'PermissionDeniedError'} or \
            'Token does not exist' in str(error):
        return SwiftError(f'{what} was refused ({_describe(error)}): the token (--hub_token or {token_var}) '
                          f'is not valid or cannot write to the namespace {target.repo_id.split("/")[0]!r}')
    if _is_transient(error) and step == 'upload':
        endpoint = _hf_endpoint() if target.use_hf else ' / '.join(_ms_endpoints())
        return SwiftError(f'{what} failed {UPLOAD_ATTEMPTS} times ({endpoint}: {_describe(chain[-1])}); run '
                          'the command again to resume (files the hub already holds are not sent again)')
    if _is_network_error(error):
        endpoint = _hf_endpoint() if target.use_hf else ' / '.join(_ms_endpoints())
        return SwiftError(f'{what} failed: cannot reach {target.hub} ({endpoint}) ({_describe(chain[-1])})')
    return SwiftError(f'{what} failed: {_describe(error)}')

