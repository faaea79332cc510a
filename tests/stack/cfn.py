"""template.yaml as data: CloudFormation's short tags read as their long form, and helpers
to walk conditions and policies."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, !If ...) read as their long form."""


def _tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)
TEMPLATE: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text("utf-8"), CfnLoader)  # noqa: S506
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {
    name: resource["Properties"]
    for name, resource in RESOURCES.items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resolve(value: Any, true_conditions: Collection[str]) -> Any:
    """`value` with every Fn::If taken as it would be when exactly `true_conditions` hold."""
    if isinstance(value, list):
        return [resolve(item, true_conditions) for item in value]
    if not isinstance(value, dict):
        return value
    if "Fn::If" in value:
        condition, then, otherwise = value["Fn::If"]
        return resolve(then if condition in true_conditions else otherwise, true_conditions)
    return {key: resolve(item, true_conditions) for key, item in value.items()}


def evaluate(expression: Any, parameters: dict[str, str]) -> Any:
    """A condition or rule assertion, with `parameters` over the template's defaults."""
    values = {name: p.get("Default") for name, p in TEMPLATE["Parameters"].items()} | parameters
    ((function, argument),) = expression.items()
    if function == "Ref":
        return values[argument]
    if function == "Condition":
        return evaluate(TEMPLATE["Conditions"][argument], parameters)
    operands = [evaluate(item, parameters) if isinstance(item, dict) else item
                for item in argument]  # fmt: skip
    if function == "Fn::Equals":
        return str(operands[0]) == str(operands[1])
    if function == "Fn::Not":
        return not operands[0]
    if function == "Fn::And":
        return all(operands)
    if function == "Fn::Or":
        return any(operands)
    raise NotImplementedError(function)


def true_conditions(parameters: dict[str, str]) -> set[str]:
    return {name for name, c in TEMPLATE["Conditions"].items() if evaluate(c, parameters)}


def failed_rules(parameters: dict[str, str]) -> list[str]:
    """The AssertDescription of every rule assertion that refuses `parameters`."""
    failed = []
    for rule in TEMPLATE.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], parameters):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"]
                   if not evaluate(a["Assert"], parameters)]  # fmt: skip
    return failed


class Stack:
    """The template's values as one deployed stack would have them: `parameters` over the
    defaults, the pseudo parameters, and `resources` naming what each resource's Ref and
    GetAtt return (`{"DigestBucket": {"Ref": "b", "Arn": "arn:aws:s3:::b"}}`). A value
    this stack does not name raises KeyError, so a new reference cannot pass unresolved."""

    def __init__(
        self,
        parameters: dict[str, str],
        resources: dict[str, dict[str, str]],
        *,
        name: str = "papers-digest",
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        defaults = {key: str(p.get("Default", "")) for key, p in TEMPLATE["Parameters"].items()}
        self.conditions = true_conditions(parameters)
        self.refs: dict[str, str] = (
            defaults
            | parameters
            | {
                "AWS::StackName": name,
                "AWS::Region": region,
                "AWS::AccountId": account,
                "AWS::Partition": "aws",
            }
        )
        self.resources = resources

    def value(self, expression: Any) -> Any:
        """`expression` (Ref, Fn::Sub, Fn::GetAtt, Fn::If) evaluated; None for AWS::NoValue."""
        if isinstance(expression, list):
            return [v for v in map(self.value, expression) if v is not None]
        if not isinstance(expression, dict):
            return expression
        if "Fn::If" in expression:
            condition, then, otherwise = expression["Fn::If"]
            return self.value(then if condition in self.conditions else otherwise)
        if "Ref" in expression:
            name = expression["Ref"]
            if name == "AWS::NoValue":
                return None
            return self.refs[name] if name in self.refs else self.resources[name]["Ref"]
        if "Fn::GetAtt" in expression:
            resource, attribute = expression["Fn::GetAtt"]
            return self.resources[resource][attribute]
        if "Fn::Sub" in expression:
            text = expression["Fn::Sub"]
            assert isinstance(text, str), f"Fn::Sub with a variable map: {expression}"
            return re.sub(r"\$\{([^!}][^}]*)\}", lambda m: self._named(m.group(1)), text)
        return {key: self.value(item) for key, item in expression.items()}

    def _named(self, name: str) -> str:
        resource, _, attribute = name.partition(".")
        if attribute:
            return self.resources[resource][attribute]
        return str(self.value({"Ref": name}))

    def environment(self, function: str) -> dict[str, str]:
        """The function's environment variables (the Globals' and its own) in this stack."""
        variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"] | (
            FUNCTIONS[function].get("Environment", {}).get("Variables", {})
        )
        return {name: str(self.value(value)) for name, value in variables.items()}

    def statements(self, function: str) -> list[dict[str, Any]]:
        """The IAM statements of the function's Policies in this stack, values evaluated."""
        found = []
        for policy in FUNCTIONS[function]["Policies"]:
            document = self.value(policy)
            if document is not None:
                found += document["Statement"]
        return found
