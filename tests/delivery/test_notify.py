"""Notifications, end to end: the digest handler stores the day, the feed handler (run by
the digest's Object Created event) tells a webhook receiver on 127.0.0.1 and moto's SNS."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from papers_digest import digest_handler, feed_handler
from papers_digest.notify import NotifyError, Webhook, message
from papers_digest.store import S3Store
from papers_digest.stored import load_digest
from tests.conftest import BUCKET, REAL_DAY, FakeLambdaContext, api_items, event, object_created
from tests.webhook_receiver import Receiver, webhook_receiver
from tools.replay_server import ReplayServer

SECRET = "/services/T000/B000/SeCrEtWeBhOoK"
PATHS = {"slack": SECRET, "discord": "/api/webhooks/1/discord", "json": "/plain"}
TOP = ["2607.28618", "2607.28227", "2607.28568"]


SCHEDULED = datetime(2026, 8, 1, 0, 20, tzinfo=UTC)  # the run that published REAL_DAY


@pytest.fixture
def chain(
    s3: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Receiver, Any]]:
    sns, sqs = boto3.client("sns", "us-east-1"), boto3.client("sqs", "us-east-1")
    topic = sns.create_topic(Name="papers-digest")["TopicArn"]
    queue = sqs.create_queue(QueueName="reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    with webhook_receiver() as receiver:
        hooks = " ".join(f"{kind}={receiver.url}{path}" for kind, path in PATHS.items())
        monkeypatch.setenv("HF_API_BASE", replay.url)
        monkeypatch.setenv("NOTIFY_WEBHOOKS", hooks)
        monkeypatch.setenv("NOTIFY_TOPIC_ARN", topic)
        monkeypatch.setenv("POST_URL_PATTERN", "https://blog.example.com/posts/{date}/")
        monkeypatch.setattr(feed_handler, "_now", lambda: SCHEDULED)  # the day is news
        yield receiver, (sqs, queue)


def run_the_day() -> dict[str, Any]:
    """The digest run, then the feed run its digest's arrival starts."""
    digest_handler.lambda_handler(event("digest-scheduled.json"), FakeLambdaContext())
    result: dict[str, Any] = feed_handler.lambda_handler(
        object_created(f"digests/{REAL_DAY}.json"), FakeLambdaContext()
    )
    return result


def sns_messages(queue: tuple[Any, str]) -> list[dict[str, Any]]:
    sqs, url = queue
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for received in found:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])
    return [json.loads(received["Body"]) for received in found]


def sent(receiver: Receiver) -> dict[str, int]:
    return {kind: len(receiver.payloads(path)) for kind, path in PATHS.items()}


def test_a_new_day_is_told_once_on_every_channel(chain: tuple[Receiver, Any]) -> None:
    receiver, queue = chain
    run_the_day()
    assert sent(receiver) == {"slack": 1, "discord": 1, "json": 1}
    (plain,) = receiver.payloads("/plain")
    assert plain["day"] == "2026-07-31"
    assert plain["link"] == "https://blog.example.com/posts/2026-07-31/"
    assert [(p["rank"], p["upvotes"]) for p in plain["papers"]] == [(1, 292), (2, 283), (3, 168)]
    assert [p["link"].rsplit("/", 1)[1] for p in plain["papers"]] == TOP
    (slack,) = receiver.payloads(SECRET)
    assert slack["text"].startswith("*<https://blog.example.com/posts/2026-07-31/|")
    assert slack["text"].count(" upvotes") == 3
    (discord,) = receiver.payloads(PATHS["discord"])
    assert discord["allowed_mentions"] == {"parse": []}
    assert discord["content"].count("](<https://huggingface.co/papers/") == 3
    (sns,) = sns_messages(queue)
    assert sns["Subject"] == "Hugging Face Daily Papers - 2026-07-31"
    lines = sns["Message"].splitlines()
    assert [line.rsplit("/", 1)[1] for line in lines[2:5]] == TOP
    assert lines[-1] == "https://blog.example.com/posts/2026-07-31/"


