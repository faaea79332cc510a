"""Every AWS call each Lambda handler makes is one its function's policy in template.yaml
allows, and every grant is used: the handlers run through each event kind they take
against moto (which enforces no IAM), in the environment the template gives them, while
botocore records each call; each is then judged against the function's statements as the
stack evaluates them. Grants are found from use, never from a list written by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters as powertools_parameters
from botocore.client import BaseClient

from papers_digest import digest_handler, feed_handler, notify
from tests.conftest import (
    BUCKET,
    EVENTS,
    SEED_DAY,
    FakeLambdaContext,
    api_items_for,
    event,
    object_created,
)
from tests.github_stub import REPO, TOKEN, github_stub
from tests.stack.cfn import Stack, failed_rules
from tests.webhook_receiver import webhook_receiver
from tools.chat_stub import ChatStub
from tools.replay_server import ReplayServer

REGION, ACCOUNT = "us-east-1", "123456789012"
DIGEST_NAME = "papers-digest-digest"  # ${AWS::StackName}-digest
FEED_NAME = "papers-digest-FeedFunction-0TEST"  # CloudFormation names it
MODEL = "amazon.nova-micro-v1:0"
FUNCTIONS = {"DigestFunction": digest_handler, "FeedFunction": feed_handler}
SECRETS = {
    "/papers-digest/hf-token": "hf_fromssm",
    "/papers-digest/github-token": TOKEN,
    "/papers-digest/summary-key": "sk-fromssm",
}
# The parameters of each stack the handlers run in: the defaults (no token, no blog, no
# summaries, no notifications); every optional AWS integration the template grants on;
# and summaries from an OpenAI-compatible endpoint, whose key is the one grant left.
STACKS: dict[str, dict[str, str]] = {
    "defaults": {},
    "everything-on": {
        "HfTokenParameterName": "/papers-digest/hf-token",
        "BlogRepository": REPO,
        "GitHubTokenParameterName": "/papers-digest/github-token",
        "SummaryProvider": "bedrock",
        "SummaryModel": MODEL,
        "EnableNotifyTopic": "true",
        "NotifyWebhooksParameterName": "/papers-digest/webhooks",
        "SiteUrl": "https://papers.example.com",
    },
    "openai-summaries": {
        "SummaryProvider": "openai",
        "SummaryModel": "stub-model",
        "SummaryApiBase": "{chat}",  # the chat stub's URL, once it runs
        "SummaryApiKeyParameterName": "/papers-digest/summary-key",
    },
}
BACKFILL_FIRST, LAST = date(2026, 7, 20), date(2026, 7, 31)


def arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def lambda_arn(name: str) -> str:
    return name if name.startswith("arn:") else arn("lambda", f"function:{name}")


def ssm_arn(name: str) -> str:
    return arn("ssm", f"parameter/{name.lstrip('/')}")


def s3_object(params: dict[str, Any]) -> str:
    return f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"


def s3_get(params: dict[str, Any]) -> str:
    return "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"


# What IAM action each API operation needs, and on which resource.
ACTIONS: dict[tuple[str, str], Callable[[dict[str, Any]], tuple[str, str]]] = {
    ("s3", "GetObject"): lambda p: (s3_get(p), s3_object(p)),
    ("s3", "HeadObject"): lambda p: (s3_get(p), s3_object(p)),
    ("s3", "PutObject"): lambda p: ("s3:PutObject", s3_object(p)),
    ("s3", "DeleteObject"): lambda p: ("s3:DeleteObject", s3_object(p)),
    ("s3", "ListObjectsV2"): lambda p: ("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}"),
    ("lambda", "Invoke"): lambda p: ("lambda:InvokeFunction", lambda_arn(p["FunctionName"])),
    ("ssm", "GetParameter"): lambda p: ("ssm:GetParameter", ssm_arn(p["Name"])),
    ("sns", "Publish"): lambda p: ("sns:Publish", p["TopicArn"]),
    ("bedrock-runtime", "Converse"): lambda p: (
        "bedrock:InvokeModel",
        arn("bedrock", f"foundation-model/{p['modelId']}", account=""),
    ),
}


def iam_action(service: str, operation: str, params: dict[str, Any]) -> tuple[str, str]:
    """The IAM action and resource ARN an API call needs."""
    needs = ACTIONS.get((service, operation))
    assert needs is not None, f"no IAM mapping for {service} {operation}: add it to ACTIONS"
    return needs(params)


def wildcard(pattern: str) -> re.Pattern[str]:
    """An IAM resource pattern: `*` any run of characters (`/` included), `?` any one."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def grants(statements: list[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """Each (effect, action, resource pattern) the statements name."""
    for statement in statements:
        assert "Condition" not in statement, f"conditions are not judged here: {statement}"
        actions, patterns = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for pattern in [patterns] if isinstance(patterns, str) else patterns:
                yield statement["Effect"], action, pattern


def allowing(statements: list[dict[str, Any]], action: str, resource: str) -> list[str]:
    """The grants (`action pattern`) that allow `action` on `resource`; none when a Deny
    matches. Actions match in any case, resources with IAM's wildcards."""
    found: dict[str, list[str]] = {"Allow": [], "Deny": []}
    for effect, granted, pattern in grants(statements):
        if granted.lower() == action.lower() and wildcard(pattern).fullmatch(resource):
            found[effect].append(f"{granted} {pattern}")
    return [] if found["Deny"] else found["Allow"]


