"""The one read-decide-write loop for objects that several runs may write at once."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import PreconditionFailed
from .store import Store, StoredObject

T = TypeVar("T")
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Decision(Generic[T]):
    """What to do with an object: `body` to write, or None to leave it as stored;
    `value` is whatever the caller wants back (a parsed index, a status)."""

    value: T
    body: bytes | None


@dataclass(frozen=True)
class Read:
    """What a caller already read of the object (None: absent), to decide from at first
    instead of reading it again."""

    stored: StoredObject | None


@dataclass(frozen=True)
class Update(Generic[T]):
    value: T
    written: bool
    etag: str | None  # of the object stored now: ours when written
    attempts: int


def update_object(
    store: Store,
    key: str,
    content_type: str,
    decide: Callable[[StoredObject | None], Decision[T]],
    *,
    cache_control: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = MAX_ATTEMPTS,
    read: Read | None = None,
) -> Update[T]:
    """Read `key`, let `decide` choose from what is stored, and write conditionally on
    what was read (`If-None-Match: *` when absent, `If-Match` its ETag otherwise). When
    another writer got there first, wait a jittered moment and decide again from what
    it wrote: no write is ever based on an object that was not read."""
    for attempt in range(1, max_attempts + 1):
        stored = read.stored if read is not None and attempt == 1 else store.get(key)
        decision = decide(stored)
        if decision.body is None:
            etag = stored.etag if stored is not None else None
            return Update(decision.value, False, etag, attempt)
        try:
            etag = store.put(
                key,
                decision.body,
                content_type,
                cache_control=cache_control,
                if_none_match=stored is None,
                if_match=stored.etag if stored is not None else None,
            )
        except PreconditionFailed:
            sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 - jitter, not crypto
            continue
        return Update(decision.value, True, etag, attempt)
    raise PreconditionFailed(
        f"{store.describe(key)} kept changing under {max_attempts} attempts to write it; "
        "another run is busy with it, try again"
    )
