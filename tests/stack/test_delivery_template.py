"""template.yaml's delivery parts: the settings each function reads, and what each may do."""

from __future__ import annotations

from typing import Any

import pytest

from papers_digest.settings import filter_settings, github_settings, notify_settings
from tests.stack.cfn import FUNCTIONS, RESOURCES, TEMPLATE, as_list
from tests.stack.test_template import statements

SSM = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${%s}"


def granted(function: str, action: str) -> list[tuple[str | None, Any]]:
    return [
        (statement.get("Sid"), statement["Resource"])
        for statement in statements(FUNCTIONS[function]["Policies"])
        if action in as_list(statement["Action"])
    ]


def test_each_secret_is_read_by_name_and_only_where_it_is_used() -> None:
    assert granted("DigestFunction", "ssm:GetParameter") == [
        ("ReadTheHfToken", {"Fn::Sub": SSM % "HfTokenParameterName"}),
        ("ReadTheGitHubToken", {"Fn::Sub": SSM % "GitHubTokenParameterName"}),
        ("ReadTheSummaryApiKey", {"Fn::Sub": SSM % "SummaryApiKeyParameterName"}),
    ]
    assert granted("FeedFunction", "ssm:GetParameter") == [
        ("ReadTheWebhooks", {"Fn::Sub": SSM % "NotifyWebhooksParameterName"})
    ]


def test_only_the_feed_function_publishes_and_only_to_its_topic() -> None:
    assert granted("FeedFunction", "sns:Publish") == [
        ("PublishToTheNotifyTopic", {"Ref": "NotifyTopic"})
    ]
    assert granted("DigestFunction", "sns:Publish") == []
    assert RESOURCES["NotifyTopic"]["Condition"] == "HasNotifyTopic"
    subscription = RESOURCES["NotifyEmailSubscription"]
    assert subscription["Condition"] == "HasNotifyEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "NotifyEmail"}


def test_the_token_never_is_a_plain_setting() -> None:
    every = {
        name: value
        for props in FUNCTIONS.values()
        for name, value in props["Environment"]["Variables"].items()
    }
    assert "GITHUB_BLOG_TOKEN" not in every
    assert "NOTIFY_WEBHOOKS" not in every
    assert every["GITHUB_BLOG_TOKEN_PARAMETER"] == {"Ref": "GitHubTokenParameterName"}
    assert every["NOTIFY_WEBHOOKS_PARAMETER"] == {"Ref": "NotifyWebhooksParameterName"}
    assert TEMPLATE["Parameters"]["GitHubTokenParameterName"]["Default"] == ""


@pytest.mark.parametrize("function", ["DigestFunction", "FeedFunction"])
def test_with_the_defaults_every_delivery_feature_is_off(function: str) -> None:
    """Each variable the stack sets, at its parameter's default, reads as `off`."""
    parameters = TEMPLATE["Parameters"]

    def resolved(value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value and value["Ref"] in parameters:
            return str(parameters[value["Ref"]].get("Default", ""))
        if isinstance(value, dict) and "Fn::If" in value:
            return "" if value["Fn::If"][0].startswith("Has") else "?"
        return value if isinstance(value, str) else "?"

    env = {name: resolved(v) for name, v in FUNCTIONS[function]["Environment"]["Variables"].items()}
    assert not filter_settings(env).active
    assert github_settings(env) is None
    assert not notify_settings(env).enabled