def allowed_grants(statements: list[dict[str, Any]]) -> set[str]:
    """Every grant (`action pattern`) the statements allow."""
    return {f"{a} {p}" for effect, a, p in grants(statements) if effect == "Allow"}


@dataclass
class Call:
    function: str
    service: str
    operation: str
    params: dict[str, Any]

    def needs(self) -> tuple[str, str]:
        return iam_action(self.service, self.operation, self.params)

    def __str__(self) -> str:
        action, resource = self.needs()
        return f"{self.function}: {self.service} {self.operation} needs {action} on {resource}"


@dataclass
class Recorder:
    """Every API call botocore makes (any client, any session: a class-level hook), made
    while `function` runs. Lambda and Bedrock, which moto does not serve here, are answered
    by `answers`; the rest go on to moto."""

    function: str = ""
    calls: list[Call] = field(default_factory=list, repr=False)
    answers: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict
    )

    def invoked(self, function_arn: str) -> list[dict[str, Any]]:
        """The payloads sent to `function_arn`, oldest first."""
        return [
            json.loads(c.params["Payload"])
            for c in self.calls
            if c.operation == "Invoke" and lambda_arn(c.params["FunctionName"]) == function_arn
        ]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    send = BaseClient._make_api_call

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        if recording.function:
            recording.calls.append(Call(recording.function, service, operation, dict(params)))
        answer = recording.answers.get((service, operation))
        return answer(params) if answer else send(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    return recording


def converse_answer(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "요약입니다."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 500, "outputTokens": 120, "totalTokens": 620},
        "metrics": {"latencyMs": 800},
    }


@dataclass
class Context(FakeLambdaContext):
    """A Lambda context with plenty of time for `calls` questions, then too little."""

    calls: int = 1_000_000

    def get_remaining_time_in_millis(self) -> int:
        self.calls -= 1
        return 300_000 if self.calls >= 0 else 60_000


@dataclass
class Deployed:
    name: str
    stack: Stack
    recorder: Recorder
    monkeypatch: pytest.MonkeyPatch
    overrides: dict[str, str]

    def run(self, function: str, event: dict[str, Any], calls: int = 1_000_000) -> Any:
        """Invoke `function`'s handler in the environment the stack gives it (the API and
        the blog on 127.0.0.1), with time for `calls` questions of its context."""
        name = DIGEST_NAME if function == "DigestFunction" else FEED_NAME
        with self.monkeypatch.context() as env:
            for other in FUNCTIONS:
                for variable in self.stack.environment(other):
                    env.delenv(variable, raising=False)
            for variable, value in (self.stack.environment(function) | self.overrides).items():
                env.setenv(variable, value)
            context = Context(name, invoked_function_arn=lambda_arn(name), calls=calls)
            self.recorder.function = function
            try:
                return FUNCTIONS[function].lambda_handler(event, context)
            finally:
                self.recorder.function = ""


