"""`papers-digest`: the same pipeline and feeds as the Lambda functions, from a shell."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, NoReturn

from . import __version__
from .checks import LANGUAGES
from .days import check_publishable, last_complete_day, parse_day
from .errors import ConfigError, DigestError, InvalidDayError, InvalidEventError
from .settings import FeedSettings, PostSettings, SourceSettings, feed_settings
from .settings.backfill import BackfillSettings
from .store import FolderStore, S3Store, Store

DEFAULT_OUT = "site"


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--out", metavar="DIR", help=f"write to this local folder (default: ./{DEFAULT_OUT})"
    )
    where.add_argument(
        "--bucket", metavar="B", help="write to this S3 bucket (AWS_ENDPOINT_URL_S3 is honoured)"
    )


def _store(args: argparse.Namespace) -> Store:
    """The bucket or folder named; an empty name (an unset variable in a script) is an
    error, never a quiet fall back to ./site."""
    if args.bucket is not None:
        return S3Store(args.bucket)  # refuses an empty name
    if args.out == "":
        raise ConfigError("--out is empty; name a folder, or leave --out out for ./site")
    return FolderStore(args.out or DEFAULT_OUT)


def _add_output_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """`--json` and `--debug`, accepted before and after the subcommand: the subcommand's
    copies default to SUPPRESS so they do not reset what was given before it."""
    parser.add_argument(
        "--json", action="store_true", default=default, help="print the result as JSON"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show the traceback of an error (or set PAPERS_DIGEST_DEBUG=1)",
    )


class _Parser(argparse.ArgumentParser):
    """A usage error is one line too, pointing at --help instead of printing the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"papers-digest: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="papers-digest",
        description="Publish the Hugging Face Daily Papers as Jekyll posts and RSS feeds.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_output_options(parser, False)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="fetch, rank and store one day's digest and post")
    _add_output_options(run, argparse.SUPPRESS)
    run.add_argument(
        "--date",
        metavar="D",
        help="YYYY-MM-DD, run alone (default: the last complete UTC day, and the days before "
        "it that --refresh says)",
    )
    run.add_argument(
        "--refresh",
        metavar="N",
        help="without --date: run the N days before again, for their latest upvotes "
        f"(default: $REFRESH_DAYS or {SourceSettings.refresh_days}; 0: none)",
    )
    _add_store_options(run)
    run.add_argument(
        "--lang", choices=LANGUAGES, help=f"post language (default: {PostSettings.lang})"
    )
    run.add_argument("--top", metavar="N", help=f"papers to list (default: {PostSettings.top_n})")
    run.add_argument("--min-upvotes", metavar="N", help="leave out papers below N upvotes")
    run.add_argument("--template-dir", metavar="DIR", help="override the shipped templates")
    run.add_argument(
        "--api-base",
        metavar="URL",
        help=f"API base URL (default: $HF_API_BASE or {SourceSettings.api_base})",
    )

    feed = commands.add_parser(
        "feed", help="publish the feeds and the site's pages from the stored digests"
    )
    _add_output_options(feed, argparse.SUPPRESS)
    _add_store_options(feed)
    feed.add_argument("--date", metavar="D", help="publish this day's digest into the feeds")
    feed.add_argument("--from", dest="first", metavar="D", help="publish the days from D ...")
    feed.add_argument("--to", dest="last", metavar="D", help="... to D at once (with --from)")
    feed.add_argument(
        "--site-url",
        metavar="URL",
        help=f"public base URL (default: $SITE_URL or {FeedSettings.site_url})",
    )
    backfill = commands.add_parser(
        "backfill", help="run a range of days (oldest first), then publish the feeds once"
    )
    _add_output_options(backfill, argparse.SUPPRESS)
    backfill.add_argument("--from", dest="first", metavar="D1", required=True, help="YYYY-MM-DD")
    backfill.add_argument(
        "--to", dest="last", metavar="D2", help="YYYY-MM-DD (default: the last complete UTC day)"
    )
    _add_store_options(backfill)
    backfill.add_argument(
        "--concurrency",
        metavar="N",
        help=f"days in flight at once (default: {BackfillSettings.concurrency})",
    )
    backfill.add_argument(
        "--rate",
        metavar="R",
        help=f"API requests a second, all days together (default: {BackfillSettings.rate:g})",
    )
    backfill.add_argument(
        "--refetch", action="store_true", help="fetch days already stored again too"
    )
    backfill.add_argument(
        "--summaries", action="store_true", help="machine-written summaries (SUMMARY_*): off"
    )
    backfill.add_argument(
        "--api-base",
        metavar="URL",
        help=f"API base URL (default: $HF_API_BASE or {SourceSettings.api_base})",
    )
    rollup = commands.add_parser(
        "rollup", help="build a week's or a month's roll-up from the stored digests"
    )
    _add_output_options(rollup, argparse.SUPPRESS)
    period = rollup.add_mutually_exclusive_group(required=True)
    period.add_argument("--week", metavar="YYYY-Www", help="an ISO week, e.g. 2026-W31")
    period.add_argument("--month", metavar="YYYY-MM", help="a calendar month, e.g. 2026-07")
    _add_store_options(rollup)
    rollup.add_argument(
        "--lang", choices=LANGUAGES, help=f"post language (default: {PostSettings.lang})"
    )
    rollup.add_argument(
        "--top", metavar="N", help=f"papers to list (default: {PostSettings.rollup_top_n})"
    )
    rollup.add_argument("--template-dir", metavar="DIR", help="override the shipped templates")
    for name, help_text in (
        ("publish-github", "commit the stored posts into the blog repository (GITHUB_BLOG_*)"),
        ("notify", "tell the channels in NOTIFY_WEBHOOKS/NOTIFY_TOPIC_ARN of a stored day"),
    ):
        delivery = commands.add_parser(name, help=help_text)
        _add_output_options(delivery, argparse.SUPPRESS)
        _add_store_options(delivery)
        delivery.add_argument(
            "--date", metavar="D", help="YYYY-MM-DD (default: the last complete UTC day)"
        )
    return parser


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import requests

    from .pipeline import run_day
    from .schedule import scheduled_run
    from .settings import filter_settings, post_settings, source_settings
    from .source import DailyPapersClient
    from .summarizers import summary_step

    now = datetime.now(UTC)
    day = check_publishable(parse_day(args.date), now) if args.date else last_complete_day(now)
    settings = post_settings(
        os.environ,
        POST_LANG=args.lang,
        TOP_N=args.top,
        MIN_UPVOTES=args.min_upvotes,
        TEMPLATE_DIR=args.template_dir,
    )
    source = source_settings(os.environ, HF_API_BASE=args.api_base, REFRESH_DAYS=args.refresh)
    if args.date and args.refresh:
        raise ConfigError("--refresh goes with the scheduled day: leave out --date or --refresh")
    store, filters = _store(args), filter_settings(os.environ)
    with requests.Session() as session:
        client = DailyPapersClient(session, source.api_base, token=source.token)
        step = summary_step(os.environ, lang=settings.lang, template_dir=settings.template_dir)

        run = partial(
            run_day,
            source=client,
            store=store,
            settings=settings,
            now=now,
            filters=filters,
            summaries=step,
        )

        if args.date:  # a chosen day runs alone
            summary = run(day).summary()
        else:  # the scheduled run's: the days before again, and the roll-ups
            summary = scheduled_run(
                day,
                run,
                refresh_days=source.refresh_days,
                store=store,
                settings=settings,
                now=now,
            ).summary()
    return summary


