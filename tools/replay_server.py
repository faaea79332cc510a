"""A local stand-in for the Hugging Face API that replays recorded responses.

`GET /api/daily_papers?date=D&p=P&limit=L` pages through the recorded items for D
(`[]` for an unknown day, the latest day without `date`). Faults can be queued:
each is served once, in order, before the recorded data; a callable fault waits
in the queue until it returns a response for a request. A fault can also break
the body in transit: cut it after some bytes, trickle it, or leave out its
Content-Length. Each request is counted and timestamped (`times`, monotonic seconds at
arrival), and `delay` holds every answer for a fixed time (a backfill's bench). Run it
from a shell for local demos:

    python -m tools.replay_server --port 8765 tests/fixtures/hf-api
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURE_NAME = re.compile(r"daily_papers_(\d{4}-\d{2}-\d{2})")


@dataclass
class Canned:
    status: int = 200
    body: bytes = b"[]"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False
    drop_after: int | None = None  # send only this many bytes of the body, then hang up
    trickle: float = 0.0  # seconds between the body's bytes
    send_length: bool = True  # False: no Content-Length, the body ends when we hang up
    trickle_headers: float = 0.0  # seconds between the bytes of the status line and headers


def load_days(folder: str | Path) -> dict[str, list[Any]]:
    days = {}
    for path in sorted(Path(folder).glob("daily_papers_*.json")):
        match = FIXTURE_NAME.match(path.name)
        if match:
            days[match.group(1)] = json.loads(path.read_text(encoding="utf-8"))
    return days


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up on a slow or dropped answer is part of the test."""


class ReplayServer:
    def __init__(
        self, days: dict[str, list[Any]], port: int = 0, max_limit: int = 1000, delay: float = 0.0
    ) -> None:
        self.days = days
        self.delay = delay  # seconds every answer waits, faults aside
        self.max_limit = max_limit  # an API that caps `limit` silently
        self.faults: list[Canned | Callable[[dict[str, str]], Canned | None]] = []
        self.requests: list[dict[str, str]] = []
        self.times: list[float] = []  # time.monotonic() at each request's arrival
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = _QuietServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _answer(self, query: dict[str, str], path: str) -> Canned:
        with self._lock:
            self.times.append(time.monotonic())
            self.requests.append({"path": path, **query})
            for position, fault in enumerate(self.faults):
                canned = fault(query) if callable(fault) else fault
                if canned is not None:
                    del self.faults[position]
                    return canned
        if path != "/api/daily_papers":
            return Canned(404, b'{"error":"Not Found"}')
        day = query.get("date") or (max(self.days) if self.days else "")
        items = self.days.get(day, [])
        limit = min(int(query.get("limit", "50")), self.max_limit)
        page = int(query.get("p", "0"))
        body = json.dumps(items[page * limit : (page + 1) * limit]).encode()
        return Canned(200, body, delay=self.delay)

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        query["authorization"] = request.headers.get("Authorization", "")
        canned = self._answer(query, parts.path)
        if canned.delay:
            threading.Event().wait(canned.delay)
        if canned.close:
            request.close_connection = True
            request.wfile.flush()
            request.connection.close()
            return
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if canned.send_length:
            headers["Content-Length"] = str(len(canned.body))
        if canned.trickle_headers:
            head = f"HTTP/1.1 {canned.status} Status\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in {**headers, **canned.headers}.items()
            )
            for byte in (head + "\r\n").encode():
                request.wfile.write(bytes([byte]))
                request.wfile.flush()
                threading.Event().wait(canned.trickle_headers)
        else:
            request.send_response(canned.status)
            for name, value in {**headers, **canned.headers}.items():
                request.send_header(name, value)
            request.end_headers()
        body = canned.body[: canned.drop_after]
        if not canned.trickle:
            request.wfile.write(body)
        for byte in body if canned.trickle else b"":
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            threading.Event().wait(canned.trickle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder of daily_papers_YYYY-MM-DD*.json files")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with ReplayServer(load_days(args.folder), args.port) as server:
        print(f"replaying {sorted(server.days)} at {server.url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
