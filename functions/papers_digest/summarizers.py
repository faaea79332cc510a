"""The two Summarizer adapters: Amazon Bedrock's Converse API (boto3) and any
OpenAI-compatible chat-completions endpoint (requests). Each turns one prompt into a
Completion or a ModelError saying whether to retry; summarize.py does the rest."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from . import checks
from .errors import ConfigError
from .outbound import retry_after
from .settings import SummarySettings, summary_settings
from .source import RETRYABLE_STATUS, USER_AGENT
from .summarize import Completion, ModelError, Summarizer, SummaryStep

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 256 * 1024  # a chat completion of a few sentences is ~1-2 KB
CONNECT_TIMEOUT = 5.0
TEMPERATURE = 0.2
# Answers that mean no request of this run can succeed: the key, the access or the model.
FATAL_STATUS = frozenset({401, 403, 404})
BEDROCK_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelTimeoutException",
    }
)
BEDROCK_FATAL = frozenset({"AccessDeniedException", "ResourceNotFoundException"})


class OpenAICompatible:
    """`POST {base}/chat/completions` with a bearer key. The key never shows in a message."""

    def __init__(self, session: requests.Session, base_url: str, model: str, key: str) -> None:
        self.model = model
        self._session = session
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }

    def complete(self, system: str, user: str, max_tokens: int, timeout: float) -> Completion:
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": max_tokens,
            "temperature": TEMPERATURE,
        }
        try:
            response = self._session.post(
                self._url,
                json=body,
                headers=self._headers,
                timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
                stream=True,
            )
            with response:
                status = response.status_code
                if status in RETRYABLE_STATUS:
                    pause = retry_after(response.headers, -1.0, time.time())
                    raise ModelError(
                        f"HTTP {status}", retryable=True, pause=pause if pause >= 0 else None
                    )
                if status != 200:
                    raise ModelError(f"HTTP {status}", fatal=status in FATAL_STATUS)
                raw = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
        except requests.Timeout:
            raise ModelError(f"no answer within {timeout:.3g}s", retryable=True) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise ModelError(
                f"cannot connect or read ({type(exc).__name__})", retryable=True
            ) from None
        except requests.RequestException as exc:
            raise ModelError(
                f"the request cannot be sent ({type(exc).__name__})", fatal=True
            ) from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise ModelError(f"an answer over {MAX_ANSWER_BYTES:,} bytes")
        return _chat_completion(raw)


def _chat_completion(raw: bytes) -> Completion:
    """`choices[0].message.content` and `usage` of a chat completion."""
    try:
        data = json.loads(raw)
        text = data["choices"][0]["message"]["content"]
        usage = data.get("usage") or {}
    except (ValueError, RecursionError, KeyError, IndexError, TypeError, AttributeError):
        raise ModelError("an answer that is not a chat completion") from None
    if not isinstance(text, str) or not isinstance(usage, dict):
        raise ModelError("an answer that is not a chat completion")
    return Completion(
        text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
    )


class BedrockConverse:
    """`bedrock-runtime` Converse with the model id: the function's role is the credential.
    The client should not retry by itself (summarize.py does, within the deadline)."""

    def __init__(self, client: Any, model: str) -> None:
        self.model = model
        self._client = client

    def complete(self, system: str, user: str, max_tokens: int, timeout: float) -> Completion:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.converse(
                modelId=self.model,
                system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": user}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": TEMPERATURE},
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            pause = retry_after(headers, -1.0, time.time())
            raise ModelError(
                f"Bedrock {code or 'error'}",
                retryable=code in BEDROCK_RETRYABLE or status in RETRYABLE_STATUS,
                fatal=code in BEDROCK_FATAL,
                pause=pause if pause >= 0 else None,
            ) from None
        except BotoCoreError as exc:  # timeouts, connection errors
            raise ModelError(f"Bedrock {type(exc).__name__}", retryable=True) from None
        try:
            blocks = response["output"]["message"]["content"]
            text = "".join(b["text"] for b in blocks if isinstance(b, dict) and "text" in b)
            usage = response.get("usage") or {}
        except (KeyError, TypeError):
            raise ModelError("an answer that is not a Converse message") from None
        if not isinstance(text, str):
            raise ModelError("an answer that is not a Converse message")
        return Completion(text, _count(usage.get("inputTokens")), _count(usage.get("outputTokens")))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def summary_step(
    env: Mapping[str, str],
    *,
    lang: str,
    template_dir: str | None,
    deadline: float | None = None,
    session: requests.Session | None = None,
) -> SummaryStep | None:
    """The summary step the environment asks for, or None when summaries are off. A bad
    setting is a ConfigError; a key that cannot be read leaves summaries out of this run
    (a warning), so the post still goes out."""
    settings = summary_settings(env)
    try:
        summarizer = build_summarizer(settings, session=session)
    except Exception as exc:
        log.warning("summaries left out of this run: %s", _one_line(exc))
        return None
    if summarizer is None:
        return None
    return SummaryStep(
        summarizer, settings, lang=lang, template_dir=template_dir, deadline=deadline
    )


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ConfigError):
        return str(exc)
    return f"the API key could not be read ({type(exc).__name__})"


def build_summarizer(
    settings: SummarySettings,
    *,
    session: requests.Session | None = None,
    read_secret: Callable[[str], str] | None = None,
) -> Summarizer | None:
    """The adapter the settings name, or None when summaries are off. The OpenAI-compatible
    key comes from SUMMARY_API_KEY or the SSM SecureString SUMMARY_API_KEY_PARAMETER."""
    if settings.provider == "bedrock":
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=settings.timeout,
            retries={"total_max_attempts": 1},
        )
        return BedrockConverse(boto3.client("bedrock-runtime", config=config), settings.model)
    if settings.provider == "openai" and settings.api_base:
        key, where = settings.api_key, "SUMMARY_API_KEY"
        if settings.api_key_parameter:
            where = f"the SSM parameter {settings.api_key_parameter}"
            key = (read_secret or _ssm_secret)(settings.api_key_parameter)
        key = checks.bearer_token(key, where)
        if not key:
            raise ConfigError(f"{where} is empty; set the endpoint's API key there")
        return OpenAICompatible(
            session or requests.Session(), settings.api_base, settings.model, key
        )
    return None


def _ssm_secret(name: str) -> str:
    """An SSM SecureString, cached for an hour across warm invocations."""
    from aws_lambda_powertools.utilities.parameters import get_parameter

    return get_parameter(name, decrypt=True, max_age=3600)