def _backfill(args: argparse.Namespace) -> dict[str, Any]:
    """`backfill`: the days through the same run as `run`, within the rate, then one
    publish of the feeds (on a bucket, under the lease that keeps the feed function off
    the range meanwhile). The progress bar shows only on a terminal. Ctrl-C starts no
    more days: the days in flight finish and what was written is published."""
    import uuid
    from datetime import timedelta

    from .backfill import (
        Api,
        DayOutcome,
        LeaseKeeper,
        Tally,
        check_ready,
        days_between,
        publish_span,
        run_backfill,
    )
    from .publish import publish_days
    from .rollup_feed import publish_rollups
    from .rollups import scheduled_rollups
    from .settings import filter_settings, post_settings, source_settings
    from .settings.backfill import backfill_settings
    from .summarizers import summary_step

    now = datetime.now(UTC)
    last = check_publishable(parse_day(args.last), now) if args.last else last_complete_day(now)
    first = check_publishable(parse_day(args.first), now)
    if first > last:
        raise InvalidDayError(f"--from {first} is after --to {last}")
    settings = post_settings(os.environ)
    source = source_settings(os.environ, HF_API_BASE=args.api_base)
    options = backfill_settings(
        os.environ, BACKFILL_RATE=args.rate, BACKFILL_CONCURRENCY=args.concurrency
    )
    feeds = feed_settings(os.environ)
    store = _store(args)
    check_ready(store, os.environ, summaries=args.summaries, asked_by="--summaries")

    def summaries() -> Any:
        return summary_step(os.environ, lang=settings.lang, template_dir=settings.template_dir)

    keeper = None
    if isinstance(store, S3Store):  # a folder has no feed function to keep off
        owner = f"cli-{uuid.uuid4()}"
        keeper = LeaseKeeper(store, first, last, owner, length=timedelta(minutes=10),
                             now=lambda: datetime.now(UTC))  # fmt: skip
    total = len(days_between(first, last))
    counts = Tally()
    bar = _progress(total)
    stop = threading.Event()

    def on_day(outcome: DayOutcome, requests: int) -> None:
        counts.add(outcome)
        if bar is not None:
            bar.set_postfix({**counts.counts(), "requests": requests}, refresh=False)
            bar.update(1)

    try:
        with _interruptible(stop, bar, held=keeper is not None):
            hop = run_backfill(
                first,
                last,
                store=store,
                settings=settings,
                api=Api(source.api_base, source.token),
                options=options,
                keeper=keeper,
                refetch=args.refetch,
                filters=filter_settings(os.environ),
                summaries=summaries if args.summaries else None,
                on_day=on_day,
                stop=stop,
            )
            if hop is None:  # the CLI's own lease (a new owner) is never handed over
                raise DigestError("the backfill's lease was handed over; run it again")
            run, tally = hop.run, hop.tally
            span = publish_span(store, first, last, tally)
            published = publish_days(store, *span, feeds) if span else None
            rollups: list[
                dict[str, Any]
            ] = []  # a backfill stopped before its end builds none: its rerun does
            if run.next_day is None:
                days = days_between(first, last)
                rollups = scheduled_rollups(store, days, settings, datetime.now(UTC))
            if any(rollup["status"] in {"created", "updated"} for rollup in rollups):
                publish_rollups(store, feeds)
    finally:
        if bar is not None:
            bar.close()
        if keeper is not None:
            keeper.release()
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": total,
        "done": tally.done,
        **tally.to_json(),
        **run.stopped(),
        **({"interrupted": True} if stop.is_set() else {}),
        "feeds": published.summary() if published else None,
        "rollups": {rollup["period"]: rollup["status"] for rollup in rollups},
        "keys_written": [
            *(published.keys_written if published else ()),
            *(key for rollup in rollups for key in rollup.get("keys_written", ())),
        ],
    }


