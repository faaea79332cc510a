"""A local stand-in for an OpenAI-compatible chat-completions endpoint, on 127.0.0.1.

`POST /v1/chat/completions` answers with a completion whose text names the paper's title
(taken from the prompt's first line), so each answer can be traced to its request.
Answers can be queued: each is served once, in order, to the next requests; `delay` holds
every answer that long (the bench's model latency). Every request body is recorded.

    python -m tools.chat_stub --port 8766 --delay 0.5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    text: str | None = None  # None: a summary naming the paper's title
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes | None = None  # sent as it is, instead of a completion
    usage: tuple[int, int] = (300, 80)  # the prompt's and the completion's tokens


def completion(text: str, prompt_tokens: int = 300, completion_tokens: int = 80) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    ).encode()


def title_of(request: dict[str, Any]) -> str:
    """The paper's title in a prompt the shipped templates wrote (its first line)."""
    user = request["messages"][-1]["content"]
    return str(user.splitlines()[0].split(": ", 1)[-1])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a slow answer is part of the test."""


class ChatStub:
    def __init__(self, port: int = 0, delay: float = 0.0) -> None:
        self.delay = delay
        self.answers: list[Answer] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ChatStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: dict[str, Any], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            return self.answers.pop(0) if self.answers else Answer()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length))
                answer = stub._next(request, dict(self.headers))
                time.sleep(stub.delay + answer.delay)
                if answer.body is not None:
                    body = answer.body
                elif answer.status == 200:
                    text = answer.text
                    shown = text if text is not None else f"About {title_of(request)}."
                    body = completion(shown, *answer.usage)
                else:
                    body = json.dumps({"error": {"message": "stub failure"}}).encode()
                self.send_response(answer.status)
                for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    with ChatStub(args.port, args.delay) as stub:
        print(f"serving {stub.url}/chat/completions; Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
