"""template.yaml, read as a reviewer would: handlers, least privilege, exposure, failures."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from papers_digest.keys import (
    DIGEST_PREFIX,
    FEED_INDEX_KEY,
    LEASE_KEY,
    POST_PREFIX,
    SITE_KEYS,
)
from papers_digest.notify import STATE_PREFIX as NOTIFIED_PREFIX
from tests.stack.cfn import FUNCTIONS, RESOURCES, ROOT, TEMPLATE, as_list


def statements(policies: list[Any]) -> list[dict[str, Any]]:
    """Every IAM statement in a function's Policies, both branches of an !If included."""
    found: list[dict[str, Any]] = []
    for policy in policies:
        if "Fn::If" in policy:
            found += statements([b for b in policy["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}])
        else:
            assert "Statement" in policy, f"use explicit statements, not {policy}"
            found += policy["Statement"]
    return found


def object_patterns(resources: Any) -> set[str]:
    """`${DigestBucket.Arn}/x` resources as their key patterns `x`."""
    patterns = set()
    for resource in as_list(resources):
        match = re.fullmatch(r"\$\{DigestBucket\.Arn\}/(.+)", resource.get("Fn::Sub", ""))
        assert match, f"not an object ARN in the digest bucket: {resource}"
        patterns.add(match.group(1))
    return patterns


def test_two_functions_share_one_code_bundle() -> None:
    assert set(FUNCTIONS) == {"DigestFunction", "FeedFunction"}
    assert TEMPLATE["Globals"]["Function"]["CodeUri"] == "functions/"
    assert all("CodeUri" not in props for props in FUNCTIONS.values())
    runtime = TEMPLATE["Globals"]["Function"]["Runtime"]
    assert re.fullmatch(r"python3\.(1[2-9])", runtime)
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == ["arm64"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_handler_resolves_to_a_callable_in_functions(name: str) -> None:
    module_name, _, attribute = FUNCTIONS[name]["Handler"].rpartition(".")
    assert (ROOT / "functions" / (module_name.replace(".", "/") + ".py")).is_file()
    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_no_iam_grant_uses_wildcard_actions_or_resources() -> None:
    grants = [s for props in FUNCTIONS.values() for s in statements(props["Policies"])]
    for resource in RESOURCES.values():
        document = resource.get("Properties", {}).get("PolicyDocument")
        if document:
            grants += [s for s in document["Statement"] if "Fn::If" not in s]
            grants += [
                branch
                for s in document["Statement"]
                if "Fn::If" in s
                for branch in s["Fn::If"][1:]
                if branch != {"Ref": "AWS::NoValue"}
            ]
    allows = [s for s in grants if s["Effect"] == "Allow"]
    assert len(allows) >= 6
    for statement in allows:
        for action in as_list(statement["Action"]):
            assert "*" not in action, statement
        for resource in as_list(statement["Resource"]):
            assert resource != "*", statement


def _grants(function: str, action: str) -> set[str]:
    found = set()
    for statement in statements(FUNCTIONS[function]["Policies"]):
        if action in as_list(statement["Action"]):
            found |= object_patterns(statement["Resource"])
    return found


def test_each_function_writes_only_the_keys_it_writes() -> None:
    digest_side = {f"{DIGEST_PREFIX}*", f"{POST_PREFIX}*", LEASE_KEY}  # the backfill's lease
    assert _grants("DigestFunction", "s3:PutObject") == digest_side
    # and reads the feed index: a backfill's end publishes the days it does not list
    assert _grants("DigestFunction", "s3:GetObject") == {*digest_side, FEED_INDEX_KEY}
    state = {FEED_INDEX_KEY, f"{NOTIFIED_PREFIX}*"}  # the index and notification claims
    assert _grants("FeedFunction", "s3:PutObject") == {*state, *SITE_KEYS}
    # and reads the backfill lease, which it may not write
    assert _grants("FeedFunction", "s3:GetObject") == {f"{DIGEST_PREFIX}*", *state, LEASE_KEY}


def test_missing_keys_read_as_404_not_403() -> None:
    """Without s3:ListBucket, S3 answers a GET of a missing key with 403 AccessDenied."""
    for name in FUNCTIONS:
        lists = [
            s
            for s in statements(FUNCTIONS[name]["Policies"])
            if "s3:ListBucket" in as_list(s["Action"])
        ]
        assert lists == [lists[0]]
        assert lists[0]["Resource"] == {"Fn::GetAtt": ["DigestBucket", "Arn"]}


def test_the_token_parameter_read_is_scoped_to_that_parameter() -> None:
    (ssm,) = [
        s
        for s in statements(FUNCTIONS["DigestFunction"]["Policies"])
        if "ssm:GetParameter" in as_list(s["Action"]) and s.get("Sid") == "ReadTheHfToken"
    ]
    assert ssm["Resource"]["Fn::Sub"].endswith(":parameter${HfTokenParameterName}")
    env = FUNCTIONS["DigestFunction"]["Environment"]["Variables"]
    assert env["HF_TOKEN_PARAMETER"] == {"Ref": "HfTokenParameterName"}


def test_bucket_is_private_versioned_encrypted_retained_and_notifies_eventbridge() -> None:
    bucket = RESOURCES["DigestBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }


def test_bucket_policy_exposes_only_public_keys_to_cloudfront_and_denies_http() -> None:
    statements_ = RESOURCES["DigestBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny = next(s for s in statements_ if s.get("Effect") == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Principal"] == "*"
    assert len(deny["Resource"]) == 2  # the bucket and every object in it
    (conditional,) = [s for s in statements_ if "Fn::If" in s]
    condition, allow, otherwise = conditional["Fn::If"]
    assert condition == "CdnEnabled"
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert object_patterns(allow["Resource"]) == {*SITE_KEYS, f"{POST_PREFIX}*"}
    assert "${Distribution}" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


def test_cloudfront_uses_origin_access_control_and_https_and_can_be_turned_off() -> None:
    distribution = RESOURCES["Distribution"]
    assert distribution["Condition"] == "CdnEnabled"
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert TEMPLATE["Parameters"]["EnableCdn"]["AllowedValues"] == ["true", "false"]


def test_schedule_expression_and_timezone_are_parameters() -> None:
    schedule = FUNCTIONS["DigestFunction"]["Events"]["Daily"]
    assert schedule["Type"] == "ScheduleV2"
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert props["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
    assert TEMPLATE["Parameters"]["ScheduleExpression"]["Default"] == "cron(15 9 * * ? *)"
    assert TEMPLATE["Parameters"]["ScheduleTimezone"]["Default"] == "Asia/Seoul"
    assert "<aws.scheduler.scheduled-time>" in props["Input"]
    assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_feed_function_starts_on_digests_only() -> None:
    rule = FUNCTIONS["FeedFunction"]["Events"]["DigestLanded"]
    pattern = rule["Properties"]["Pattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": DIGEST_PREFIX}]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "DigestBucket"}]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_has_a_failure_destination_an_error_alarm_and_log_retention(
    name: str,
) -> None:
    on_failure = FUNCTIONS[name]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    alarms = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"]["MetricName"] == "Errors"
        and {"Name": "FunctionName", "Value": {"Ref": name}} in r["Properties"]["Dimensions"]
    ]
    assert len(alarms) == 1
    log_group = FUNCTIONS[name]["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_a_day_without_a_successful_digest_alarms() -> None:
    alarm = RESOURCES["NoDigestAlarm"]["Properties"]
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert alarm["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert alarm["TreatMissingData"] == "breaching"
    handler = (ROOT / "functions/papers_digest/digest_handler.py").read_text("utf-8")
    assert f'"{alarm["MetricName"]}"' in handler


def test_users_parameters_and_outputs() -> None:
    assert {"ScheduleExpression", "ScheduleTimezone", "PostLanguage", "TopN", "SiteUrl",
            "PostAuthor"} <= set(TEMPLATE["Parameters"])  # fmt: skip
    assert {"BucketName", "FeedUrl", "PapersFeedUrl", "SiteUrl"} <= set(TEMPLATE["Outputs"])


def test_local_env_names_only_variables_the_template_declares() -> None:
    """`sam local invoke --env-vars` silently ignores variables the template lacks."""
    import json

    local = json.loads((ROOT / "infra" / "local-env.json").read_text("utf-8"))
    shared = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    for function, variables in local.items():
        declared = shared | set(FUNCTIONS[function]["Environment"]["Variables"])
        assert set(variables) <= declared, function


def test_only_the_rule_whose_dead_letters_go_there_may_send_to_the_failure_queue() -> None:
    """An EventBridge rule sends its dead letters under the queue's policy; the Scheduler
    and Lambda's on-failure destinations send with their IAM roles, which SAM grants."""
    senders = {
        f"{function}{name}": event["Type"]  # the logical id SAM gives what it generates
        for function, props in FUNCTIONS.items()
        for name, event in props["Events"].items()
        if event["Properties"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    }
    assert senders == {
        "DigestFunctionDaily": "ScheduleV2",
        "FeedFunctionDigestLanded": "EventBridgeRule",
    }
    document = RESOURCES["FailureQueuePolicy"]["Properties"]["PolicyDocument"]
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["FeedFunctionDigestLanded", "Arn"]}}
    }


def test_the_post_time_follows_the_schedule_and_the_permalink_is_a_parameter() -> None:
    env = FUNCTIONS["DigestFunction"]["Environment"]["Variables"]
    assert env["PUBLISH_SCHEDULE"] == {"Ref": "ScheduleExpression"}
    assert env["PUBLISH_TIMEZONE"] == {"Ref": "ScheduleTimezone"}
    assert env["POST_PERMALINK"] == {"Ref": "PostPermalink"}
    assert TEMPLATE["Parameters"]["PostPermalink"]["Default"] == ""
    every_variable = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    for props in FUNCTIONS.values():
        every_variable |= set(props["Environment"]["Variables"])
    assert "PUBLISH_TIME" not in every_variable  # a fixed time would not follow the schedule


def test_the_digest_function_may_invoke_only_itself_and_the_feed_function() -> None:
    """A backfill hands the rest of its range to a new invocation of its own function
    (named by the stack, so no circular reference) and asks the feed function for one
    publish at its end; nothing else may be invoked."""
    digest = FUNCTIONS["DigestFunction"]
    assert digest["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-digest"}
    assert digest["Environment"]["Variables"]["FEED_FUNCTION_NAME"] == {"Ref": "FeedFunction"}
    invokes = [
        statement
        for statement in statements(digest["Policies"])
        if "lambda:InvokeFunction" in as_list(statement["Action"])
    ]
    assert len(invokes) == 1
    assert as_list(invokes[0]["Action"]) == ["lambda:InvokeFunction"]
    assert as_list(invokes[0]["Resource"]) == [
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
                    "${AWS::StackName}-digest"},
        {"Fn::GetAtt": ["FeedFunction", "Arn"]},
    ]  # fmt: skip
    feed = FUNCTIONS["FeedFunction"]
    assert not any(
        "lambda:InvokeFunction" in as_list(s["Action"]) for s in statements(feed["Policies"])
    )
