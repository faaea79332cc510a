"""What every Store adapter promises, checked against both: a folder and S3 (moto over HTTP)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from papers_digest.errors import PreconditionFailed, StoreError
from papers_digest.store import JSON_TYPE, FolderStore, S3Store, Store, _md5_etag
from tests.conftest import BUCKET

BODY = '{"day": "2026-07-31", "title": "Über <b>"}\n'.encode()


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "folder":
        return FolderStore(tmp_path / "site")
    request.getfixturevalue("s3_server")
    return S3Store(BUCKET)


@pytest.fixture
def umask() -> Iterator[None]:
    """Restores the process umask a test sets."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_a_missing_key_is_none(store: Store) -> None:
    assert store.get("digests/2026-07-31.json") is None
    assert store.head_etag("digests/2026-07-31.json") is None


def test_what_is_put_comes_back_with_its_etag(store: Store) -> None:
    etag = store.put("digests/2026-07-31.json", BODY, JSON_TYPE)
    found = store.get("digests/2026-07-31.json")
    assert found is not None
    assert (found.body, found.etag) == (BODY, etag)
    assert etag == _md5_etag(BODY)
    assert store.head_etag("digests/2026-07-31.json") == etag


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        ({"if_none_match": True}, False),
        ({"if_match": _md5_etag(b"an older body")}, False),
        ({"if_match": _md5_etag(b"first")}, True),
        ({}, True),
    ],
)
def test_conditional_writes_refuse_a_changed_object(
    store: Store, condition: dict[str, object], allowed: bool
) -> None:
    store.put("state/feed-index.json", b"first", JSON_TYPE)
    if allowed:
        store.put("state/feed-index.json", b"second", JSON_TYPE, **condition)  # type: ignore[arg-type]
    else:
        with pytest.raises(PreconditionFailed, match="changed since it was read"):
            store.put("state/feed-index.json", b"second", JSON_TYPE, **condition)  # type: ignore[arg-type]
    found = store.get("state/feed-index.json")
    assert found is not None
    assert found.body == (b"second" if allowed else b"first")


def test_if_none_match_writes_an_absent_key(store: Store) -> None:
    store.put("digests/2026-07-31.json", BODY, JSON_TYPE, if_none_match=True)
    assert store.head_etag("digests/2026-07-31.json") == _md5_etag(BODY)


DIGESTS = ["digests/2026-07-30.json", "digests/2026-07-31.json", "digests/2026-08-01.json"]
KEYS = ["feed.xml", DIGESTS[2], "digests-old.json", "_posts/2026-07-31-post.md", *DIGESTS[:2]]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", sorted(KEYS)),
        ("digests", ["digests-old.json", *DIGESTS]),
        ("digests/", DIGESTS),
        ("digests/2026-07-3", DIGESTS[:2]),
        ("nothing/", []),
    ],
)  # fmt: skip
def test_list_keys_in_lexical_order_under_a_prefix(
    store: Store, prefix: str, expected: list[str]
) -> None:
    for key in KEYS:
        store.put(key, b"x", JSON_TYPE, if_none_match=key.startswith("digests/"))
    assert list(store.list_keys(prefix)) == expected


@pytest.mark.parametrize(
    "key", ["../outside.json", "digests/../../outside.json", "/tmp/outside", "..\\outside.json"]
)
def test_the_folder_refuses_a_key_outside_it(tmp_path: Path, key: str) -> None:
    store = FolderStore(tmp_path / "site")
    with pytest.raises(StoreError, match="escapes the output folder"):
        store.put(key, BODY, JSON_TYPE)
    assert not (tmp_path / "outside.json").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == []


def test_the_folder_follows_a_link_inside_it(tmp_path: Path) -> None:
    """`_posts` as a link into a blog's repository: the posts land in the blog."""
    blog_posts = tmp_path / "blog" / "_posts"
    blog_posts.mkdir(parents=True)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "_posts").symlink_to(blog_posts)
    FolderStore(tmp_path / "site").put("_posts/2026-07-31-hf-daily-papers.md", BODY, JSON_TYPE)
    assert (blog_posts / "2026-07-31-hf-daily-papers.md").read_bytes() == BODY


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_folder_files_get_the_mode_the_umask_gives(
    tmp_path: Path, umask: None, mask: int, mode: int
) -> None:
    os.umask(mask)
    store = FolderStore(tmp_path / "site")
    store.put("feed.xml", b"first", JSON_TYPE)
    store.put("feed.xml", b"second", JSON_TYPE, if_match=_md5_etag(b"first"))
    written = tmp_path / "site" / "feed.xml"
    assert stat.S_IMODE(written.stat().st_mode) == mode
    assert written.read_bytes() == b"second"
    assert sorted(p.name for p in written.parent.iterdir()) == [".papers-digest.lock", "feed.xml"]


def test_the_s3_client_bounds_every_wait() -> None:
    """botocore's 60 s defaults, five attempts, would let a hanging endpoint hold a run."""
    config = S3Store.default_client().meta.config
    assert (config.connect_timeout, config.read_timeout) == (3, 10)
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
