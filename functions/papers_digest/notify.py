"""Tell readers a day is out: an SNS topic and webhooks (Slack, Discord, plain JSON).

A channel hears of a day once for each top 3 it has not heard of: a new day, or an
update that changed the top 3; a rerun or an update below the top 3 sends nothing, and
a day older than NEWS_DAYS (a backfilled one) is never news. What
each channel was sent is kept in the bucket (`state/notified/DAY.json`) and claimed
before sending, so no channel gets the same message twice even when runs overlap; a
send that fails gives its claim back, and the next try sends it."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from .conditional import Decision, update_object
from .days import last_complete_day
from .errors import DigestError
from .model import Digest
from .outbound import OutboundError, send
from .settings import NotifySettings, parse_webhooks
from .store import JSON_TYPE, Store, StoredObject

log = logging.getLogger(__name__)

TOP = 3
MAX_ANSWER_BYTES = 64 * 1024
TITLE_LIMIT = 200
STATE_PREFIX = "state/notified/"
# The oldest day still news: the last complete day and the week before it, as far back
# as a refresh window reaches (REFRESH_DAYS is at most 7).
NEWS_DAYS = 7


def is_news(day: date, now: datetime) -> bool:
    """Whether `day` is recent enough to tell anyone of at `now`."""
    return day >= last_complete_day(now) - timedelta(days=NEWS_DAYS)


class NotifyError(DigestError):
    """A channel could not be told; the digest and the feeds are untouched."""


@dataclass(frozen=True)
class Message:
    day: str
    link: str
    top: tuple[tuple[str, int, str], ...]  # title, upvotes, link

    @property
    def subject(self) -> str:
        return f"Hugging Face Daily Papers - {self.day}"

    def text(self) -> str:
        lines = [f"{rank}. {t} (👍 {n}) {u}" for rank, (t, n, u) in enumerate(self.top, 1)]
        return "\n".join([self.subject, "", *lines, "", self.link]) + "\n"


def message(digest: Digest, link: str) -> Message:
    top = tuple((p.title[:TITLE_LIMIT], p.upvotes, p.hf_url) for p in digest.papers[:TOP])
    return Message(digest.day.isoformat(), link, top)


def slack_payload(message: Message) -> dict[str, Any]:
    """Slack's incoming webhook: mrkdwn, where `&`, `<` and `>` must be escaped."""

    def escape(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    lines = [f"*<{message.link}|{escape(message.subject)}>*"] + [
        f"{rank}. <{url}|{escape(title)}> - {upvotes} upvotes"
        for rank, (title, upvotes, url) in enumerate(message.top, 1)
    ]
    return {"text": "\n".join(lines), "unfurl_links": False}


_DISCORD_MARKUP = re.compile(r"([\\*_~`|\[\]()<>#@:-])")


def discord_payload(message: Message) -> dict[str, Any]:
    """Discord's webhook: Markdown, escaped; no mentions, whatever a title says."""

    def escape(text: str) -> str:
        return _DISCORD_MARKUP.sub(r"\\\1", text)

    lines = [f"**[{escape(message.subject)}](<{message.link}>)**"] + [
        f"{rank}. [{escape(title)}](<{url}>) - 👍 {upvotes}"
        for rank, (title, upvotes, url) in enumerate(message.top, 1)
    ]
    return {"content": "\n".join(lines), "allowed_mentions": {"parse": []}}


def json_payload(message: Message) -> dict[str, Any]:
    return {
        "day": message.day,
        "link": message.link,
        "papers": [
            {"rank": rank, "title": title, "upvotes": upvotes, "link": url}
            for rank, (title, upvotes, url) in enumerate(message.top, 1)
        ],
    }


PAYLOADS: dict[str, Callable[[Message], dict[str, Any]]] = {
    "slack": slack_payload,
    "discord": discord_payload,
    "json": json_payload,
}


class Channel(Protocol):
    name: str  # the key in the state object: no secret in it
    label: str  # for messages: no secret in it

    def send(self, message: Message) -> None:
        """Deliver, or raise NotifyError (one line, no secret)."""


class Webhook:
    def __init__(
        self,
        kind: str,
        url: str,
        position: int,
        *,
        budget: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kind, self._url = kind, url
        self._budget, self._clock = budget, clock
        self.name = f"{kind}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"
        self.label = f"{kind} webhook {position}"

    def send(self, message: Message) -> None:
        try:
            reply = send(
                "POST",
                self._url,
                headers={"User-Agent": "papers-digest"},
                json_body=PAYLOADS[self._kind](message),
                deadline=self._clock() + self._budget,
                cap=MAX_ANSWER_BYTES,
                clock=self._clock,
            )
        except OutboundError as exc:
            raise NotifyError(f"{self.label}: {exc}") from None
        if not 200 <= reply.status < 300:
            raise NotifyError(f"{self.label} answered {reply.status}; check its URL")


class Topic:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client, self._arn = client, topic_arn
        self.name = f"sns-{hashlib.sha256(topic_arn.encode()).hexdigest()[:12]}"
        self.label = f"the SNS topic {topic_arn.rsplit(':', 1)[-1]}"

    def send(self, message: Message) -> None:
        try:
            self._client.publish(
                TopicArn=self._arn, Subject=message.subject, Message=message.text()
            )
        except Exception as exc:  # botocore's errors: any of them is a failed send
            raise NotifyError(f"{self.label}: {type(exc).__name__}") from None


@dataclass(frozen=True)
class NotifyResult:
    sent: tuple[str, ...] = ()
    already: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        return {"notified": list(self.sent), "already_notified": list(self.already)}


def notify_day(
    store: Store, digest: Digest, link: str, channels: Sequence[Channel]
) -> NotifyResult:
    """Send the day's message on each channel that has not had this top 3. Every channel
    is tried; then a NotifyError names those that failed."""
    key = f"{STATE_PREFIX}{digest.day.isoformat()}.json"
    top = [paper.arxiv_id for paper in digest.papers[:TOP]]
    text = message(digest, link)
    sent, already, failed = [], [], []
    for channel in channels:
        if not _claim(store, key, channel.name, top):
            already.append(channel.label)
            continue
        try:
            channel.send(text)
        except NotifyError as exc:
            log.warning("notification failed: %s", exc)
            failed.append(str(exc))
            _release(store, key, channel.name, top)
            continue
        sent.append(channel.label)
    if failed:
        raise NotifyError(f"{len(failed)} notification(s) failed ({'; '.join(failed)}); retried")
    return NotifyResult(tuple(sent), tuple(already))


def _claim(store: Store, key: str, channel: str, top: list[str]) -> bool:
    """Record `top` as sent on `channel`; False when the channel already has it."""

    def decide(stored: StoredObject | None) -> Decision[bool]:
        sent = _read(stored)
        if sent.get(channel) == top:
            return Decision(False, None)
        return Decision(True, _record({**sent, channel: top}))

    return update_object(store, key, JSON_TYPE, decide).value


def _release(store: Store, key: str, channel: str, top: list[str]) -> None:
    """Give back a claim whose send failed, unless another run has claimed the channel
    since (its record is not ours to erase)."""

    def decide(stored: StoredObject | None) -> Decision[None]:
        sent = _read(stored)
        if sent.get(channel) != top:
            return Decision(None, None)
        return Decision(None, _record({k: v for k, v in sent.items() if k != channel}))

    update_object(store, key, JSON_TYPE, decide)


def _record(sent: dict[str, Any]) -> bytes:
    return json.dumps(sent, indent=2, sort_keys=True).encode() + b"\n"


def _read(stored: StoredObject | None) -> dict[str, Any]:
    """What was sent, as stored; an unreadable record counts as nothing sent."""
    try:
        sent = json.loads(stored.body) if stored is not None else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        sent = {}
    return sent if isinstance(sent, dict) else {}


def channels(
    settings: NotifySettings,
    read_parameter: Callable[[str], str] | None = None,
) -> list[Channel]:
    """The configured channels: NOTIFY_WEBHOOKS, the webhooks in the SSM parameter
    NOTIFY_WEBHOOKS_PARAMETER (read with `read_parameter`), and NOTIFY_TOPIC_ARN."""
    hooks = settings.webhooks
    if settings.webhooks_parameter and read_parameter is not None:
        source = f"the SSM parameter {settings.webhooks_parameter}"
        hooks += parse_webhooks(read_parameter(settings.webhooks_parameter), source)
    found: list[Channel] = [
        Webhook(kind, url, position) for position, (kind, url) in enumerate(hooks, 1)
    ]
    if settings.topic_arn:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 3})
        found.append(Topic(boto3.client("sns", config=config), settings.topic_arn))
    return found
