"""A small Hugging Face Hub look-alike on 127.0.0.1, for testing the real ``huggingface_hub`` client offline.

It implements just the routes the client uses to create a repo, commit files (regular
uploads only: preupload always answers ``uploadMode: "regular"``, so no LFS or Xet),
read repo info and file trees, download files by revision, and set Space variables.
Repos live in memory; every commit keeps a full snapshot, so old revisions stay
downloadable. Not implemented: LFS/Xet, pull requests, tags, pagination, real auth
(any bearer token is accepted; private repos refuse requests without one).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

REPO = r"(?P<repo>[^/]+/[^/]+)"
TYPES = {"models": "model", "spaces": "space", "datasets": "dataset"}


@dataclass
class Repo:
    kind: str
    private: bool = False
    gated: bool = False
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # oid -> files
    branches: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    sdk: str | None = None
    hardware: str | None = None

    def resolve(self, rev: str) -> str | None:
        rev = unquote(rev)
        return self.branches.get(rev) or (rev if rev in self.commits else None)


class HubState:
    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.Lock()
        self.requests: list[str] = []

    def commit(self, repo: Repo, files: dict[str, bytes], branch: str = "main") -> str:
        oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
        repo.commits[oid] = files
        repo.branches[branch] = oid
        return oid


def _sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(BaseHTTPRequestHandler):
    state: HubState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    # -- helpers -----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes | dict | list = b"", headers: dict | None = None, head=False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, head=False):
        self._send(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message}, head=head)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _repo(self, kind: str, repo_id: str, head=False) -> Repo | None:
        repo = self.state.repos.get((kind, repo_id))
        if repo is None or (repo.private and not self.headers.get("Authorization")):
            self._error(401 if repo else 404, "RepoNotFound", "Repository not found", head=head)
            return None
        if repo.gated and not self.headers.get("Authorization"):
            self._error(403, "GatedRepo", "Access to this repo is restricted", head=head)
            return None
        return repo

    def _repo_rev(self, kind: str, repo_id: str, rev: str, head=False) -> tuple[Repo, str] | None:
        """The repo and the commit ``rev`` names, or None after answering with the Hub's error."""
        repo = self._repo(kind, repo_id, head=head)
        if repo is None:
            return None
        oid = repo.resolve(rev)
        if oid is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}", head=head)
            return None
        return repo, oid

    # -- routes ------------------------------------------------------------------------------
    def do_HEAD(self):
        self._route("HEAD")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method: str):
        path = urlparse(self.path).path
        self.state.requests.append(f"{method} {path}")
        with self.state.lock:
            for pattern, meth, handler in ROUTES:
                m = re.fullmatch(pattern, path)
                if m and meth == method:
                    return handler(self, **m.groupdict())
            if method in ("GET", "HEAD"):
                m = re.fullmatch(rf"/(?:(?P<t>spaces|datasets)/)?{REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", path)
                if m:
                    return self.resolve(m["t"] or "models", m["repo"], m["rev"], m["file"], head=method == "HEAD")
            self._error(404, "NotFound", f"no route for {method} {path}")

    def create_repo(self):
        payload = json.loads(self._body())
        kind = payload.get("type") or "model"
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        prefix = "" if kind == "model" else f"{kind}s/"
        url = f"http://{self.headers['Host']}/{prefix}{repo_id}"
        if (kind, repo_id) in self.state.repos:
            return self._send(409, {"error": "You already created this repo", "url": url})
        repo = Repo(
            kind=kind,
            private=payload.get("visibility") == "private" or bool(payload.get("private")),
            sdk=payload.get("sdk"),
        )
        self.state.commit(repo, {".gitattributes": b"*.h5 filter=lfs diff=lfs merge=lfs -text\n"})
        self.state.repos[(kind, repo_id)] = repo
        self._send(200, {"url": url, "name": repo_id})

    def validate_yaml(self):
        self._body()
        self._send(200, {"errors": [], "warnings": []})

    def preupload(self, t, repo, rev):
        payload = json.loads(self._body())
        if self._repo(TYPES[t], repo) is None:
            return
        files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in payload["files"]]
        self._send(200, {"files": files, "commitOid": None})

    def commit(self, t, repo, rev):
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        found = self._repo_rev(TYPES[t], repo, rev)
        if found is None:
            return
        r, parent = found
        files = dict(r.commits[parent])
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                files = {p: c for p, c in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
            elif key != "header":
                return self._error(400, "BadRequest", f"{key} is not implemented by this test server")
        oid = self.state.commit(r, files, branch=unquote(rev))
        prefix = "" if t == "models" else f"{t}/"
        self._send(
            200,
            {
                "commitUrl": f"http://{self.headers['Host']}/{prefix}{repo}/commit/{oid}",
                "commitOid": oid,
                "success": True,
            },
        )

    def info(self, t, repo, rev="main"):
        found = self._repo_rev(TYPES[t], repo, rev)
        if found is None:
            return
        r, oid = found
        siblings = [{"rfilename": p} for p in sorted(r.commits[oid])]
        self._send(
            200,
            {
                "id": repo,
                "modelId": repo,
                "sha": oid,
                "private": r.private,
                "gated": r.gated,
                "siblings": siblings,
                "sdk": r.sdk,
                "tags": [],
                "downloads": 0,
                "likes": 0,
            },
        )

    def tree(self, t, repo, rev, sub=""):
        found = self._repo_rev(TYPES[t], repo, rev)
        if found is None:
            return
        files = found[0].commits[found[1]]
        prefix = (sub or "").strip("/")
        entries = [
            {"type": "file", "oid": _sha1(c), "size": len(c), "path": p}
            for p, c in sorted(files.items())
            if not prefix or p.startswith(prefix + "/")
        ]
        self._send(200, entries)

    def resolve(self, t, repo, rev, file, head=False):
        found = self._repo_rev(TYPES[t], repo, rev, head=head)
        if found is None:
            return
        r, oid = found
        content = r.commits[oid].get(unquote(file))
        if content is None:
            return self._error(404, "EntryNotFound", f"{file} does not exist", head=head)
        headers = {"X-Repo-Commit": oid, "ETag": f'"{_sha1(content)}"', "Content-Type": "application/octet-stream"}
        self._send(200, content, headers, head=head)

    def hardware(self, repo):
        r = self._repo("space", repo)
        if r is None:
            return
        r.hardware = json.loads(self._body())["flavor"]
        self._send(200, {"stage": "BUILDING", "hardware": {"current": None, "requested": r.hardware}})

    def variables(self, repo):
        payload = json.loads(self._body())
        r = self._repo("space", repo)
        if r is None:
            return
        if self.command == "POST":
            r.variables[payload["key"]] = payload["value"]
        else:
            r.variables.pop(payload["key"], None)
        self._send(200, {k: {"value": v} for k, v in r.variables.items()})


ROUTES = [
    (r"/api/repos/create", "POST", Handler.create_repo),
    (r"/api/validate-yaml", "POST", Handler.validate_yaml),
    (rf"/api/(?P<t>models|spaces|datasets)/{REPO}/preupload/(?P<rev>.+)", "POST", Handler.preupload),
    (rf"/api/(?P<t>models|spaces|datasets)/{REPO}/commit/(?P<rev>.+)", "POST", Handler.commit),
    (rf"/api/(?P<t>models|spaces|datasets)/{REPO}", "GET", Handler.info),
    (rf"/api/(?P<t>models|spaces|datasets)/{REPO}/revision/(?P<rev>.+)", "GET", Handler.info),
    (rf"/api/(?P<t>models|spaces|datasets)/{REPO}/tree/(?P<rev>[^/]+)(?P<sub>/.*)?", "GET", Handler.tree),
    (rf"/api/spaces/{REPO}/variables", "POST", Handler.variables),
    (rf"/api/spaces/{REPO}/variables", "DELETE", Handler.variables),
    (rf"/api/spaces/{REPO}/hardware", "POST", Handler.hardware),
]


class HubServer:
    """Start with ``HubServer(port).start()``; ``.state`` exposes the repos for assertions."""

    def __init__(self, port: int = 0):
        self.state = HubState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> HubServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def files(self, kind: str, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.state.repos[(kind, repo_id)]
        return repo.commits[repo.resolve(rev)]
