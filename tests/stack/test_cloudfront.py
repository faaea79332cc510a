"""What readers' browsers get from CloudFront: the headers, the domain and its TLS, the URLs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.stack.cfn import FUNCTIONS, RESOURCES, TEMPLATE, failed_rules, resolve, true_conditions

CONFIG = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
DOMAIN = "papers.example.com"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def directives(policy: str) -> dict[str, set[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *sources = directive.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = set(sources)
    return parsed


def test_every_response_carries_hsts_nosniff_and_a_strict_csp() -> None:
    assert "CacheBehaviors" not in CONFIG  # the default behaviour covers every path
    assert CONFIG["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeaders"}
    policy = RESOURCES["SecurityHeaders"]
    assert policy["Condition"] == "CdnEnabled"
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert all(header["Override"] is True for header in headers.values())
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 86400
    assert headers["ContentTypeOptions"] == {"Override": True}
    # Pages may load scripts and styles from their own origin only, nothing inline.
    assert directives(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]) == {
        "default-src": {"'none'"},
        "script-src": {"'self'"},
        "style-src": {"'self'"},
        "img-src": {"'self'", "https:", "data:"},
        "connect-src": {"'self'"},  # the search script's search.json
        "base-uri": {"'none'"},
        "form-action": {"'none'"},
        "frame-ancestors": {"'none'"},
    }


def as_text(value: Any) -> str:
    """A `!Sub` or `!Ref` as the `${...}` text it stands for."""
    return value["Fn::Sub"] if "Fn::Sub" in value else "${" + value["Ref"] + "}"


DEFAULT_CERTIFICATE = {"CloudFrontDefaultCertificate": True}
OWN_CERTIFICATE = {
    "AcmCertificateArn": {"Ref": "CertificateArn"},
    "MinimumProtocolVersion": "TLSv1.2_2021",
    "SslSupportMethod": "sni-only",
}
NONE = {"Ref": "AWS::NoValue"}
SITES = {
    "defaults": ({}, "https://${Distribution.DomainName}", DEFAULT_CERTIFICATE, NONE),
    "custom domain": ({"DomainName": DOMAIN, "CertificateArn": CERTIFICATE},
                      "https://${DomainName}", OWN_CERTIFICATE, [{"Ref": "DomainName"}]),
    "custom domain and SiteUrl": (
        {"DomainName": DOMAIN, "CertificateArn": CERTIFICATE, "SiteUrl": "https://x.example/p"},
        "${SiteUrl}", OWN_CERTIFICATE, [{"Ref": "DomainName"}]),
}  # fmt: skip


@pytest.mark.parametrize(("parameters", "site", "certificate", "aliases"), SITES.values(),
                         ids=SITES.keys())  # fmt: skip
def test_a_custom_domain_gets_its_certificate_tls_1_2_and_the_site_urls(
    parameters: dict[str, str], site: str, certificate: dict[str, Any], aliases: Any
) -> None:
    conditions = true_conditions(parameters)
    assert failed_rules(parameters) == []
    assert resolve(CONFIG["ViewerCertificate"], conditions) == certificate
    assert resolve(CONFIG["Aliases"], conditions) == aliases
    site_url = FUNCTIONS["FeedFunction"]["Environment"]["Variables"]["SITE_URL"]
    assert as_text(resolve(site_url, conditions)) == site
    outputs = {name: as_text(resolve(TEMPLATE["Outputs"][name]["Value"], conditions))
               for name in ("SiteUrl", "FeedUrl", "PapersFeedUrl")}  # fmt: skip
    assert outputs == {"SiteUrl": site, "FeedUrl": f"{site}/feed.xml",
                       "PapersFeedUrl": f"{site}/papers.xml"}  # fmt: skip


REFUSED = {
    "domain without certificate": ({"DomainName": DOMAIN}, ["needs CertificateArn"]),
    "certificate without domain": ({"CertificateArn": CERTIFICATE}, ["only with DomainName"]),
    "domain without CloudFront": (
        {"DomainName": DOMAIN, "CertificateArn": CERTIFICATE, "EnableCdn": "false"},
        ["set EnableCdn to true"],
    ),
}


@pytest.mark.parametrize(("parameters", "reasons"), REFUSED.values(), ids=REFUSED.keys())
def test_a_half_configured_domain_is_refused_before_deploying(
    parameters: dict[str, str], reasons: list[str]
) -> None:
    failed = failed_rules(parameters)
    assert len(failed) == len(reasons)
    assert all(reason in message for reason, message in zip(reasons, failed, strict=True))
    assert "HasCustomDomain" not in true_conditions(parameters)


PATTERNS = [
    ("DomainName", "", True),
    ("DomainName", DOMAIN, True),
    ("DomainName", "https://papers.example.com", False),
    ("DomainName", "papers.example.com/feed", False),
    ("CertificateArn", "", True),
    ("CertificateArn", CERTIFICATE, True),
    # CloudFront takes certificates from us-east-1 only.
    ("CertificateArn", CERTIFICATE.replace("us-east-1", "eu-west-1"), False),
]


@pytest.mark.parametrize(("parameter", "value", "accepted"), PATTERNS)
def test_domain_parameters_accept_only_what_cloudfront_takes(
    parameter: str, value: str, accepted: bool
) -> None:
    pattern = TEMPLATE["Parameters"][parameter]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted
