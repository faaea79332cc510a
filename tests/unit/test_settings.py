"""Settings: one merge of environment and flags, each default written once."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest

from papers_digest.errors import ConfigError
from papers_digest.settings import feed_settings, post_settings, source_settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, time(9, 15)),
        ({"PUBLISH_SCHEDULE": "cron(15 9 * * ? *)"}, time(9, 15)),
        ({"PUBLISH_SCHEDULE": "cron(30 7 ? * MON-FRI *)"}, time(7, 30)),
        ({"PUBLISH_SCHEDULE": "cron(5 23 * * ? *)", "PUBLISH_TIME": "08:00"}, time(8, 0)),
        ({"PUBLISH_SCHEDULE": "rate(1 day)"}, time(9, 15)),
        ({"PUBLISH_SCHEDULE": "cron(0/30 * * * ? *)"}, time(9, 15)),
    ],
)
def test_the_post_time_follows_a_daily_schedule(env: dict[str, str], expected: time) -> None:
    assert post_settings(env).publish_time == expected


@pytest.mark.parametrize(
    ("make", "env", "overrides", "message"),
    [
        (post_settings, {"TOP_N": "0"}, {}, "TOP_N='0' must be from 1 to 2,000"),
        (post_settings, {"MIN_UPVOTES": "1" + "0" * 400}, {}, "must be from 0 to 1,000,000,000"),
        (post_settings, {"PUBLISH_SCHEDULE": "cron(75 9 * * ? *)"}, {}, "has no such time"),
        (post_settings, {"POST_PERMALINK": "/posts/{date}/../../x"}, {}, "a `..` segment"),
        (post_settings, {"TOP_N": "3"}, {"TOP_N": "x"}, "--top='x' is not a whole number"),
        (post_settings, {"POST_LANG": "fr"}, {}, "POST_LANG='fr' is not one of ko, en"),
        (post_settings, {"PUBLISH_TIME": "9h"}, {}, "PUBLISH_TIME='9h' is not HH:MM"),
        (post_settings, {"PUBLISH_TIMEZONE": "Mars/Base"}, {}, "is not an IANA time zone"),
        (post_settings, {"POST_PERMALINK": "/posts/same/"}, {}, "gives every post the same URL"),
        (post_settings, {"POST_PERMALINK": "posts/{date}"}, {}, "must be a path starting with /"),
        (source_settings, {"HF_API_BASE": "huggingface.co"}, {}, "HF_API_BASE='huggingface.co'"),
        (source_settings, {}, {"HF_API_BASE": "http://x:port"}, "--api-base='http://x:port'"),
        (source_settings, {"HF_API_BASE": "https://h f.co"}, {}, "not an absolute http(s) URL"),
        (feed_settings, {"SITE_URL": "example.com"}, {}, "SITE_URL='example.com' is not an"),
        (feed_settings, {"FEED_MAX_DAYS": "0"}, {}, "FEED_MAX_DAYS='0' must be from 1 to"),
        (feed_settings, {"FEED_MAX_DAYS": "100000000"}, {}, "must be from 1 to 3,660"),
        (feed_settings, {"FEED_MAX_PAPERS": "100000"}, {}, "must be from 1 to 10,000"),
        (feed_settings, {"POST_URL_PATTERN": "https://x/{date!r:>999999999}"}, {},
         "may use only {site_url}"),
        (feed_settings, {"POST_URL_PATTERN": "https://x/{date:>9}"}, {}, "may use only"),
        (feed_settings, {"POST_URL_PATTERN": "https://x/{date"}, {}, "may use only"),
        (feed_settings, {"POST_URL_PATTERN": "{nope}"}, {}, "may use only {site_url}"),
        (feed_settings, {"POST_URL_PATTERN": "/posts/{date}/"}, {}, "must give an absolute URL"),
        (feed_settings, {"POST_LANG": "de"}, {}, "POST_LANG='de' is not one of ko, en"),
    ],
)  # fmt: skip
def test_a_bad_setting_names_the_variable_or_the_flag(
    make: Any, env: dict[str, str], overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make(env, **overrides)


def test_flags_win_over_the_environment_and_blank_values_are_unset() -> None:
    env = {"TOP_N": "3", "POST_LANG": "  ", "POST_TAGS": "a, b,,", "HF_TOKEN": " hf_x "}
    post = post_settings(env, TOP_N="5", MIN_UPVOTES=None)
    assert (post.top_n, post.lang, post.tags, post.min_upvotes) == (5, "ko", ("a", "b"), 0)
    source = source_settings(env, HF_API_BASE=None)
    assert (source.api_base, source.token) == ("https://huggingface.co", "hf_x")
    feeds = feed_settings({"SITE_URL": "https://x.example/", "POST_LANG": "en"})
    assert (feeds.site_url, feeds.language) == ("https://x.example", "en")
