"""A stand-in for the Hugging Face Hub on 127.0.0.1, serving checkpoint folders.

`serve({"ORG/NAME": folder, ...})` is a context manager that starts a
loopback HTTP server in a thread and yields it; the server stops when the
block ends. It answers what huggingface_hub 2.4's `model_info`,
`list_repo_tree`, `snapshot_download` and `hf_hub_download` ask:

    GET  /api/models/ORG/NAME[/revision/REV] id, sha and siblings (with sizes)
    GET  /api/models/ORG/NAME/tree/REV       the files, as the tree listing
    HEAD /ORG/NAME/resolve/REV/FILE          X-Repo-Commit, ETag, Content-Length
    GET  /ORG/NAME/resolve/REV/FILE          the file

`server.endpoint` is its address and `server.requests` the (method, path)
of every request it got; the files named in `missing` are listed but not
served (a download that breaks off), and those in `slow` wait that many
seconds before their content (a slow network). `refused_endpoint()` is an address where
nothing listens (a network that refuses). `use_hub(monkeypatch, endpoint,
cache)` points huggingface_hub at `endpoint` and at the cache folder `cache`,
as HF_ENDPOINT and HF_HUB_CACHE do when it is imported.
"""

import contextlib
import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT = "feedfacefeedfacefeedfacefeedfacefeedface"


@contextlib.contextmanager
def serve(repos, missing=(), slow=None):
    """Serve `repos` ({repo id: checkpoint folder}) until the block ends."""
    files = {repo: {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if f.is_file()}
             for repo, folder in repos.items()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(files, missing, slow or {}))
    server.daemon_threads = True
    server.requests = []
    server.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refused_endpoint():
    """An http://127.0.0.1 address with no server behind it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _etag(content):
    return hashlib.sha1(content).hexdigest()


def use_hub(monkeypatch, endpoint, cache):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def _handler(files, missing, slow):
    class Hub(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_HEAD(self):
            self._answer(body=False)

        def do_GET(self):
            self._answer(body=True)

        def _answer(self, body):
            path = unquote(urlsplit(self.path).path)
            self.server.requests.append((self.command, path))
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "models"]:
                repo, kind = "/".join(parts[2:4]), (parts[4:] or ["revision"])[0]
                if repo in files and kind in ("revision", "tree"):
                    return self._json(self._listing(repo, kind), body)
            repo = "/".join(parts[:2])
            if repo in files and len(parts) >= 5 and parts[2] == "resolve":
                name = "/".join(parts[4:])
                if name in files[repo] and name not in missing:
                    return self._file(files[repo][name], body, slow.get(name, 0))
                return self._not_found("EntryNotFound")
            self._not_found("RepoNotFound")

        def _not_found(self, code):
            self.send_response(404)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _listing(self, repo, kind):
            if kind == "tree":
                return [{"type": "file", "path": name, "size": len(content), "oid": _etag(content)}
                        for name, content in files[repo].items()]
            siblings = [{"rfilename": name, "size": len(content), "blobId": _etag(content)}
                        for name, content in files[repo].items()]
            return {"id": repo, "modelId": repo, "sha": COMMIT, "siblings": siblings}

        def _json(self, value, body):
            content = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content)

        def _file(self, content, body, wait):
            self.send_response(200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{_etag(content)}"')
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                time.sleep(wait)
                self.wfile.write(content)

    return Hub
