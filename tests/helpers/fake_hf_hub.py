"""A local stand-in for the Hugging Face Hub, enough for huggingface_hub 2.4's snapshot_download and
for datasets 5.2's load_dataset of a repo of data files.

    with FakeHfHub() as hub:
        hub.add_repo(FakeRepo('org/tiny', {'config.json': b'{}', 'model.safetensors': weights}))
        hub.add_repo(FakeRepo('org/data', {'data/train.jsonl': rows}, repo_type='dataset'))
        # run code with HF_ENDPOINT=hub.url, then inspect hub.requests

What it speaks (read from huggingface_hub/_snapshot_download.py, hf_api.py, file_download.py,
hf_file_system.py and datasets/load.py); {type} is `models` or `datasets`:
- GET /api/{type}/{repo}[/revision/{rev}]: the repo info; clients only need `sha` (the commit).
- GET /api/{type}/{repo}/tree/{rev}[/{dir}]?recursive=...: the listing of the repo or of one directory:
  files with git blob ids and, for LFS files, `lfs.oid` = sha256, and `directory` entries; only the
  direct children unless recursive=True. A single page: no `Link` header, so no pagination. A missing
  directory answers 404 with X-Error-Code: EntryNotFound.
- POST /api/{type}/{repo}/paths-info/{rev} (form: paths=..., expand=...): the entries of those paths
  (HfFileSystem.info uses it); paths that do not exist are left out, as the hub does.
- HEAD/GET /{repo}/resolve/{rev}/{file} (models) and /datasets/{repo}/resolve/{rev}/{file}: X-Repo-Commit,
  ETag (git blob id, or sha256 for LFS files), X-Linked-Etag / X-Linked-Size for LFS files,
  Content-Length, and Range requests (206) for resumes.
  datasets asks for README.md, {name}.py, .huggingface.yaml and dataset_infos.json that a repo of
  plain data files lacks: those are 404 EntryNotFound, as on the hub.
- The dataset viewer (datasets-server.{host}) is not served: datasets then reads the repo's files.
- Unknown repos answer 404 with X-Error-Code: RepoNotFound, private ones 401; unknown revisions 404
  with X-Error-Code: RevisionNotFound; anything else a plain 404.
Xet is never advertised (no X-Xet-* headers, no `xetHash` in listings), so downloads use plain HTTP.

Uploads (read from huggingface_hub/hf_api.py create_repo, _commit_api.py and lfs.py), each needing
`Authorization: Bearer <one of hub.write_tokens>` (else 401):
- POST /api/repos/create {name, organization, visibility|private, type}: 200 {url}, 409 when it exists.
- POST /api/{type}/{repo}/preupload/{rev} {files: [{path, sample, size}]}: uploadMode `lfs` for
  LFS_SUFFIXES, else `regular`; `oid` of the file already at that path.
- POST /{repo}.git/info/lfs/objects/batch (git-lfs batch API, basic transfer): an upload action to
  PUT /lfs-upload/{sha256}, or no action when the blob is already stored.
- PUT /lfs-upload/{sha256}: the bytes, checked against the sha256 (400 if they differ).
- POST /api/validate-yaml: no errors (the model card's metadata is not judged).
- POST /api/{type}/{repo}/commit/{rev} (NDJSON: header, file (base64), lfsFile (stored oid),
  deletedFile): a new commit of the repo, served by the download routes above.
Without hf_xet (HF_HUB_DISABLE_XET=1) huggingface_hub uses exactly this; with it, LFS files would go
to a Xet CAS server, which this stand-in does not speak.

Faults for tests: `faults.down = True` answers 503 to everything; `cut_first_get(repo, path, n)` closes
the connection after n body bytes on the next GET of that file (a transfer cut mid-file);
`corrupt(repo, path)` serves other bytes of the same length while the headers and the listing still
advertise the true sha256.
`faults.drop_commits = n` reads the next n commit requests and closes the connection without an
answer (the commit is not applied), as a connection dropped mid-request; `faults.fail_commits = n`
answers the next n with 503 Service Unavailable.
Every request is logged in `requests` (method, path, Range header, body bytes sent); every applied
commit in `commits` (repo, summary, paths).
"""
import base64
import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Set
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = ('.safetensors', '.bin', '.gguf', '.pt', '.parquet', '.arrow')
REPO_TYPES = ('model', 'dataset')
# Matched against the raw (still quoted) path: a revision such as refs%2Fpr%2F1 stays one segment.
_REPO = r'(?P<repo>[^/]+/[^/]+)'
_TYPE = r'(?P<type>models|datasets)'
_INFO_RE = re.compile(rf'^/api/{_TYPE}/{_REPO}(?:/revision/(?P<rev>[^/]+))?$')
_TREE_RE = re.compile(rf'^/api/{_TYPE}/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<dir>.*))?$')
_PATHS_INFO_RE = re.compile(rf'^/api/{_TYPE}/{_REPO}/paths-info/(?P<rev>[^/]+)$')
_DATASET_RESOLVE_RE = re.compile(rf'^/(?P<type>datasets)/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)$')
_RESOLVE_RE = re.compile(rf'^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)$')
_RANGE_RE = re.compile(r'^bytes=(\d+)-(\d*)$')
_CREATE_RE = re.compile(r'^/api/repos/create$')
_PREUPLOAD_RE = re.compile(rf'^/api/{_TYPE}/{_REPO}/preupload/(?P<rev>[^/]+)$')
_COMMIT_RE = re.compile(rf'^/api/{_TYPE}/{_REPO}/commit/(?P<rev>[^/]+)$')
_LFS_BATCH_RE = re.compile(rf'^/(?:(?P<type>datasets)/)?{_REPO}\.git/info/lfs/objects/batch$')
_LFS_PUT_RE = re.compile(r'^/lfs-upload/(?P<oid>[0-9a-f]{64})$')
_VALIDATE_YAML_RE = re.compile(r'^/api/validate-yaml$')


