"""Machine-written summaries of the listed papers, in the post's language: optional,
cached, budgeted, and never in the way of the post.

The model is behind the `Summarizer` protocol (summarizers.py has the Bedrock and the
OpenAI-compatible adapters). Everything else is here: the prompts (Jinja2 templates the
user can override), the cache (the summaries of the day's stored digest, reused when the
model and the hash of the prompt match), the budget (papers and tokens a run may spend)
and the runner (bounded concurrency, retries with `Retry-After`, one deadline for all).
A summary that is not written for any reason is left out, with a warning; the caller
publishes the papers as they come back."""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Protocol

import jinja2

from .checks import clean_text
from .errors import ConfigError
from .model import MAX_SUMMARY_CHARS, MachineSummary, Paper
from .settings import SummarySettings

log = logging.getLogger(__name__)

MAX_PROMPT_ABSTRACT = 6_000  # characters of an abstract that go into a prompt
CHARS_PER_TOKEN = 3  # a cautious estimate (English ~4, Korean fewer) to reserve tokens
MAX_ATTEMPTS = 4  # per paper, the first included
BACKOFF_SECONDS = 1.0  # the first pause when the server names none; doubled each time
STOPPED = "not asked: an earlier answer said no request of this run can succeed"


class ModelError(Exception):
    """A request that brought no summary. `retryable`: try again after `pause` (or the
    backoff); `fatal`: the model cannot answer this run at all (a bad key, an unknown
    model), so no further request is made."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = False,
        fatal: bool = False,
        pause: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.retryable, self.fatal, self.pause = reason, retryable, fatal, pause


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int | None = None  # as the server counted them, when it says
    output_tokens: int | None = None


class Summarizer(Protocol):
    model: str

    def complete(self, system: str, user: str, max_tokens: int, timeout: float) -> Completion:
        """One chat completion; raises ModelError. `timeout`: seconds it may take."""


@dataclass(frozen=True)
class Prompt:
    arxiv_id: str
    system: str
    user: str

    @property
    def sha256(self) -> str:
        payload = json.dumps([self.system, self.user], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def estimate(self, max_output_tokens: int) -> int:
        """Tokens to reserve before sending: a cautious count of the prompt's, plus the
        most the answer may take."""
        return (len(self.system) + len(self.user)) // CHARS_PER_TOKEN + 1 + max_output_tokens


@cache
def _prompt_environment(template_dir: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("papers_digest", "templates")]
    if template_dir:
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    return jinja2.Environment(  # noqa: S701 - plain text for a model, not HTML
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_prompts(papers: Sequence[Paper], lang: str, template_dir: str | None) -> list[Prompt]:
    """`{lang}/summary-system.txt.j2` and `{lang}/summary-user.txt.j2` for each paper; a
    template that does not parse or render is a ConfigError naming it."""
    env = _prompt_environment(template_dir)
    prompts = []
    names = (f"{lang}/summary-system.txt.j2", f"{lang}/summary-user.txt.j2")
    for paper in papers:
        shown = {
            "title": paper.title,
            "abstract": paper.abstract[:MAX_PROMPT_ABSTRACT],
            "ai_summary": paper.ai_summary or "",
        }
        parts = []
        for name in names:
            try:
                parts.append(env.get_template(name).render(paper=shown).strip())
            except jinja2.TemplateError as exc:
                raise _template_error(name, exc) from None
        prompts.append(Prompt(paper.arxiv_id, *parts))
    return prompts


def _template_error(name: str, exc: jinja2.TemplateError) -> ConfigError:
    message = " ".join(str(exc.message).split())
    return ConfigError(f"prompt template {name}: {message}; fix the template")


def clean_summary(text: str) -> str:
    """Model text as paper text: one line, no control characters, at most
    MAX_SUMMARY_CHARS (cut at a space, with an ellipsis). Escaping is the renderers'."""
    cleaned = clean_text(text)
    if len(cleaned) <= MAX_SUMMARY_CHARS:
        return cleaned
    cut = cleaned[: MAX_SUMMARY_CHARS - 1]
    if " " in cut[MAX_SUMMARY_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def cached_summaries(stored_digest: bytes | None) -> dict[str, MachineSummary]:
    """The summaries of a stored digest by arXiv id; whatever cannot be read is left out
    (the run then pays for that summary again, nothing worse)."""
    try:
        papers = json.loads(stored_digest or b"{}").get("papers")
    except (ValueError, AttributeError, RecursionError):
        return {}
    found = {}
    for item in papers if isinstance(papers, list) else []:
        try:
            summary = MachineSummary.from_json(item["machine_summary"], "machine_summary")
            found[str(item["arxiv_id"])] = summary
        except (KeyError, TypeError, ValueError):
            continue
    return found


def carried_over(
    papers: Sequence[Paper], stored_digest: bytes | None, lang: str
) -> tuple[Paper, ...]:
    """`papers` with the summaries in `lang` the stored digest holds for them: what a run
    without a summary step keeps (summaries off, a backfill without --summaries, a key that
    could not be read), so such a run never strips the summaries already paid for."""
    cached = cached_summaries(stored_digest)
    return tuple(
        replace(paper, machine_summary=hit)
        if (hit := cached.get(paper.arxiv_id)) is not None and hit.lang == lang
        else paper
        for paper in papers
    )


class Budget:
    """Papers and tokens a run may spend, shared by the workers. Tokens are reserved
    (the prompt's estimate plus the answer's maximum) before a request and settled at
    what the server counted after it, so the limit holds with requests in flight."""

    def __init__(self, papers: int, tokens: int) -> None:
        self._lock = threading.Lock()
        self.papers_left, self.tokens_left = papers, tokens
        self.requests = 0
        self.tokens_used = 0

    def reserve(self, tokens: int) -> bool:
        with self._lock:
            if self.papers_left < 1 or self.tokens_left < tokens:
                return False
            self.papers_left -= 1
            self.tokens_left -= tokens
            return True

    def sent(self) -> None:
        with self._lock:
            self.requests += 1

    def settle(self, reserved: int, used: int) -> None:
        with self._lock:
            self.tokens_left += reserved - used
            self.tokens_used += used


@dataclass
class SummaryReport:
    reused: int = 0
    written: int = 0
    requests: int = 0
    tokens: int = 0
    missing: dict[str, str] = field(default_factory=dict)  # arXiv id: why

    def summary(self) -> dict[str, Any]:
        return {
            "reused": self.reused,
            "written": self.written,
            "missing": len(self.missing),
            "requests": self.requests,
            "tokens": self.tokens,
        }


class SummaryStep:
    """Adds summaries to ranked papers: `add` is what the pipeline calls."""

    def __init__(
        self,
        summarizer: Summarizer,
        settings: SummarySettings,
        *,
        lang: str,
        template_dir: str | None = None,
        deadline: float | None = None,  # the run's, on `clock`: summaries end before it
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._model, self._settings = summarizer, settings
        self._lang, self._template_dir = lang, template_dir
        self._deadline, self._clock, self._sleep = deadline, clock, sleep

    def add(
        self, papers: Sequence[Paper], stored_digest: bytes | None
    ) -> tuple[tuple[Paper, ...], SummaryReport]:
        """`papers` with a summary each where one is cached or could be written in time
        and within the budget; the others as they were."""
        report = SummaryReport()
        cached = cached_summaries(stored_digest)
        prompts = build_prompts(papers, self._lang, self._template_dir)
        summaries: dict[str, MachineSummary] = {}
        todo = []
        for prompt in prompts:
            hit = cached.get(prompt.arxiv_id)
            if hit and (hit.model, hit.inputs_sha256, hit.lang) == (
                self._model.model,
                prompt.sha256,
                self._lang,
            ):
                summaries[prompt.arxiv_id] = hit
                report.reused += 1
            else:
                todo.append(prompt)
        budget = Budget(self._settings.max_papers, self._settings.max_tokens)
        for prompt, outcome in self._run(todo, budget).items():
            if isinstance(outcome, str):
                report.missing[prompt.arxiv_id] = outcome
            else:
                summaries[prompt.arxiv_id] = outcome
                report.written += 1
        report.requests, report.tokens = budget.requests, budget.tokens_used
        for arxiv_id, why in report.missing.items():
            log.warning("no summary for %s: %s", arxiv_id, why)
        papers = tuple(replace(p, machine_summary=summaries.get(p.arxiv_id)) for p in papers)
        return papers, report

    def _run(self, todo: list[Prompt], budget: Budget) -> dict[Prompt, MachineSummary | str]:
        """Each prompt's summary, or why there is none. At most `concurrency` daemon
        threads send requests; this thread waits for them until the deadline and then
        leaves whatever is still in flight behind (its answer is dropped)."""
        deadline = self._clock() + self._settings.timeout
        if self._deadline is not None:
            deadline = min(deadline, self._deadline)
        outcomes: dict[Prompt, MachineSummary | str] = dict.fromkeys(todo, "out of time")
        jobs: queue.SimpleQueue[Prompt] = queue.SimpleQueue()
        for prompt in todo:
            jobs.put(prompt)
        results: queue.SimpleQueue[tuple[Prompt, MachineSummary | str]] = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while True:
                try:
                    prompt = jobs.get_nowait()
                except queue.Empty:
                    return
                outcome: MachineSummary | str = STOPPED
                if not stop.is_set():
                    try:
                        outcome = self._one(prompt, budget, deadline, stop)
                    except Exception as exc:  # an adapter's bug must not hold the run
                        outcome = f"unexpected {type(exc).__name__}"
                results.put((prompt, outcome))

        for _ in range(min(self._settings.concurrency, len(todo))):
            threading.Thread(target=work, name="papers-digest-summary", daemon=True).start()
        for _ in todo:
            left = deadline - self._clock()
            try:
                prompt, outcome = results.get(timeout=max(left, 0.0))
            except queue.Empty:
                break
            outcomes[prompt] = outcome
        stop.set()
        return outcomes

    def _one(
        self, prompt: Prompt, budget: Budget, deadline: float, stop: threading.Event
    ) -> MachineSummary | str:
        settings = self._settings
        reserved = prompt.estimate(settings.max_output_tokens)
        if not budget.reserve(reserved):
            return "the run's budget of papers or tokens is spent"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            left = deadline - self._clock()
            if left <= 0 or stop.is_set():
                budget.settle(reserved, 0)
                return "out of time" if left <= 0 else STOPPED
            budget.sent()
            try:
                answer = self._model.complete(
                    prompt.system, prompt.user, settings.max_output_tokens, left
                )
            except ModelError as exc:
                failure = exc
            else:
                used = (answer.input_tokens or 0) + (answer.output_tokens or 0)
                budget.settle(reserved, used or reserved)
                text = clean_summary(answer.text)
                if not text:
                    return "the model answered with no text"
                return MachineSummary(text, self._model.model, self._lang, prompt.sha256)
            if failure.fatal:
                stop.set()
            pause = (
                failure.pause if failure.pause is not None else BACKOFF_SECONDS * 2 ** (attempt - 1)
            )
            if not failure.retryable or attempt == MAX_ATTEMPTS:
                break
            if self._clock() + pause >= deadline:  # the server will not answer in time
                stop.set()
                budget.settle(reserved, 0)
                return f"{failure.reason}, and a wait of {pause:g}s would pass the deadline"
            self._sleep(pause)
        budget.settle(reserved, 0)
        return f"{failure.reason} ({attempt} attempt{'s' if attempt > 1 else ''})"
