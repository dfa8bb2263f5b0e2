"""A local stand-in for ModelScope, enough for modelscope 1.40 (modelscope-hub 0.5) snapshot_download
and dataset_snapshot_download.

    with FakeMsHub() as hub:
        hub.add_repo('org/tiny', {'config.json': b'{}', 'model.safetensors': weights})
        hub.add_repo('org/data', {'data/train.jsonl': rows}, repo_type='dataset')
        # run code with MODELSCOPE_ENDPOINT=hub.url, then inspect hub.requests

What it speaks (read from modelscope_hub/_download.py and _legacy_api.py); {type} is `models` or `datasets`:
- GET /api/v1/models/{repo}/repo/files?Revision=..&Recursive=..: {"Code": 200, "Data": {"Files": [...]}},
  each file with Path, Name, Type "blob", Size and Sha256 (which modelscope checks after download).
- GET /api/v1/datasets/{repo}/repo/tree?Revision=..&Recursive=..&PageNumber=..&PageSize=..[&Root=dir]:
  the same entries, paged (a page shorter than PageSize is the last); only the files under Root, and
  without Recursive=True only Root's direct children, directories as Type "tree". A Root that does
  not exist answers 404.
- GET /api/v1/datasets/{repo}: the repo info (modelscope asks when a listing root is missing).
- GET /api/v1/{type}/{repo}/repo?Revision=..&FilePath=..: the file's bytes, with Range support.
- Unknown repos answer 404 (modelscope raises NotExistError); everything else, e.g. the intra-cloud
  region probe /api/v1/repos/internalAccelerationInfo, a plain 404.

Uploads (read from modelscope_hub/api.py create_repo, _upload.py and _legacy_api.py), each needing
`Authorization: Bearer <one of hub.write_tokens>` or the `m_session_id` cookie (else 401):
- POST /api/v1/models {Path, Name, Visibility, License}: creates the repo (Visibility 1 = private);
  409 when it exists (modelscope then carries on: upload_folder creates the repo itself, exist-ok).
- POST /api/v1/repos/models/{repo}/info/lfs/objects/batch {operation, objects: [{oid, size}]}: an
  upload href (PUT /api/v1/lfs-upload/{sha256}) per blob not stored yet.
- PUT /api/v1/lfs-upload/{sha256}: the bytes, checked against the sha256 (400 if they differ).
- POST /api/v1/repos/models/{repo}/commit/{revision} {commit_message, actions: [{action, path, type,
  size, sha256, content (base64 for type normal)}]}: the repo's new content, served by the routes above.
Private repos answer 401 to requests without a write token.

Faults for tests: `corrupt(repo, path)` serves other bytes of the same length than the listed sha256;
`drop_commits = n` reads the next n commit requests and closes the connection without an answer.
Every request is logged in `requests` as (method, path, query); every applied commit in `commits`.
"""
import base64
import hashlib
import json
import re
import socket
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Set, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from .fake_hf_hub import read_body

_FILES_RE = re.compile(r'^/api/v1/(?P<type>models)/(?P<repo>[^/]+/[^/]+)/repo/files$')
_TREE_RE = re.compile(r'^/api/v1/(?P<type>datasets)/(?P<repo>[^/]+/[^/]+)/repo/tree$')
_FILE_RE = re.compile(r'^/api/v1/(?P<type>models|datasets)/(?P<repo>[^/]+/[^/]+)/repo$')
_INFO_RE = re.compile(r'^/api/v1/(?P<type>datasets)/(?P<repo>[^/]+/[^/]+)$')
_RANGE_RE = re.compile(r'^bytes=(\d+)-(\d*)$')
_CREATE_RE = re.compile(r'^/api/v1/models$')
_LFS_BATCH_RE = re.compile(r'^/api/v1/repos/models/(?P<repo>[^/]+/[^/]+)/info/lfs/objects/batch$')
_COMMIT_RE = re.compile(r'^/api/v1/repos/models/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)$')
_LFS_PUT_RE = re.compile(r'^/api/v1/lfs-upload/(?P<oid>[0-9a-f]{64})$')


