"""Settings of the optional summarizer (summarize.py, summarizers.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError
from .values import Values

SUMMARY_PROVIDERS = ("bedrock", "openai")
# A model id as Bedrock and OpenAI-compatible servers spell them (`amazon.nova-micro-v1:0`).
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")


@dataclass(frozen=True)
class SummarySettings:
    """The optional summarizer (summarize.py); off while `provider` is None."""

    provider: str | None = None  # SUMMARY_PROVIDER: bedrock or openai
    model: str = ""  # SUMMARY_MODEL: a Bedrock model id, or the endpoint's model name
    api_base: str | None = None  # SUMMARY_API_BASE: OpenAI-compatible, e.g. .../v1
    api_key: str | None = None  # SUMMARY_API_KEY (local use)
    api_key_parameter: str | None = None  # SUMMARY_API_KEY_PARAMETER: an SSM SecureString
    max_papers: int = 10  # SUMMARY_MAX_PAPERS: model requests a run may start, at most
    max_tokens: int = 30_000  # SUMMARY_MAX_TOKENS: input + output tokens a run may spend
    max_output_tokens: int = 400  # SUMMARY_MAX_OUTPUT_TOKENS: per summary
    timeout: int = 40  # SUMMARY_TIMEOUT: seconds for all summaries of a run, retries included
    concurrency: int = 4  # SUMMARY_CONCURRENCY: requests in flight at once


def summary_settings(env: Mapping[str, str]) -> SummarySettings:
    values = Values(env, {})
    provider = values.get("SUMMARY_PROVIDER")
    if provider is None or provider == "off":
        return SummarySettings()
    if provider not in SUMMARY_PROVIDERS:
        raise values.error("SUMMARY_PROVIDER", "is not one of off, bedrock, openai")
    model = values.get("SUMMARY_MODEL") or ""
    if not MODEL_ID.fullmatch(model):
        raise values.error("SUMMARY_MODEL", "is not a model id such as amazon.nova-micro-v1:0")
    api_base = values.url("SUMMARY_API_BASE", "") or None
    key, key_parameter = values.get("SUMMARY_API_KEY"), values.get("SUMMARY_API_KEY_PARAMETER")
    if provider == "openai" and not api_base:
        raise values.error("SUMMARY_API_BASE", "must be set for SUMMARY_PROVIDER=openai")
    if provider == "openai" and not (key or key_parameter):
        raise ConfigError(
            "SUMMARY_PROVIDER=openai needs SUMMARY_API_KEY or SUMMARY_API_KEY_PARAMETER "
            "(an SSM SecureString holding the key)"
        )
    return SummarySettings(
        provider=provider,
        model=model,
        api_base=api_base,
        api_key=key,
        api_key_parameter=key_parameter,
        max_papers=values.integer("SUMMARY_MAX_PAPERS", SummarySettings.max_papers, 0, 2_000),
        max_tokens=values.integer("SUMMARY_MAX_TOKENS", SummarySettings.max_tokens, 0, 10**8),
        max_output_tokens=values.integer(
            "SUMMARY_MAX_OUTPUT_TOKENS", SummarySettings.max_output_tokens, 16, 100_000
        ),
        timeout=values.integer("SUMMARY_TIMEOUT", SummarySettings.timeout, 1, 600),
        concurrency=values.integer("SUMMARY_CONCURRENCY", SummarySettings.concurrency, 1, 32),
    )
