from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import yaml

from papers_digest.errors import ConfigError
from papers_digest.model import Digest, Paper, clean_text, parse_day_response, rank
from papers_digest.render import digest_json, render_post, same_digest, yaml_scalar
from papers_digest.settings import PostSettings, post_settings
from tests import hostile
from tests.conftest import FIXTURES, REAL_DAY, SEED_DAY, api_items

GENERATED = datetime(2026, 1, 29, 0, 15, tzinfo=UTC)


def recorded_digest(day: date, settings: PostSettings, top_n: int = 10) -> Digest:
    """The recorded day's top `top_n`, as a digest."""
    parsed = parse_day_response(api_items(day), day)
    return Digest(
        day,
        rank(parsed.papers, top_n),
        len(parsed.papers),
        settings.publish_datetime(day),
        GENERATED,
    )


def split_post(text: str) -> tuple[dict[str, object], str]:
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def test_seed_day_reproduces_the_seed_body_byte_for_byte() -> None:
    """Only the organization lines differ: clean, and absent when unknown."""
    seed = (FIXTURES / "seed-2026-01-28.md").read_text(encoding="utf-8")
    expected = (
        seed.replace("   - 기관: ·33 authors1\n", "")
        .replace("기관: ByteDance Seed1\n", "기관: ByteDance Seed\n")
        .replace("기관: Sea AI Lab1\n", "기관: Sea AI Lab\n")
    )
    settings = PostSettings(author="lim4349")
    post = render_post(recorded_digest(SEED_DAY, settings), settings)
    assert split_post(post)[1] == split_post(expected)[1]
    front, _ = split_post(post)
    assert front == {
        "title": "Hugging Face Daily Papers - 2026-01-28",
        "description": "AVMeme Exam: A Multimodal Multilingual Multicultural Benchmark for "
        "LLMs' Contextual and Cultural Knowledge and Thinking",
        "date": "2026-01-28 09:15:00 +0900",
        "categories": ["Daily Papers", "일간"],
        "tags": ["huggingface", "papers", "daily", "ai"],
        "author": "lim4349",
        "slug": "hf-daily-papers-2026-01-28",
        "render_with_liquid": False,
    }
    assert "date: 2026-01-28 09:15:00 +0900\n" in post


def test_english_template_and_configured_front_matter() -> None:
    settings = PostSettings(
        lang="en",
        publish_time=time(7, 0),
        timezone="Europe/Paris",
        categories=("Papers",),
        tags=("ml",),
        author=None,
    )
    post = render_post(recorded_digest(REAL_DAY, settings, top_n=3), settings)
    front, body = split_post(post)
    assert front["categories"] == ["Papers"]
    assert front["tags"] == ["ml"]
    assert "author" not in front
    assert "date: 2026-07-31 07:00:00 +0200\n" in post
    assert "**3 papers** collected." in body
    assert "## 📊 Ranked by upvotes" in body
    assert body.count("   - [HF page](https://huggingface.co/papers/") == 3
    assert "   - Organization: " in body


def test_count_line_counts_the_papers_listed() -> None:
    settings = PostSettings(top_n=10)
    post = render_post(recorded_digest(REAL_DAY, settings), settings)
    assert "총 **10개**의 논문이 수집되었습니다." in post
    assert post.count("   - [HF 페이지]") == 10


@pytest.mark.parametrize("raw", hostile.TEXT.values(), ids=hostile.TEXT.keys())
def test_front_matter_stays_yaml_and_paper_text_stays_inert(raw: str) -> None:
    title = clean_text(raw)  # as the model keeps it
    paper = Paper(
        arxiv_id="2601.00001",
        title=title,
        abstract=f"Abstract {title}",
        upvotes=1,
        organization=title,
    )
    settings = PostSettings(author=title, categories=(title,), tags=(title, "ai"))
    digest = Digest(SEED_DAY, (paper,), 1, settings.publish_datetime(SEED_DAY), GENERATED)
    post = render_post(digest, settings)
    front, body = split_post(post)
    shown = title.replace("<", "\uff1c").replace(">", "\uff1e")
    assert front["description"] == shown  # plain text, no tag: `<`, `>` as look-alikes
    assert front["author"] == title
    assert front["categories"] == [title]
    assert front["render_with_liquid"] is False
    assert "<script" not in body
    assert "<img" not in body


@pytest.mark.parametrize(
    ("pattern", "day", "permalink"),
    [
        ("/posts/daily-papers-{date}/", REAL_DAY, "/posts/daily-papers-2026-07-31/"),
        ("/{year}/{month}/{day}/papers.html", SEED_DAY, "/2026/01/28/papers.html"),
        ("  ", SEED_DAY, None),  # blank: no permalink, the blog's own with our slug
    ],
)
def test_post_permalink_pattern_gives_each_day_its_url(
    pattern: str, day: date, permalink: str | None
) -> None:
    settings = post_settings({"POST_PERMALINK": pattern})
    front, _ = split_post(render_post(recorded_digest(day, settings), settings))
    assert front.get("permalink") == permalink
    assert front["slug"] == f"hf-daily-papers-{day.isoformat()}"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("posts/{date}/", "must be a path starting with /"),
        ("/posts/{date} x/", "must be a path starting with /"),
        ('/posts/"{date}"/', "must be a path starting with /"),
        ("/posts/{slug}-{date}/", "must be a path starting with /"),
        ("/posts/:title-{date}/", "must be a path starting with /"),
        ("/posts/{year}-{month}/", "gives every post the same URL"),
    ],
)
def test_a_bad_post_permalink_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        post_settings({"POST_PERMALINK": pattern})
    assert str(caught.value).count("\n") == 0


@pytest.mark.parametrize("value", [*hostile.TEXT.values(), "", "\ufeffbom", ["a", "b: c"]])
def test_yaml_scalar_round_trips(value: str | list[str]) -> None:
    assert yaml.safe_load(f"key: {yaml_scalar(value)}") == {"key": value}


def test_templates_can_be_overridden_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "ko").mkdir()
    (tmp_path / "ko" / "post.md.j2").write_text(
        "{% for paper in papers %}{{ paper.arxiv_id }} {{ paper.upvotes }}\n{% endfor %}",
        encoding="utf-8",
    )
    settings = PostSettings(template_dir=str(tmp_path))
    post = render_post(recorded_digest(SEED_DAY, settings), settings)
    assert post == "2601.17645 5\n2601.19834 4\n2601.19362 1\n"


def test_same_digest_ignores_only_the_generation_time() -> None:
    settings = PostSettings()
    digest = recorded_digest(SEED_DAY, settings)
    stored = digest_json(digest).encode()
    later = Digest(
        digest.day,
        digest.papers,
        digest.papers_that_day,
        digest.published_at,
        datetime(2026, 1, 30, tzinfo=UTC),
    )
    assert same_digest(stored, later.to_json())
    bumped = (Paper(**{**digest.papers[0].__dict__, "upvotes": 99}), *digest.papers[1:])
    changed = Digest(digest.day, bumped, 3, digest.published_at, GENERATED)
    assert not same_digest(stored, changed.to_json())
    assert not same_digest(b"{not json", digest.to_json())
    assert not same_digest(b"[]", digest.to_json())