def git_blob_id(data: bytes) -> str:
    """The git object id of a file, which the hub reports as `oid` and ETag for non-LFS files."""
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()


@dataclass
class RepoFile:
    data: bytes
    lfs: bool

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.lfs else git_blob_id(self.data)

    def listing(self, path: str) -> dict:
        entry = {'type': 'file', 'path': path, 'size': len(self.data), 'oid': git_blob_id(self.data)}
        if self.lfs:
            entry['lfs'] = {'oid': self.etag, 'size': len(self.data), 'pointerSize': 134}
        return entry


class FakeRepo:
    """A model (or, with repo_type='dataset', dataset) repository at one commit; files ending in
    LFS_SUFFIXES are served as LFS files."""

    def __init__(self, repo_id: str, files: Dict[str, bytes], private: bool = False, repo_type: str = 'model'):
        assert repo_type in REPO_TYPES, repo_type
        self.repo_id = repo_id
        self.repo_type = repo_type
        self.private = private
        self.files = {path: RepoFile(data, path.endswith(LFS_SUFFIXES)) for path, data in files.items()}
        digest = hashlib.sha1(repo_id.encode())
        for path in sorted(self.files):
            digest.update(path.encode() + self.files[path].etag.encode())
        self.commit = digest.hexdigest()

    def has_revision(self, rev: str) -> bool:
        return rev in ('main', self.commit)

    def directories(self) -> Set[str]:
        """Every directory that holds a file, at any depth ('a', 'a/b', ...)."""
        parents = (path.split('/')[:-1] for path in self.files)
        return {'/'.join(parts[:i]) for parts in parents for i in range(1, len(parts) + 1)}

    def directory_listing(self, path: str) -> dict:
        inside = sorted(f'{p}:{f.etag}' for p, f in self.files.items() if p.startswith(path + '/'))
        return {'type': 'directory', 'path': path, 'oid': hashlib.sha1('\n'.join(inside).encode()).hexdigest()}

    def tree(self, directory: str, recursive: bool) -> Optional[List[dict]]:
        """The hub's listing of `directory` ('' for the root), or None when there is no such directory."""
        prefix = directory.strip('/') + '/' if directory.strip('/') else ''
        if prefix and prefix[:-1] not in self.directories():
            return None
        entries = [f.listing(p) for p, f in self.files.items() if p.startswith(prefix)]
        entries += [self.directory_listing(d) for d in self.directories() if d.startswith(prefix)]
        if not recursive:
            entries = [e for e in entries if '/' not in e['path'][len(prefix):]]
        return sorted(entries, key=lambda e: e['path'])

    def paths_info(self, paths: List[str]) -> List[dict]:
        out = []
        for path in paths:
            path = path.strip('/')
            if path in self.files:
                out.append(self.files[path].listing(path))
            elif path in self.directories():
                out.append(self.directory_listing(path))
        return out


