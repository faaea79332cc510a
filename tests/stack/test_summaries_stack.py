"""The summarizer in template.yaml: off by default, Bedrock may invoke the one model named,
the endpoint's key is read from its one parameter, and the run's time covers it all."""

from __future__ import annotations

from typing import Any

import pytest

from papers_digest.digest_handler import WRITE_RESERVE_SECONDS
from papers_digest.settings import SummarySettings
from papers_digest.source import DailyPapersClient
from tests.stack.cfn import FUNCTIONS, TEMPLATE, as_list, failed_rules, resolve, true_conditions

DIGEST = FUNCTIONS["DigestFunction"]


def grants(parameters: dict[str, str]) -> dict[str, Any]:
    """The digest function's statements by Sid, as deployed with `parameters`."""
    policies = resolve(DIGEST["Policies"], true_conditions(parameters))
    found = {}
    for policy in policies:
        if policy != {"Ref": "AWS::NoValue"}:
            found |= {statement["Sid"]: statement for statement in policy["Statement"]}
    return found


def test_summaries_are_off_by_default_and_grant_nothing() -> None:
    assert TEMPLATE["Parameters"]["SummaryProvider"]["Default"] == "off"
    assert not {"InvokeTheSummaryModel", "ReadTheSummaryApiKey"} & set(grants({}))
    assert not [s for s in grants({}).values() if "bedrock" in str(s["Action"])]


def test_bedrock_may_invoke_the_named_model_only() -> None:
    statement = grants({"SummaryProvider": "bedrock", "SummaryModel": "m"})["InvokeTheSummaryModel"]
    assert as_list(statement["Action"]) == ["bedrock:InvokeModel"]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${SummaryModel}"
    }
    assert "ReadTheSummaryApiKey" not in grants({"SummaryProvider": "bedrock"})


def test_the_endpoints_key_is_read_from_its_parameter_only() -> None:
    parameters = {"SummaryProvider": "openai", "SummaryApiKeyParameterName": "/p/key"}
    statement = grants(parameters)["ReadTheSummaryApiKey"]
    assert statement["Action"] == "ssm:GetParameter"
    assert statement["Resource"]["Fn::Sub"].endswith(":parameter${SummaryApiKeyParameterName}")
    assert "InvokeTheSummaryModel" not in grants(parameters)


def test_the_settings_reach_the_function() -> None:
    env = DIGEST["Environment"]["Variables"]
    assert {name: env[name] for name in env if name.startswith("SUMMARY_")} == {
        "SUMMARY_PROVIDER": {"Ref": "SummaryProvider"},
        "SUMMARY_MODEL": {"Ref": "SummaryModel"},
        "SUMMARY_API_BASE": {"Ref": "SummaryApiBase"},
        "SUMMARY_API_KEY_PARAMETER": {"Ref": "SummaryApiKeyParameterName"},
    }


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({"SummaryProvider": "bedrock"}, ["SummaryProvider needs SummaryModel"]),
        (
            {"SummaryProvider": "openai", "SummaryModel": "m"},
            ["SummaryProvider openai needs SummaryApiBase.",
             "SummaryProvider openai needs SummaryApiKeyParameterName."],
        ),
        ({"SummaryProvider": "bedrock", "SummaryModel": "amazon.nova-micro-v1:0"}, []),
    ],
)  # fmt: skip
def test_a_half_configured_summarizer_is_refused_before_deploying(
    parameters: dict[str, str], refused: list[str]
) -> None:
    failed = failed_rules(parameters)
    assert len(failed) == len(refused)
    for description, expected in zip(failed, refused, strict=True):
        assert description.startswith(expected)


def test_the_fetch_and_the_summaries_fit_in_the_functions_time() -> None:
    fetch = DailyPapersClient.__init__.__kwdefaults__["budget_seconds"]
    assert fetch + SummarySettings.timeout + WRITE_RESERVE_SECONDS <= DIGEST["Timeout"]
