"""A stand-in for GitHub's git data API on 127.0.0.1: real objects (blobs, trees,
commits) kept in memory, a branch ref that moves only as a fast forward, the token
checked, and faults injected by the tests (a canned answer, a push between two calls)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPO = "octo/blog"
TOKEN = "ghp_stubtoken1234567890abcdefSECRET"
_PATH = re.compile(rf"^/repos/{REPO}/git/(?P<kind>[a-z]+)(?:/(?P<rest>.+))?$")


def _sha(kind: str, data: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).hexdigest()  # noqa: S324


@dataclass
class Canned:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class GitHubStub:
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # name: (type, sha)
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    canned: dict[tuple[str, str], list[Canned]] = field(default_factory=dict)
    before: dict[tuple[str, str], Callable[[], None]] = field(default_factory=dict)
    url: str = ""

    # ------------------------------------------------------------ the repository
    def put_tree(self, entries: dict[str, tuple[str, str]]) -> str:
        sha = _sha("tree", json.dumps(sorted(entries.items())).encode())
        self.trees[sha] = dict(entries)
        return sha

    def put_commit(self, tree: str, parents: list[str], message: str) -> str:
        data = {"tree": tree, "parents": parents, "message": message}
        sha = _sha("commit", json.dumps(data).encode())
        self.commits[sha] = data
        return sha

    def with_files(self, tree: str, files: dict[str, bytes]) -> str:
        """A tree like `tree` with each `path: content` written (folders made as needed)."""
        entries = dict(self.trees[tree])
        for path, content in files.items():
            head, _, rest = path.partition("/")
            if rest:
                sub = entries.get(head, ("tree", self.put_tree({})))[1]
                entries[head] = ("tree", self.with_files(sub, {rest: content}))
            else:
                blob = _sha("blob", content)
                self.blobs[blob] = content
                entries[head] = ("blob", blob)
        return self.put_tree(entries)

    def push(self, files: dict[str, bytes], branch: str = "main") -> str:
        """Someone else's commit on the branch."""
        head = self.refs[f"heads/{branch}"]
        tree = self.with_files(self.commits[head]["tree"], files)
        self.refs[f"heads/{branch}"] = self.put_commit(tree, [head], "someone else")
        return self.refs[f"heads/{branch}"]

    def file(self, path: str, branch: str = "main") -> bytes | None:
        tree = self.commits[self.refs[f"heads/{branch}"]]["tree"]
        *folders, name = path.split("/")
        for folder in folders:
            if folder not in self.trees[tree]:
                return None
            tree = self.trees[tree][folder][1]
        entry = self.trees[tree].get(name)
        return self.blobs[entry[1]] if entry else None

    def history(self, branch: str = "main") -> list[str]:
        """Commit messages from the head back."""
        messages, sha = [], self.refs.get(f"heads/{branch}")
        while sha:
            messages.append(self.commits[sha]["message"])
            sha = (self.commits[sha]["parents"] or [None])[0]
        return messages

    def is_ancestor(self, old: str, new: str) -> bool:
        seen = [new]
        while seen:
            sha = seen.pop()
            if sha == old:
                return True
            seen.extend(self.commits[sha]["parents"])
        return False

    # ------------------------------------------------------------ the API
    def answer(
        self, method: str, path: str, auth: str, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        match = _PATH.match(path.split("?")[0])
        kind, rest = (match["kind"], match["rest"] or "") if match else ("", "")
        self.requests.append((method, kind))
        if (hook := self.before.pop((method, kind), None)) is not None:
            hook()
        if queue := self.canned.get((method, kind)):
            canned = queue.pop(0)
            return canned.status, canned.body, canned.headers
        if auth != f"Bearer {TOKEN}":
            return 401, {"message": "Bad credentials"}, {}
        if match is None:
            return 404, {"message": "Not Found"}, {}
        if method == "GET" and kind == "ref" and rest in self.refs:
            return 200, {"ref": f"refs/{rest}", "object": {"sha": self.refs[rest]}}, {}
        if method == "GET" and kind == "commits" and rest in self.commits:
            return 200, {"sha": rest, "tree": {"sha": self.commits[rest]["tree"]}}, {}
        if method == "GET" and kind == "trees" and rest in self.trees:
            entries = [
                {"path": name, "type": type_, "sha": sha, "mode": "100644"}
                for name, (type_, sha) in sorted(self.trees[rest].items())
            ]
            return 200, {"sha": rest, "tree": entries, "truncated": False}, {}
        if method == "POST" and kind == "blobs":
            content = base64.b64decode(body["content"])
            self.blobs[_sha("blob", content)] = content
            return 201, {"sha": _sha("blob", content)}, {}
        if method == "POST" and kind == "trees":
            tree = body["base_tree"]
            for entry in body["tree"]:
                tree = self._with_blob(tree, entry["path"], entry["sha"])
            return 201, {"sha": tree}, {}
        if method == "POST" and kind == "commits":
            return 201, {"sha": self.put_commit(body["tree"], body["parents"], body["message"])}, {}
        if method == "PATCH" and kind == "refs" and rest in self.refs:
            if body.get("force") or not self.is_ancestor(self.refs[rest], body["sha"]):
                return 422, {"message": "Update is not a fast forward"}, {}
            self.refs[rest] = body["sha"]
            return 200, {"object": {"sha": body["sha"]}}, {}
        return 404, {"message": "Not Found"}, {}

    def _with_blob(self, tree: str, path: str, blob: str) -> str:
        entries = dict(self.trees[tree])
        head, _, rest = path.partition("/")
        if rest:
            sub = entries.get(head, ("tree", self.put_tree({})))[1]
            entries[head] = ("tree", self._with_blob(sub, rest, blob))
        else:
            entries[head] = ("blob", blob)
        return self.put_tree(entries)


def _handler(stub: GitHubStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            auth = self.headers.get("Authorization", "")
            status, answer, headers = stub.answer(self.command, self.path, auth, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def github_stub(files: dict[str, bytes] | None = None) -> Iterator[GitHubStub]:
    """A running stub whose `main` holds one commit with `files` (a README by default)."""
    stub = GitHubStub()
    tree = stub.with_files(stub.put_tree({}), files or {"README.md": b"# blog\n"})
    stub.refs["heads/main"] = stub.put_commit(tree, [], "initial")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
