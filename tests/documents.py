"""A stored JSON document with one field changed, for the tests that a reader refuses it
naming the field."""

from __future__ import annotations

import json
from typing import Any

DELETE = object()  # as a value: the field is removed


def mutated(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of `document` with the field at `path` set to `value` (or removed); the
    empty path replaces the whole document."""
    copied = json.loads(json.dumps(document))
    if not path:
        return value
    *parents, last = path
    holder = copied
    for step in parents:
        holder = holder[step]
    if value is DELETE:
        del holder[last]
    else:
        holder[last] = value
    return copied