class FakeMsHub:
    """A threaded HTTP server on 127.0.0.1 (a free port) that serves repositories like ModelScope does."""

    def __init__(self):
        self.repos: Dict[str, Dict[str, bytes]] = {}  # model repos: path → bytes
        self.dataset_repos: Dict[str, Dict[str, bytes]] = {}
        self.requests: List[Tuple[str, str, str]] = []
        self.corrupted: Set[str] = set()
        self.write_tokens: Set[str] = {'ms-test-write-token'}
        self.private: Set[str] = set()  # private model repos
        self.lfs_blobs: Dict[str, bytes] = {}  # sha256 → bytes PUT by clients
        self.commits: List[dict] = []  # {'repo', 'message', 'paths'} per applied commit
        self.drop_commits = 0  # the next n commit requests get no answer (connection closed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def __enter__(self) -> 'FakeMsHub':
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the port (connections are then refused), as a hub gone away; idempotent."""
        if self._server.socket.fileno() != -1:
            self._server.shutdown()
            self._server.server_close()

    def add_repo(self, repo_id: str, files: Dict[str, bytes], repo_type: str = 'model') -> None:
        assert repo_type in ('model', 'dataset'), repo_type
        (self.dataset_repos if repo_type == 'dataset' else self.repos)[repo_id] = dict(files)

    def corrupt(self, repo_id: str, path: str, on: bool = True) -> None:
        (self.corrupted.add if on else self.corrupted.discard)(f'{repo_id}/{path}')

    def log(self, method: str, path: str, query: str) -> None:
        with self._lock:
            self.requests.append((method, path, query))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def file_gets(self, repo_type: str = 'model') -> List[str]:
        """FilePath of every file download from a repo of that type, in order."""
        segment = 'datasets' if repo_type == 'dataset' else 'models'
        return [parse_qs(q)['FilePath'][0] for m, p, q in self.requests
                if (match := _FILE_RE.match(p)) and match.group('type') == segment and 'FilePath=' in q]


def _make_handler(hub: FakeMsHub):

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._dispatch(head=True)

        def do_GET(self) -> None:
            self._dispatch(head=False)

        def do_POST(self) -> None:
            self._upload_dispatch()

        def do_PUT(self) -> None:
            self._upload_dispatch()

        def _authorized(self) -> bool:
            auth = self.headers.get('Authorization') or ''
            cookies = SimpleCookie(self.headers.get('Cookie') or '')
            session = cookies['m_session_id'].value if 'm_session_id' in cookies else None
            return auth.removeprefix('Bearer ') in hub.write_tokens or session in hub.write_tokens

        def _upload_dispatch(self) -> None:
            self._body = read_body(self)
            path = unquote(urlsplit(self.path).path)
            hub.log(self.command, path, urlsplit(self.path).query)
            routes = {'POST': ((_CREATE_RE, self._create_repo), (_LFS_BATCH_RE, self._lfs_batch),
                               (_COMMIT_RE, self._commit)), 'PUT': ((_LFS_PUT_RE, self._lfs_put), )}
            for pattern, serve in routes[self.command]:
                match = pattern.match(path)
                if match:
                    if not self._authorized():
                        return self._send_json(401, {'Code': 10010101001, 'Message': 'invalid token',
                                                     'Success': False}, False)
                    return serve(match)
            self._send_json(404, {'Code': 404, 'Message': 'not found', 'Success': False}, False)

        def _create_repo(self, match) -> None:
            body = json.loads(self._body)
            repo_id = f'{body["Path"]}/{body["Name"]}'
            if repo_id in hub.repos:
                return self._send_json(409, {'Code': 10010205010, 'Message': f'model {repo_id} already exists',
                                             'Success': False}, False)
            hub.repos[repo_id] = {}
            if int(body.get('Visibility', 5)) == 1:
                hub.private.add(repo_id)
            self._send_json(200, {'Code': 200, 'Data': {'Path': body['Path'], 'Name': body['Name']},
                                  'Success': True}, False)

        def _lfs_batch(self, match) -> None:
            if match.group('repo') not in hub.repos:
                return self._send_json(404, {'Code': 10010205001, 'Message': 'model not exists',
                                             'Success': False}, False)
            objects = []
            for obj in json.loads(self._body)['objects']:
                answer = {'oid': obj['oid'], 'size': obj['size']}
                if obj['oid'] not in hub.lfs_blobs:
                    answer['actions'] = {'upload': {'href': f'{hub.url}/api/v1/lfs-upload/{obj["oid"]}'}}
                objects.append(answer)
            self._send_json(200, {'Code': 200, 'Data': {'objects': objects}, 'Success': True}, False)

        def _lfs_put(self, match) -> None:
            oid = match.group('oid')
            if hashlib.sha256(self._body).hexdigest() != oid:
                return self._send_json(400, {'Code': 400, 'Message': f'content does not match sha256 {oid}',
                                             'Success': False}, False)
            hub.lfs_blobs[oid] = self._body
            self._send_json(200, {'Code': 200, 'Success': True}, False)

        def _commit(self, match) -> None:
            repo_id = match.group('repo')
            if repo_id not in hub.repos:
                return self._send_json(404, {'Code': 10010205001, 'Message': 'model not exists',
                                             'Success': False}, False)
            if hub.drop_commits > 0:  # the request was read; no answer comes back
                hub.drop_commits -= 1
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            body = json.loads(self._body)
            files = dict(hub.repos[repo_id])
            for action in body['actions']:
                if action['action'] == 'delete':
                    files.pop(action['path'], None)
                elif action['type'] == 'lfs':
                    if action['sha256'] not in hub.lfs_blobs:
                        return self._send_json(400, {'Code': 400, 'Message': f'{action["path"]}: blob not uploaded',
                                                     'Success': False}, False)
                    files[action['path']] = hub.lfs_blobs[action['sha256']]
                else:
                    files[action['path']] = base64.b64decode(action['content'])
            hub.repos[repo_id] = files
            with hub._lock:
                hub.commits.append({'repo': repo_id, 'message': body['commit_message'], 'paths': sorted(files)})
            self._send_json(200, {'Code': 200, 'Data': {'CommitId': hashlib.sha1(self._body).hexdigest()},
                                  'Success': True}, False)

        def _dispatch(self, head: bool) -> None:
            parts = urlsplit(self.path)
            path, query = unquote(parts.path), parse_qs(parts.query)
            hub.log(self.command, path, parts.query)
            for pattern, serve in ((_FILES_RE, self._serve_listing), (_TREE_RE, self._serve_tree),
                                   (_FILE_RE, self._serve_file), (_INFO_RE, self._serve_info)):
                match = pattern.match(path)
                if match:
                    kind = 'dataset' if match.group('type') == 'datasets' else 'model'
                    repo = (hub.dataset_repos if kind == 'dataset' else hub.repos).get(match.group('repo'))
                    if repo is not None and match.group('repo') in hub.private and not self._authorized():
                        return self._send_json(401, {'Code': 10010101001, 'Message': 'private repo',
                                                     'Success': False}, head)
                    if repo is None:
                        return self._send_json(404, {'Code': 10010205001, 'Message': f'{kind} not exists',
                                                     'Success': False}, head)
                    return serve(match.group('repo'), repo, query, head)
            self._send_json(404, {'Code': 404, 'Message': 'not found', 'Success': False}, head)

        def _serve_listing(self, repo_id: str, repo: Dict[str, bytes], query, head: bool) -> None:
            files = [_blob(p, data) for p, data in sorted(repo.items())]
            self._send_json(200, {'Code': 200, 'Data': {'Files': files}, 'Success': True}, head)

        def _serve_tree(self, repo_id: str, repo: Dict[str, bytes], query, head: bool) -> None:
            root = (query.get('Root') or [''])[0].strip('/')
            prefix = root + '/' if root else ''
            directories = {'/'.join(p.split('/')[:i]) for p in repo for i in range(1, p.count('/') + 1)}
            if root and root not in directories:
                return self._send_json(404, {'Code': 404, 'Message': f'path {root} not found', 'Success': False},
                                       head)
            entries = [_blob(p, data) for p, data in repo.items() if p.startswith(prefix)]
            entries += [{'Path': d, 'Name': d.rsplit('/', 1)[-1], 'Type': 'tree', 'Size': 0, 'Revision': 'master'}
                        for d in directories if d.startswith(prefix)]
            if (query.get('Recursive') or ['False'])[0].lower() != 'true':
                entries = [e for e in entries if '/' not in e['Path'][len(prefix):]]
            entries.sort(key=lambda e: e['Path'])
            page, size = int((query.get('PageNumber') or ['1'])[0]), int((query.get('PageSize') or ['100'])[0])
            files = entries[(page - 1) * size:page * size]
            self._send_json(200, {'Code': 200, 'Data': {'Files': files}, 'Success': True}, head)

        def _serve_info(self, repo_id: str, repo: Dict[str, bytes], query, head: bool) -> None:
            owner, name = repo_id.split('/')
            self._send_json(200, {'Code': 200, 'Data': {'Id': repo_id, 'Namespace': owner, 'Name': name,
                                                        'Private': False}, 'Success': True}, head)

        def _serve_file(self, repo_id: str, repo: Dict[str, bytes], query, head: bool) -> None:
            name = (query.get('FilePath') or [''])[0]
            if name not in repo:
                return self._send_json(404, {'Code': 404, 'Message': 'file not found', 'Success': False}, head)
            data = repo[name]
            if f'{repo_id}/{name}' in hub.corrupted:
                data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
            start, end, status = 0, len(data), 200
            match = _RANGE_RE.match(self.headers.get('Range') or '')
            if match:
                start = int(match.group(1))
                end = min(int(match.group(2)) + 1 if match.group(2) else len(data), len(data))
                status = 206
            body = data[start:end]
            self.send_response(status)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Accept-Ranges', 'bytes')
            if status == 206:
                self.send_header('Content-Range', f'bytes {start}-{end - 1}/{len(data)}')
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _send_json(self, status: int, payload, head: bool) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler


def _blob(path: str, data: bytes) -> dict:
    return {'Path': path, 'Name': path.rsplit('/', 1)[-1], 'Type': 'blob', 'Size': len(data),
            'Sha256': hashlib.sha256(data).hexdigest(), 'Revision': 'master'}