def test_a_day_older_than_a_week_is_not_news(
    chain: tuple[Receiver, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfilled day published on its own (its lease ran out, or its event came after
    the backfill let go) is not announced: the news is the last complete day and the week
    before it."""
    receiver, queue = chain
    monkeypatch.setattr(feed_handler, "_now", lambda: SCHEDULED + timedelta(days=8))
    assert run_the_day()["status"] == "published"
    assert sent(receiver) == {kind: 0 for kind in PATHS}
    assert sns_messages(queue) == []
    monkeypatch.setattr(feed_handler, "_now", lambda: SCHEDULED + timedelta(days=7))
    run_the_day()  # the seventh day before the last complete one: still news
    assert sent(receiver) == {kind: 1 for kind in PATHS}


def test_a_repeated_event_sends_nothing(chain: tuple[Receiver, Any]) -> None:
    receiver, queue = chain
    run_the_day()
    sns_messages(queue)
    summary = run_the_day()  # EventBridge may deliver twice; the digest is unchanged
    assert sent(receiver) == {"slack": 1, "discord": 1, "json": 1}
    assert sns_messages(queue) == []
    assert summary["status"] in {"published", "unchanged"}


@pytest.mark.parametrize(
    ("paper", "upvotes", "again"),
    [
        ("2607.28509", 26, 0),  # tenth place moves: the post changes, the top 3 does not
        ("2607.28568", 300, 1),  # third becomes first: the top 3 changed
    ],
)
def test_an_update_sends_only_when_the_top_3_changed(
    chain: tuple[Receiver, Any], replay: ReplayServer, paper: str, upvotes: int, again: int
) -> None:
    receiver, queue = chain
    run_the_day()
    items = copy.deepcopy(api_items(REAL_DAY))
    (item,) = [item for item in items if item["paper"]["id"] == paper]
    item["paper"]["upvotes"] = upvotes
    replay.days[REAL_DAY.isoformat()] = items
    run_the_day()
    assert sent(receiver) == {"slack": 1 + again, "discord": 1 + again, "json": 1 + again}
    assert len(sns_messages(queue)) == 1 + again


def test_a_failing_channel_is_retried_alone_and_never_the_digest(
    chain: tuple[Receiver, Any], s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    receiver, queue = chain
    receiver.status[SECRET] = 500
    with pytest.raises(NotifyError) as raised:
        run_the_day()
    assert (
        str(raised.value)
        == "1 notification(s) failed (slack webhook 1 answered 500; check its URL); retried"
    )
    assert SECRET not in caplog.text
    assert s3.head_object(Bucket=BUCKET, Key="feed.xml")  # the feeds went out first
    assert sent(receiver) == {"slack": 0, "discord": 1, "json": 1}
    del receiver.status[SECRET]
    feed_handler.lambda_handler(object_created(f"digests/{REAL_DAY}.json"), FakeLambdaContext())
    assert sent(receiver) == {"slack": 1, "discord": 1, "json": 1}
    assert len(sns_messages(queue)) == 1


def test_a_slow_webhook_is_given_up_by_its_deadline(chain: tuple[Receiver, Any]) -> None:
    receiver, _ = chain
    run_the_day()
    receiver.delay = 3.0
    digest = load_digest(S3Store(BUCKET), REAL_DAY)
    hook = Webhook("json", f"{receiver.url}/plain", 1, budget=0.5)
    with pytest.raises(NotifyError, match=r"^json webhook 1: no answer before the deadline$"):
        hook.send(message(digest, "https://example.com"))


def test_the_stack_reads_the_webhooks_from_ssm(
    chain: tuple[Receiver, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, _ = chain
    boto3.client("ssm", "us-east-1").put_parameter(
        Name="/papers-digest/webhooks", Value=f"json={receiver.url}/from-ssm", Type="SecureString"
    )
    monkeypatch.delenv("NOTIFY_WEBHOOKS")
    monkeypatch.setenv("NOTIFY_WEBHOOKS_PARAMETER", "/papers-digest/webhooks")
    run_the_day()
    assert len(receiver.payloads("/from-ssm")) == 1
    assert sent(receiver) == {"slack": 0, "discord": 0, "json": 0}


def test_a_missing_topic_fails_alone_and_an_unreadable_record_counts_as_nothing_sent(
    chain: tuple[Receiver, Any], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, _ = chain
    s3.put_object(Bucket=BUCKET, Key=f"state/notified/{REAL_DAY}.json", Body=b"\xff not json")
    monkeypatch.setenv("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:gone")
    with pytest.raises(NotifyError, match=r"^1 notification\(s\) failed \(the SNS topic gone: "):
        run_the_day()
    assert sent(receiver) == {"slack": 1, "discord": 1, "json": 1}
    record = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"state/notified/{REAL_DAY}.json")["Body"].read()
    )
    assert sorted(name.split("-")[0] for name in record) == ["discord", "json", "slack"]
    assert all(top == TOP for top in record.values())


class _Channel:
    """A channel whose send runs `during` first, then fails or succeeds."""

    def __init__(self, fails: bool, during: Any = None) -> None:
        self.name, self.label, self.fails, self.during = (
            "json-test",
            "json webhook 1",
            fails,
            during,
        )
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        if self.during is not None:
            during, self.during = self.during, None
            during()
        if self.fails:
            raise NotifyError("json webhook 1: HTTP 500")
        self.sent.append(text)


def test_a_failed_send_gives_back_only_its_own_claim(tmp_path: Any) -> None:
    """Run A claims the old top 3 and its send hangs; run B, an update with a new top 3,
    claims and sends; A's send then fails. B's record must stay, or B's message would go
    out again on the next run."""
    from dataclasses import replace

    from papers_digest.notify import notify_day
    from papers_digest.store import FolderStore
    from tests.digests import digest_for

    store = FolderStore(tmp_path)
    old = digest_for(REAL_DAY)
    new = replace(old, papers=tuple(reversed(old.papers)))
    b = _Channel(fails=False)
    a = _Channel(fails=True, during=lambda: notify_day(store, new, "https://x.example/", [b]))
    with pytest.raises(NotifyError):
        notify_day(store, old, "https://x.example/", [a])
    assert len(b.sent) == 1
    again = notify_day(store, new, "https://x.example/", [b])
    assert (again.sent, len(b.sent)) == ((), 1)