@contextlib.contextmanager
def _interruptible(stop: Any, bar: Any, *, held: bool) -> Iterator[None]:
    """Ctrl-C (SIGINT) sets `stop`, with one line saying so; a second one ends the
    process at once (exit 130, one line), leaving a bucket's lease to run out."""

    def interrupted(signum: int, frame: Any) -> None:
        if stop.is_set():
            lease = "; the lease on the bucket runs out within 10 minutes" if held else ""
            os.write(2, f"papers-digest: interrupted again: stopped at once{lease}; run "
                        "the same command again to continue\n".encode())  # fmt: skip
            os._exit(130)
        stop.set()
        line = (
            "papers-digest: interrupted: the days in flight finish (Ctrl-C again to stop at once)"
        )
        bar.write(line, file=sys.stderr) if bar is not None else print(line, file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress(total: int) -> Any:
    """A tqdm bar on stderr when it is a terminal (days done, the counts, the ETA)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="day", desc="backfill", file=sys.stderr, dynamic_ncols=True)


def _feed(args: argparse.Namespace) -> dict[str, Any]:
    from .publish import publish_day, publish_days
    from .rollup_feed import rebuild_all

    settings = feed_settings(os.environ, SITE_URL=args.site_url)
    store = _store(args)
    if args.first or args.last:
        if not (args.first and args.last) or args.date:
            raise ConfigError("--from and --to go together, without --date")
        first = check_publishable(parse_day(args.first), datetime.now(UTC))
        last = parse_day(args.last)
        if first > last:
            raise InvalidDayError(f"--from {first} is after --to {last}")
        return publish_days(store, first, last, settings).summary()
    if args.date:
        return publish_day(store, parse_day(args.date), settings).summary()
    return rebuild_all(store, settings).summary()


def _rollup(args: argparse.Namespace) -> dict[str, Any]:
    """Build the roll-up, then `rollups.xml` from the store's roll-ups (on a bucket the
    feed function does the same when the roll-up lands)."""
    from .rollup import Period, check_closed
    from .rollup_feed import publish_rollups
    from .rollups import build_rollup
    from .settings import post_settings

    flag, value = ("--week", args.week) if args.week is not None else ("--month", args.month)
    try:
        period = Period.parse(value, flag)
    except ValueError as exc:
        raise InvalidDayError(str(exc)) from None
    if (period.kind == "week") != (flag == "--week"):
        raise InvalidDayError(f"{flag} {value!r} is a {period.kind}; use --{period.kind}")
    now = datetime.now(UTC)
    settings = post_settings(
        os.environ, POST_LANG=args.lang, ROLLUP_TOP_N=args.top, TEMPLATE_DIR=args.template_dir
    )
    store = _store(args)
    result = build_rollup(store, check_closed(period, now), settings, now).summary()
    if result["status"] != "empty":
        result["feed"] = publish_rollups(store, feed_settings(os.environ)).summary()
    return result


def _publish_github(args: argparse.Namespace) -> dict[str, Any]:
    from .github import GitHubRepository, publish_posts
    from .settings import github_settings

    settings = github_settings(os.environ)
    if settings is None or not settings.token:
        raise ConfigError(
            "set GITHUB_BLOG_REPOSITORY (owner/name) and GITHUB_BLOG_TOKEN (a token with "
            "contents:write) to commit posts to GitHub"
        )
    until = parse_day(args.date) if args.date else last_complete_day(datetime.now(UTC))
    repository = GitHubRepository(settings, settings.token, "GITHUB_BLOG_TOKEN")
    result = publish_posts(_store(args), repository, until, settings.catch_up_days)
    return {"day": until.isoformat(), **result.summary()}


def _notify(args: argparse.Namespace) -> dict[str, Any]:
    from .notify import channels, notify_day
    from .settings import notify_settings
    from .stored import load_digest

    settings = notify_settings(os.environ)
    if not (settings.webhooks or settings.topic_arn):
        raise ConfigError("set NOTIFY_WEBHOOKS (kind=URL ...) or NOTIFY_TOPIC_ARN to notify")
    day = parse_day(args.date) if args.date else last_complete_day(datetime.now(UTC))
    store = _store(args)
    link = feed_settings(os.environ).day_url(day.isoformat())
    result = notify_day(store, load_digest(store, day), link, channels(settings))
    return {"day": day.isoformat(), **result.summary()}


def _count(number: int, noun: str) -> str:
    """`1 day`, `2 days`, `0 days`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _describe(command: str, result: dict[str, Any]) -> str:
    keys = ", ".join(result["keys_written"]) or "nothing"
    if command == "backfill":
        failed = "".join(
            f"\n  failed {entry['day']}: {entry['error']}" for entry in result["failed_days"]
        )
        more = result["failed"] - len(result["failed_days"])
        feeds = "feeds published once" if result["feeds"] else "feeds untouched (nothing new)"
        built = sum(status in {"created", "updated"} for status in result["rollups"].values())
        broken = [period for period, status in result["rollups"].items() if status == "failed"]
        return (
            f"backfill {result['from']}..{result['to']}: {_count(result['days'], 'day')}: "
            f"{result['written']} written, {result['unchanged']} unchanged, "
            f"{result['empty']} empty, {result['skipped']} skipped (already stored), "
            f"{result['failed']} failed; {result['requests']} API requests; {feeds}; "
            f"roll-ups: {built} of {len(result['rollups'])} written"
            + (f", failed: {', '.join(broken)}" if broken else "")
            + f"{failed}"
            + (f"\n  and {more} more failed" if more > 0 else "")
            + (
                f"\n  stopped: {result['stopped']}; once it answers, continue with "
                f"--from {result['continue_from']}"
                if "stopped" in result
                else ""
            )
        )
    if command == "run":
        made = result.get("summaries")
        summaries = (
            f"; summaries: {made['written']} written, {made['reused']} reused, "
            f"{made['missing']} missing"
            if made
            else ""
        )
        refreshed = result.get("refresh") or {}
        lines = [f"refreshed {d}: {status}" for d, status in refreshed.get("refreshed", {}).items()]
        lines += [f"could not refresh {d}: {why}" for d, why in refreshed.get("failed", {}).items()]
        lines += [
            f"roll-up {rollup['period']}: {rollup['status']}"
            for rollup in result.get("rollups", [])
            if rollup["status"] != "unchanged"
        ]
        again = "".join(f"\n  {line}" for line in lines)
        return (
            f"{result['day']}: {result['status']} ({result['papers']} of "
            f"{result['papers_that_day']} papers listed){summaries}; wrote {keys}{again}"
        )
    if command == "rollup":
        keys += ", rollups.xml" if "feed" in result else ""
        notes = "".join(f"\n  note: {note}" for note in result["notes"])
        return (
            f"{result['period']}: {result['status']} ({_count(result['papers'], 'paper')} "
            f"from {_count(result['days_read'], 'day')}); wrote {keys}{notes}"
        )
    if command == "publish-github":
        files = ", ".join(result["files"]) or "nothing"
        return f"{result['day']}: GitHub {result['github']} at {result['commit'][:12]}; {files}"
    if command == "notify":
        told = ", ".join(result["notified"]) or "nobody new"
        return f"{result['day']}: notified {told}"
    what = f"feeds {result['status']}" + (f" for {result['day']}" if result["day"] else "")
    notes = "".join(f"\n  note: {note}" for note in result["notes"])
    return f"{what}; wrote {keys}{notes}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; an error is one line on stderr (exit 2 for a bad setting or
    day, 1 for anything else), with the traceback before it under --debug."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("PAPERS_DIGEST_DEBUG", "") not in {"", "0"}
    logging.basicConfig(level=logging.WARNING, format="papers-digest: warning: %(message)s")
    try:
        commands = {
            "run": _run,
            "backfill": _backfill,
            "rollup": _rollup,
            "publish-github": _publish_github,
            "notify": _notify,
        }
        result = commands.get(args.command, _feed)(args)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, InvalidDayError | InvalidEventError | ConfigError):
            parser.exit(2, f"papers-digest: error: {exc}\n")
        if isinstance(exc, DigestError):
            parser.exit(1, f"papers-digest: error: {exc}\n")
        # Not a message we wrote: it may span lines or quote a header with the token.
        hint = "" if debug else "; run again with --debug to see the traceback"
        parser.exit(1, f"papers-digest: error: unexpected {type(exc).__name__}{hint}\n")
    print(json.dumps(result, ensure_ascii=False) if args.json else _describe(args.command, result))
    if args.command == "backfill" and result.get("interrupted"):
        print(f"papers-digest: interrupted after {result['done']} of "
              f"{_count(result['days'], 'day')}; run the same command again to continue",
              file=sys.stderr)  # fmt: skip
        return 130
    if args.command == "backfill":  # a failed day or roll-up, or a dead API: the summary says
        return int(bool(result["failed"]) or "failed" in result["rollups"].values()
                   or "stopped" in result)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