@pytest.fixture(params=sorted(STACKS))
def deployed(
    request: pytest.FixtureRequest, s3: Any, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployed]:
    """The stack `STACKS[param]` on moto: its SSM parameters and topic made, its API (July
    2026 and the chosen day), blog, webhook and chat endpoints on 127.0.0.1. Every day is
    news here (the days are months old), so the notification grants are exercised."""
    monkeypatch.setattr(notify, "NEWS_DAYS", 100_000)
    ssm, sns = boto3.client("ssm", REGION), boto3.client("sns", REGION)
    topic = sns.create_topic(Name="papers-digest")["TopicArn"]
    resources = {
        "DigestBucket": {
            "Ref": BUCKET,
            "Arn": f"arn:aws:s3:::{BUCKET}",
            "RegionalDomainName": f"{BUCKET}.s3.{REGION}.amazonaws.com",
        },
        "DigestFunction": {"Ref": DIGEST_NAME, "Arn": lambda_arn(DIGEST_NAME)},
        "FeedFunction": {"Ref": FEED_NAME, "Arn": lambda_arn(FEED_NAME)},
        "NotifyTopic": {"Ref": topic},
        "Distribution": {"DomainName": "d111111abcdef8.cloudfront.net"},
    }
    days = [SEED_DAY] + [date(2026, 7, 1) + timedelta(days=n) for n in range(31)]
    recorder.answers[("lambda", "Invoke")] = lambda params: {"StatusCode": 202}
    recorder.answers[("bedrock-runtime", "Converse")] = converse_answer
    powertools_parameters.clear_caches()  # a cached secret would hide its GetParameter
    with (
        ReplayServer({day.isoformat(): api_items_for(day) for day in days}) as api,
        github_stub() as blog,
        webhook_receiver() as hooks,
        ChatStub() as chat,
    ):
        parameters = {k: v.format(chat=chat.url) for k, v in STACKS[request.param].items()}
        assert failed_rules(parameters) == []  # a stack CloudFormation would create
        for name, value in (SECRETS | {"/papers-digest/webhooks": f"json={hooks.url}/"}).items():
            ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        yield Deployed(
            request.param,
            Stack(parameters, resources, region=REGION, account=ACCOUNT),
            recorder,
            monkeypatch,
            {"HF_API_BASE": api.url, "GITHUB_API_BASE": blog.url, "BACKFILL_RATE": "200"},
        )
    powertools_parameters.clear_caches()


def drive_every_event(deployed: Deployed) -> None:
    """Each event kind the handlers take, in the order a stack meets them: a backfill
    long enough to hand over (with a digest landing under its lease), its end's publish
    and roll-ups sent on to their functions, then each event of infra/events/ and an
    Object Created for each kind of roll-up."""
    run, invoked = deployed.run, deployed.recorder.invoked
    hops = [{"from": BACKFILL_FIRST.isoformat(), "to": LAST.isoformat()}]
    assert "continues_from" in run("DigestFunction", hops[0], calls=6)
    # a digest written under the lease lands: the feed function leaves it to the backfill
    assert run("FeedFunction", object_created(f"digests/{BACKFILL_FIRST}.json"))["status"] == "held"
    while "from" in (handed := invoked(lambda_arn(DIGEST_NAME))[len(hops) - 1]):
        hops.append(handed)  # the hand-over, run as Lambda would; the third hop has time
        run("DigestFunction", handed, calls=6 if len(hops) < 3 else 1_000_000)
    assert len(hops) >= 2
    (publish,) = invoked(lambda_arn(FEED_NAME))
    assert run("FeedFunction", publish)["status"] == "published"
    rollups = invoked(lambda_arn(DIGEST_NAME))[len(hops) - 1 :]
    assert rollups == [{"rollup": "2026-07"}, {"rollup": "2026-W30"}]
    for rollup in rollups:
        run("DigestFunction", rollup)
    for path in sorted(EVENTS.glob("*.json")):  # digest-*.json, then feed-*.json
        function = {"digest": "DigestFunction", "feed": "FeedFunction"}[path.stem.split("-")[0]]
        run(function, event(path.name))
    for key in ("digests/monthly/2026-07.json", "digests/weekly/2026-W31.json"):
        assert run("FeedFunction", object_created(key))["status"] == "published"


