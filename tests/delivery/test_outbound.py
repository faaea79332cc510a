"""The delivery adapters' HTTP against hostile servers on 127.0.0.1: each request ends by
its deadline, answers are capped, redirects are not followed. (GitHub's answers in the
wrong shape: test_github_publish.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from papers_digest.outbound import OutboundError, retry_after, send


class Hostile(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        # Read the request first: closing a socket with unread data resets it, and the
        # client would see a dropped connection instead of the answer under test.
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/trickle":  # a byte every 0.2 s, for ever (as far as we wait)
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        elif self.path == "/huge":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 200_000)
        else:
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def post(url: str, budget: float = 1.0, cap: int = 100_000) -> Any:
    return send("POST", url, headers={}, json_body={}, deadline=time.monotonic() + budget, cap=cap)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/trickle", "no answer before the deadline"),
        ("/huge", "the answer passed 100,000 bytes"),
    ],
)
def test_hostile_answers_end_in_one_line(hostile: str, path: str, message: str) -> None:
    with pytest.raises(OutboundError) as raised:
        post(hostile + path)
    assert str(raised.value) == message


def test_a_redirect_is_an_answer_not_followed(hostile: str) -> None:
    reply = post(hostile + "/elsewhere")
    assert reply.status == 302
    assert reply.body == b""


def test_nothing_listening_and_other_schemes_are_refused(hostile: str) -> None:
    with pytest.raises(OutboundError, match=r"^cannot connect or read \(URLError\)$"):
        post("http://127.0.0.1:9/")
    with pytest.raises(OutboundError, match=r"^only http"):
        post("file:///etc/passwd")


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, 40.0),
        ({"X-RateLimit-Reset": "130"}, 70.0),
        ({"Retry-After": "soon"}, 2.0),
        ({}, 2.0),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float) -> None:
    assert retry_after(headers, 2.0, now=60.0) == seconds
