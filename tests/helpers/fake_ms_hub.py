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
Fault for tests: `corrupt(repo, path)` serves other bytes of the same length than the listed sha256.
Every request is logged in `requests` as (method, path, query).
"""
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Set, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

_FILES_RE = re.compile(r'^/api/v1/(?P<type>models)/(?P<repo>[^/]+/[^/]+)/repo/files$')
_TREE_RE = re.compile(r'^/api/v1/(?P<type>datasets)/(?P<repo>[^/]+/[^/]+)/repo/tree$')
_FILE_RE = re.compile(r'^/api/v1/(?P<type>models|datasets)/(?P<repo>[^/]+/[^/]+)/repo$')
_INFO_RE = re.compile(r'^/api/v1/(?P<type>datasets)/(?P<repo>[^/]+/[^/]+)$')
_RANGE_RE = re.compile(r'^bytes=(\d+)-(\d*)$')


class FakeMsHub:
    """A threaded HTTP server on 127.0.0.1 (a free port) that serves repositories like ModelScope does."""

    def __init__(self):
        self.repos: Dict[str, Dict[str, bytes]] = {}  # model repos: path → bytes
        self.dataset_repos: Dict[str, Dict[str, bytes]] = {}
        self.requests: List[Tuple[str, str, str]] = []
        self.corrupted: Set[str] = set()
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
