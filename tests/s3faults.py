"""S3 fault injection for tests: canned error responses sent before moto sees the request."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse

from papers_digest.store import S3Store
from tests.conftest import BUCKET


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def count_requests(client: Any) -> Counter[str]:
    """Count every HTTP request `client` sends (HEAD and retries included), by method."""
    calls: Counter[str] = Counter()
    client.meta.events.register(
        "before-send.s3", lambda request, **_: calls.update([request.method])
    )
    return calls


def counted_store() -> tuple[S3Store, Counter[str]]:
    """An S3Store on the test bucket, and the count of its requests (`count_requests`)."""
    client = S3Store.default_client()
    return S3Store(BUCKET, client), count_requests(client)


def inject(
    client: Any, operation: str, failures: list[tuple[int, str]], key_part: str = ""
) -> list[str]:
    """Answer the next `len(failures)` `operation` requests (whose URL holds `key_part`)
    with the given (status, S3 error code) instead of sending them. Returns the log of
    requests answered so."""
    answered: list[str] = []
    lock = threading.Lock()

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        with lock:
            if key_part not in request.url or not failures:
                return None
            status, code = failures.pop(0)
            answered.append(code)
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Body(body))

    client.meta.events.register_first(f"before-send.s3.{operation}", answer)
    return answered


class AtomicRequestStore(S3Store):
    """S3 makes each request atomic; moto's in-process backend does not (two PUTs to one
    key at once can close the buffer the other is hashing). One lock per request restores
    S3's model while writers still interleave freely between their requests."""

    lock = threading.Lock()

    def __init__(self, client: Any = None) -> None:
        super().__init__(BUCKET, client or S3Store.default_client())

    def get(self, key: str) -> Any:
        with self.lock:
            return super().get(key)

    def head_etag(self, key: str) -> str | None:
        with self.lock:
            return super().head_etag(key)

    def put(self, key: str, body: bytes, content_type: str, **options: Any) -> str:
        with self.lock:
            return super().put(key, body, content_type, **options)
