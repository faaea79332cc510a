"""One storage interface, two adapters: a local folder and an S3 bucket, same keys."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from .errors import ConfigError, PreconditionFailed, StoreError

JSON_TYPE = "application/json; charset=utf-8"
MARKDOWN_TYPE = "text/markdown; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
CSS_TYPE = "text/css; charset=utf-8"
JS_TYPE = "text/javascript; charset=utf-8"
# What CloudFront and browsers may cache: posts, feeds and pages, five minutes.
PUBLIC_CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str


class Store(Protocol):
    def get(self, key: str) -> StoredObject | None:
        """The object at `key`, or None when there is none."""

    def head_etag(self, key: str) -> str | None:
        """The object's current ETag without reading it, or None."""

    def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        *,
        cache_control: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Write `body` and return its ETag. With `if_match` (an ETag) or `if_none_match`
        the write happens only if the object is unchanged or absent; otherwise
        PreconditionFailed."""

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """Every key under `prefix` (and after `start_after`), in lexical order."""

    def describe(self, key: str) -> str:
        """Where `key` lives, for messages: a path or an s3:// URL."""


class FolderStore:
    """Keys are paths under `root`. Writes are atomic (a temporary file renamed into place)
    and get the mode of any new file under the process umask; conditional writes hold a
    lock. Every OSError becomes a one-line StoreError naming the path."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        """The path of `key`, refusing a key that could leave the folder (absolute, `..`,
        a backslash). Symbolic links inside the folder are followed: `_posts` may well
        be a link into a blog's repository."""
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or "\\" in key or ".." in parts:
            raise StoreError(f"key {key!r} escapes the output folder {self.root}")
        return self.root.joinpath(*parts)

    def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _os_error(exc, "read", path, self.root) from exc
        return StoredObject(body, _md5_etag(body))

    def head_etag(self, key: str) -> str | None:
        found = self.get(key)
        return found.etag if found else None

    def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        *,
        cache_control: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock():
                if if_match is not None or if_none_match:
                    current = self.head_etag(key)
                    if (if_none_match and current is not None) or (
                        if_match is not None and current != if_match
                    ):
                        raise PreconditionFailed(f"{path} changed since it was read")
                _replace(path, body)
        except OSError as exc:
            raise _os_error(exc, "write", path, self.root) from exc
        return _md5_etag(body)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """An exclusive lock on a file in the folder: flock on POSIX, msvcrt on Windows,
        each imported here so that the command line loads on either."""
        with open(self.root / _LOCK_NAME, "a") as lock:
            if sys.platform == "win32":
                import msvcrt

                lock.seek(0)
                msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
                try:
                    yield
                finally:
                    lock.seek(0)
                    msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def check_writable(self) -> None:
        """Make the folder when missing and open its lock file for writing: a StoreError
        now, before any work, for a file where the folder belongs or a read-only one."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with self._lock():
                pass
        except OSError as exc:
            raise _os_error(exc, "write", self.root / _LOCK_NAME, self.root) from exc

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """Walks only the folder the prefix names (`digests/`, not a whole blog)."""
        base = self.root
        folder = base.joinpath(*PurePosixPath(prefix).parts[: prefix.count("/")])
        try:
            paths = [path for path in folder.rglob("*") if path.is_file()]
        except OSError as exc:
            raise _os_error(exc, "list", folder, self.root) from exc
        keys = (path.relative_to(base).as_posix() for path in paths if not _internal(path))
        yield from sorted(key for key in keys if key.startswith(prefix) and key > start_after)

    def describe(self, key: str) -> str:
        return str(self.root / key)


_LOCK_NAME = ".papers-digest.lock"
_TEMP_SUFFIX = ".papers-digest-tmp"


def _internal(path: Path) -> bool:
    """The folder store's own lock and temporary files, which are not keys."""
    return path.name == _LOCK_NAME or path.name.endswith(_TEMP_SUFFIX)


def _replace(path: Path, body: bytes) -> None:
    """Write `body` to a new file beside `path` and rename it into place. `os.open`
    with mode 0o666 lets the umask decide the mode, as for any new file (tempfile's
    0o600 would hide the feeds from a web server running as another user)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}{_TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    handle = os.open(temp, flags, 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _os_error(exc: OSError, action: str, path: Path, root: Path) -> StoreError:
    reason = exc.strerror or type(exc).__name__
    return StoreError(
        f"cannot {action} {path}: {reason}; check that {root} is a folder you can write"
    )


class S3Store:
    """An S3 bucket. botocore's standard retry mode absorbs throttling (503 SlowDown)."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        if not bucket:
            raise ConfigError("no bucket named: set DIGEST_BUCKET or pass --bucket")
        self.bucket = bucket
        self._client = client if client is not None else self.default_client()

    @staticmethod
    def default_client() -> Any:
        """An S3 client whose standard retry mode absorbs throttling and 5xx (5 attempts)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            config=Config(
                retries={"mode": "standard", "total_max_attempts": 5},
                connect_timeout=3,  # botocore's 60 s defaults would let a hanging endpoint
                read_timeout=10,  # hold a run for 5 minutes; our objects are small
            ),
        )

    def get(self, key: str) -> StoredObject | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            return None
        except Exception as exc:
            raise _store_error(exc, "read", self.describe(key)) from exc
        return StoredObject(response["Body"].read(), response["ETag"])

    def head_etag(self, key: str) -> str | None:
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise _store_error(exc, "inspect", self.describe(key)) from exc
        etag: str = response["ETag"]
        return etag

    def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        *,
        cache_control: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        extra: dict[str, str] = {}
        if cache_control:
            extra["CacheControl"] = cache_control
        if if_match is not None:
            extra["IfMatch"] = if_match
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        try:
            response = self._client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra
            )
        except Exception as exc:
            if _error_code(exc) in {"PreconditionFailed", "ConditionalRequestConflict", "412"}:
                raise PreconditionFailed(f"{self.describe(key)} changed since it was read") from exc
            raise _store_error(exc, "write", self.describe(key)) from exc
        etag: str = response["ETag"]
        return etag

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=prefix, StartAfter=start_after
            ):
                for entry in page.get("Contents", []):
                    yield entry["Key"]
        except Exception as exc:
            raise _store_error(exc, "list", self.describe(prefix)) from exc

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def _md5_etag(body: bytes) -> str:
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _store_error(exc: Exception, action: str, where: str) -> StoreError:
    code = _error_code(exc) or type(exc).__name__
    if code in {"AccessDenied", "403", "NoSuchBucket", "AllAccessDisabled"}:
        hint = "; check the bucket name, your credentials and the S3 permissions"
    elif code in {"SlowDown", "Throttling", "ServiceUnavailable", "InternalError", "503", "500"}:
        hint = "; S3 kept failing through 5 attempts, try again later (Lambda retries by itself)"
    else:
        hint = "; try again, and check the bucket if it persists"
    return StoreError(f"cannot {action} {where}: {code}{hint}")