def test_each_call_a_handler_makes_is_granted_and_each_grant_is_used(deployed: Deployed) -> None:
    """In a stack that adds one integration to another, its events alone run, and its
    grants beyond the stack it adds to are the ones that must be used."""
    partial = deployed.name == "openai-summaries"
    if partial:
        summary = deployed.run("DigestFunction", event("digest-chosen-day.json"))
        assert summary["summaries"]["written"] > 0
    else:
        drive_every_event(deployed)

    for function in FUNCTIONS:
        statements = deployed.stack.statements(function)
        calls = [c for c in deployed.recorder.calls if c.function == function]
        allowed = {str(c): allowing(statements, *c.needs()) for c in calls}
        denied = sorted(call for call, grants in allowed.items() if not grants)
        assert denied == [], f"{function}'s policy does not allow:\n" + "\n".join(denied)
        to_use = allowed_grants(statements)
        if partial:
            to_use -= allowed_grants(Stack({}, deployed.stack.resources).statements(function))
        unused = sorted(to_use - {grant for grants in allowed.values() for grant in grants})
        assert unused == [], f"{function} is granted what none of its events uses: {unused}"


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        ("arn:aws:s3:::b/digests/*", "arn:aws:s3:::b/digests/2026-07-31.json", True),
        ("arn:aws:s3:::b/digests/*", "arn:aws:s3:::b/digests/weekly/2026-W31.json", True),
        ("arn:aws:s3:::b/digests/*", "arn:aws:s3:::b/digests", False),
        ("arn:aws:s3:::b/state/*", "arn:aws:s3:::b/statements/x", False),
        ("arn:aws:s3:::b/state/feed-index.json", "arn:aws:s3:::b/state/feed-index.json.1", False),
        ("arn:aws:s3:::b/feed.xml", "arn:aws:s3:::b/FEED.xml", False),
        ("arn:aws:s3:::b/daily/?.html", "arn:aws:s3:::b/daily/1.html", True),
        ("arn:aws:s3:::b/daily/?.html", "arn:aws:s3:::b/daily/12.html", False),
        ("arn:aws:s3:::b/[ab].json", "arn:aws:s3:::b/a.json", False),  # no character sets
        ("arn:aws:s3:::b/[ab].json", "arn:aws:s3:::b/[ab].json", True),
        ("arn:aws:s3:::b", "arn:aws:s3:::b/digests/x.json", False),
    ],
)
def test_resources_match_as_iam_matches_them(pattern: str, resource: str, allowed: bool) -> None:
    statements = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": pattern}]
    assert bool(allowing(statements, "s3:GetObject", resource)) is allowed
    assert allowing(statements, "s3:PutObject", resource) == []


def test_a_deny_wins_and_an_operation_without_a_mapping_fails() -> None:
    key = {"Bucket": "b", "Key": "state/backfill.json"}
    statements = [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/state/*"]},
        {"Effect": "Deny", "Action": "S3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    ]
    assert allowing(statements, *iam_action("s3", "HeadObject", key)) == []
    assert iam_action("s3", "GetObject", key | {"VersionId": "1"})[0] == "s3:GetObjectVersion"
    with pytest.raises(AssertionError, match="no IAM mapping for s3 CopyObject"):
        iam_action("s3", "CopyObject", key)