@dataclass
class LoggedRequest:
    method: str
    path: str
    range: Optional[str] = None
    body_bytes: int = 0


@dataclass
class _Faults:
    cut_after: Dict[str, int] = field(default_factory=dict)  # 'repo/file' → bytes sent before the cut (one-shot)
    corrupt: Set[str] = field(default_factory=set)  # 'repo/file'
    down: bool = False  # every request answers 503, as during a hub outage
    drop_commits: int = 0  # the next n commit requests get no answer (connection closed)
    fail_commits: int = 0  # the next n commit requests answer 503 (after any dropped ones)


class FakeHfHub:
    """A threaded HTTP server on 127.0.0.1 (a free port) that serves FakeRepos like the hub does."""

    def __init__(self):
        self.repos: Dict[str, FakeRepo] = {}  # model repos
        self.dataset_repos: Dict[str, FakeRepo] = {}
        self.requests: List[LoggedRequest] = []
        self.faults = _Faults()
        self.write_tokens: Set[str] = {'hf_test_write_token'}  # Bearer tokens allowed to create and commit
        self.lfs_blobs: Dict[str, bytes] = {}  # sha256 → bytes PUT by clients
        self.commits: List[dict] = []  # {'repo', 'summary', 'paths'} per applied commit
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def __enter__(self) -> 'FakeHfHub':
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the port (connections are then refused), as a hub gone away; idempotent."""
        if self._server.socket.fileno() != -1:
            self._server.shutdown()
            self._server.server_close()

    def add_repo(self, repo: FakeRepo) -> FakeRepo:
        (self.dataset_repos if repo.repo_type == 'dataset' else self.repos)[repo.repo_id] = repo
        return repo

    def find_repo(self, repo_type: str, repo_id: str) -> Optional[FakeRepo]:
        return (self.dataset_repos if repo_type == 'dataset' else self.repos).get(repo_id)

    def cut_first_get(self, repo_id: str, path: str, after_bytes: int) -> None:
        self.faults.cut_after[f'{repo_id}/{path}'] = after_bytes

    def corrupt(self, repo_id: str, path: str, on: bool = True) -> None:
        key = f'{repo_id}/{path}'
        (self.faults.corrupt.add if on else self.faults.corrupt.discard)(key)

    def log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def file_gets(self, repo_id: str, path: str, repo_type: str = 'model') -> List[LoggedRequest]:
        wanted = f'/datasets/{repo_id}/resolve/' if repo_type == 'dataset' else f'/{repo_id}/resolve/'
        return [r for r in self.requests if r.method == 'GET' and r.path.startswith(wanted) and r.path.endswith(
            '/' + path)]


def _make_handler(hub: FakeHfHub):

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1: Content-Length frames every body, so a connection closed early is a cut transfer.
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._dispatch(head=True)

        def do_GET(self) -> None:
            self._dispatch(head=False)

        def do_POST(self) -> None:
            self._body = read_body(self)
            form = 'application/x-www-form-urlencoded' in (self.headers.get('Content-Type') or '')
            self._form = parse_qs(self._body.decode()) if form and self._body else {}
            self._dispatch(head=False)

        def do_PUT(self) -> None:
            self._body = read_body(self)
            self._dispatch(head=False)

        def _dispatch(self, head: bool) -> None:
            raw = urlsplit(self.path)
            path = unquote(raw.path)
            entry = LoggedRequest(self.command, path, self.headers.get('Range'))
            hub.log(entry)
            if hub.faults.down:
                return self._send_json(503, {'error': 'Service Unavailable'}, head=head)
            if self.command == 'POST':
                routes = ((_PATHS_INFO_RE, self._serve_paths_info), (_CREATE_RE, self._create_repo),
                          (_PREUPLOAD_RE, self._preupload), (_COMMIT_RE, self._commit),
                          (_LFS_BATCH_RE, self._lfs_batch), (_VALIDATE_YAML_RE, self._validate_yaml))
            elif self.command == 'PUT':
                routes = ((_LFS_PUT_RE, self._lfs_put),)
            else:
                routes = ((_DATASET_RESOLVE_RE, self._serve_file), (_RESOLVE_RE, self._serve_file),
                          (_TREE_RE, self._serve_tree), (_INFO_RE, self._serve_info))
            for pattern, serve in routes:
                match = pattern.match(raw.path)
                if match:
                    self._query = parse_qs(raw.query)
                    return serve(_Match(match), entry, head)
            self._send_json(404, {'error': 'Not Found'}, head=head)

        # --- API ---------------------------------------------------------------------------------------

        def _writable_repo_or_error(self, match, head: bool) -> Optional[FakeRepo]:
            """The repository an upload writes to (a token is required even for a public one), or None once the
            error answer is sent."""
            if self._refuse_unauthorized():
                return None
            return self._repo_or_error(match, head)

        def _repo_or_error(self, match, head: bool) -> Optional[FakeRepo]:
            repo = hub.find_repo(match.repo_type, match.group('repo'))
            rev = match.groupdict().get('rev') or 'main'
            if repo is None:
                self._send_json(404, {'error': 'Repository not found'}, {'X-Error-Code': 'RepoNotFound'}, head)
            elif repo.private and not self._authorized():
                self._send_json(401, {'error': 'Invalid username or password.'}, head=head)
            elif not repo.has_revision(rev):
                self._send_json(404, {'error': f'Invalid rev id: {rev}'}, {'X-Error-Code': 'RevisionNotFound'}, head)
            else:
                return repo
            return None

        def _serve_info(self, match, entry, head) -> None:
            repo = self._repo_or_error(match, head)
            if repo is not None:
                self._send_json(200, {
                    'id': repo.repo_id, 'modelId': repo.repo_id, 'sha': repo.commit, 'private': False,
                    'siblings': [{'rfilename': p} for p in sorted(repo.files)]}, head=head)

        def _serve_tree(self, match, entry, head) -> None:
            repo = self._repo_or_error(match, head)
            if repo is None:
                return
            recursive = (self._query.get('recursive') or ['False'])[0].lower() in ('true', '1')
            listing = repo.tree(match.group('dir') or '', recursive)
            if listing is None:
                self._send_json(404, {'error': f'Entry not found: {match.group("dir")}'},
                                {'X-Error-Code': 'EntryNotFound'}, head)
            else:
                self._send_json(200, listing, head=head)

        def _serve_paths_info(self, match, entry, head) -> None:
            repo = self._repo_or_error(match, head)
            if repo is not None:
                self._send_json(200, repo.paths_info(self._form.get('paths', [])), head=head)

        # --- uploads -----------------------------------------------------------------------------------

        def _authorized(self) -> bool:
            auth = self.headers.get('Authorization') or ''
            return auth.startswith('Bearer ') and auth[len('Bearer '):] in hub.write_tokens

        def _refuse_unauthorized(self) -> bool:
            if self._authorized():
                return False
            self._send_json(401, {'error': 'Invalid credentials in Authorization header'})
            return True

        def _create_repo(self, match, entry, head) -> None:
            if self._refuse_unauthorized():
                return
            payload = json.loads(self._body)
            repo_type = payload.get('type') or 'model'
            repo_id = f'{payload["organization"]}/{payload["name"]}' if payload.get('organization') \
                else f'user/{payload["name"]}'
            url = f'{hub.url}/{"datasets/" if repo_type == "dataset" else ""}{repo_id}'
            if hub.find_repo(repo_type, repo_id) is not None:
                return self._send_json(409, {'error': 'You already created this model repo', 'url': url})
            private = payload.get('visibility') == 'private' or bool(payload.get('private'))
            hub.add_repo(FakeRepo(repo_id, {}, private=private, repo_type=repo_type))
            self._send_json(200, {'url': url, 'name': repo_id})

        def _preupload(self, match, entry, head) -> None:
            repo = self._writable_repo_or_error(match, head)
            if repo is None:
                return
            files = []
            for item in json.loads(self._body)['files']:
                existing = repo.files.get(item['path'])
                files.append({'path': item['path'], 'uploadMode': 'lfs' if item['path'].endswith(LFS_SUFFIXES)
                              else 'regular', 'shouldIgnore': False,
                              'oid': existing.etag if existing is not None else None})
            self._send_json(200, {'files': files, 'commitOid': repo.commit})

        def _lfs_batch(self, match, entry, head) -> None:
            if self._refuse_unauthorized():
                return
            if hub.find_repo(match.repo_type, match.group('repo')) is None:
                return self._send_json(404, {'error': 'Repository not found'}, {'X-Error-Code': 'RepoNotFound'})
            objects = []
            for obj in json.loads(self._body)['objects']:
                answer = {'oid': obj['oid'], 'size': obj['size'], 'authenticated': True}
                if obj['oid'] not in hub.lfs_blobs:
                    answer['actions'] = {'upload': {'href': f'{hub.url}/lfs-upload/{obj["oid"]}', 'header': {}}}
                objects.append(answer)
            self._send_json(200, {'transfer': 'basic', 'objects': objects, 'hash_algo': 'sha256'})

        def _lfs_put(self, match, entry, head) -> None:
            oid = match.group('oid')
            if hashlib.sha256(self._body).hexdigest() != oid:
                return self._send_json(400, {'error': f'content does not match sha256 {oid}'})
            hub.lfs_blobs[oid] = self._body
            self._send_head(200, {'Content-Length': '0'})

        def _validate_yaml(self, match, entry, head) -> None:
            self._send_json(200, {'errors': [], 'warnings': []})

        def _commit(self, match, entry, head) -> None:
            repo = self._writable_repo_or_error(match, head)
            if repo is None:
                return
            if hub.faults.drop_commits > 0:  # the request was read; no answer comes back
                hub.faults.drop_commits -= 1
                return self._send_then_cut(b'', entry)
            if hub.faults.fail_commits > 0:
                hub.faults.fail_commits -= 1
                return self._send_json(503, {'error': 'Service Unavailable'})
            files = {path: f.data for path, f in repo.files.items()}
            summary = ''
            for line in self._body.splitlines():
                item = json.loads(line)
                key, value = item['key'], item['value']
                if key == 'header':
                    summary = value.get('summary', '')
                elif key == 'file':
                    files[value['path']] = base64.b64decode(value['content'])
                elif key == 'lfsFile':
                    if value['oid'] not in hub.lfs_blobs:
                        return self._send_json(400, {'error': f'LFS file {value["path"]} was never uploaded'})
                    files[value['path']] = hub.lfs_blobs[value['oid']]
                elif key in ('deletedFile', 'deletedFolder'):
                    files = {p: d for p, d in files.items() if p != value['path'] and
                             not p.startswith(value['path'].rstrip('/') + '/')}
            new = FakeRepo(repo.repo_id, files, private=repo.private, repo_type=repo.repo_type)
            hub.add_repo(new)
            with hub._lock:
                hub.commits.append({'repo': repo.repo_id, 'summary': summary, 'paths': sorted(files)})
            self._send_json(200, {'success': True, 'commitOid': new.commit,
                                  'commitUrl': f'{hub.url}/{repo.repo_id}/commit/{new.commit}'})

        # --- files -------------------------------------------------------------------------------------

        def _serve_file(self, match, entry, head) -> None:
            repo = self._repo_or_error(match, head)
            if repo is None:
                return
            name = match.group('file')
            file = repo.files.get(name)
            if file is None:
                self._send_json(404, {'error': 'Entry not found'}, {'X-Error-Code': 'EntryNotFound',
                                                                     'X-Repo-Commit': repo.commit}, head)
                return
            key = f'{repo.repo_id}/{name}'
            data = _flip_bytes(file.data) if key in hub.faults.corrupt else file.data
            headers = {'X-Repo-Commit': repo.commit, 'ETag': f'"{file.etag}"', 'Accept-Ranges': 'bytes',
                       'Content-Type': 'application/octet-stream'}
            if file.lfs:
                headers.update({'X-Linked-Etag': f'"{file.etag}"', 'X-Linked-Size': str(len(data))})
            start, end = self._requested_range(len(data))
            status = 206 if self.headers.get('Range') else 200
            if status == 206:
                headers['Content-Range'] = f'bytes {start}-{end - 1}/{len(data)}'
            body = data[start:end]
            headers['Content-Length'] = str(len(body))
            self._send_head(status, headers)
            if head:
                return
            cut = hub.faults.cut_after.pop(key, None)
            if cut is not None and cut < len(body):
                self._send_then_cut(body[:cut], entry)
                return
            self.wfile.write(body)
            entry.body_bytes = len(body)

        def _requested_range(self, size: int):
            match = _RANGE_RE.match(self.headers.get('Range') or '')
            if not match:
                return 0, size
            start = int(match.group(1))
            end = int(match.group(2)) + 1 if match.group(2) else size
            return start, min(end, size)

        def _send_then_cut(self, part: bytes, entry: LoggedRequest) -> None:
            self.wfile.write(part)
            self.wfile.flush()
            entry.body_bytes = len(part)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        # --- plumbing ----------------------------------------------------------------------------------

        def _send_head(self, status: int, headers: Dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def _send_json(self, status: int, payload, extra: Optional[Dict[str, str]] = None, head: bool = False):
            body = json.dumps(payload).encode()
            headers = {'Content-Type': 'application/json', 'Content-Length': str(len(body)), **(extra or {})}
            self._send_head(status, headers)
            if not head:
                self.wfile.write(body)

    return Handler


class _Match:
    """A route's match with its groups unquoted, and the repo type it addresses ('model' or 'dataset')."""

    def __init__(self, match: 're.Match'):
        self._groups = {k: (unquote(v) if v is not None else None) for k, v in match.groupdict().items()}
        self.repo_type = 'dataset' if self._groups.get('type') == 'datasets' else 'model'

    def group(self, name: str) -> Optional[str]:
        return self._groups.get(name)

    def groupdict(self) -> Dict[str, Optional[str]]:
        return dict(self._groups)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, framed by Content-Length or sent chunked (httpx streams file uploads chunked)."""
    if 'chunked' in (handler.headers.get('Transfer-Encoding') or '').lower():
        body = b''
        while True:
            size = int(handler.rfile.readline().split(b';')[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b'\r\n', b'\n', b''):  # trailers
                    pass
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get('Content-Length') or 0)
    return handler.rfile.read(length) if length else b''


def _flip_bytes(data: bytes) -> bytes:
    """Same length, different content: what a bad mirror or a bit-flipping disk would hand over."""
    return bytes(b ^ 0xFF for b in data[:64]) + data[64:]
