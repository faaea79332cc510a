"""Cold start: each handler's import against its libraries' own, whole cold invocations
from the `sam build` bundle with and without the bytecode it ships, and its size."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.measure import BUCKET, ROOT, Row, alternate, fresh_bucket

BUILD = ROOT / ".aws-sam" / "build"
LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"  # python3.12 + boto3, as the runtime
HANDLERS = {"DigestFunction": "papers_digest.digest_handler",
            "FeedFunction": "papers_digest.feed_handler"}  # fmt: skip
DAY = "2026-07-31"  # a day the replay server holds
INVOKE = """
import time
started = time.perf_counter()
import json, sys
from {module} import lambda_handler
imported = time.perf_counter() - started

class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self):
        return 300_000

result = lambda_handler(json.loads(sys.argv[1]), Context())
print(json.dumps({{"import_seconds": imported, "result": result}}, default=str))
"""
NOT_BUILT = "run `bash infra/check-template` first (sam build, and .venv-lambda)"


def import_seconds(statement: str) -> float:
    """Wall time of `statement` in a fresh interpreter, measured inside it."""
    code = f"import time; t = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "B"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=env)  # fmt: skip
    return float(done.stdout.strip())


def our_slowest_imports(module: str, count: int = 3) -> str:
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "B"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True, env=env)  # fmt: skip
    own = []
    for line in done.stderr.splitlines():
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2].startswith("papers_digest"):
            own.append((int(parts[0]), parts[2]))
    own.sort(reverse=True)
    return ", ".join(f"{name} {micros / 1000:.1f} ms" for micros, name in own[:count])


def cold_start(rounds: int) -> list[Row]:
    boto3_floor = "import boto3"
    digest_libs = ("import boto3, requests, jinja2\n"
                   "from aws_lambda_powertools import Logger, Metrics")  # fmt: skip
    feed_libs = "import boto3, jinja2\nfrom aws_lambda_powertools import Logger, Metrics"
    jobs = {
        "boto3": lambda: import_seconds(boto3_floor),
        "digest libs": lambda: import_seconds(digest_libs),
        "digest handler": lambda: import_seconds(
            "import boto3\nimport papers_digest.digest_handler"
        ),
        "feed libs": lambda: import_seconds(feed_libs),
        "feed handler": lambda: import_seconds("import boto3\nimport papers_digest.feed_handler"),
    }
    t = alternate(jobs, rounds)
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    return [
        Row("Digest handler import (fresh interpreter, + boto3)", ms(t["digest handler"]),
            f"its libraries alone: {ms(t['digest libs'])}",
            f"{t['digest handler'] / t['digest libs']:.2f}x",
            "goal ≤ 1.3x; ours: " + our_slowest_imports("papers_digest.digest_handler")),
        Row("Feed handler import (fresh interpreter, + boto3)", ms(t["feed handler"]),
            f"its libraries alone: {ms(t['feed libs'])}",
            f"{t['feed handler'] / t['feed libs']:.2f}x",
            "goal ≤ 1.3x; no requests on this path (Jinja2 renders the site); ours: "
            + our_slowest_imports("papers_digest.feed_handler")),
        Row("boto3 alone (what the runtime pays anyway)", ms(t["boto3"]), "-", "-", ""),
    ]  # fmt: skip


@contextmanager
def read_only_copies() -> Iterator[dict[str, Path]]:
    """Each function's bundle as built, and again without its bytecode; all read-only."""
    with TemporaryDirectory(prefix="bench-bundle-") as folder:
        copies = {}
        for function in HANDLERS:
            for kind, ignore in (("compiled", None), ("source", "__pycache__")):
                copy = Path(folder) / kind / function
                patterns = shutil.ignore_patterns(ignore) if ignore else None
                shutil.copytree(BUILD / function, copy, ignore=patterns)
                copies[f"{function} {kind}"] = copy
        subprocess.run(["chmod", "-R", "a-w", folder], check=True)
        try:
            yield copies
        finally:
            subprocess.run(["chmod", "-R", "u+w", folder], check=True)


def invoke(bundle: Path, function: str, event: dict[str, Any], api: str) -> tuple[float, Any]:
    """Wall time of a fresh python3.12 importing the handler from `bundle` and invoking it
    once, as Lambda does (code folder read-only, `-B`: nothing written), and what it
    printed: the import's own time and the handler's result."""
    passed = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
              "AWS_ENDPOINT_URL_S3")  # fmt: skip
    env = {name: os.environ[name] for name in passed} | {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(bundle), "DIGEST_BUCKET": BUCKET,
        "HF_API_BASE": api, "SITE_URL": "https://papers.example.com",
        "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    }  # fmt: skip
    command = [str(LAMBDA_PYTHON), "-B", "-c", INVOKE.format(module=HANDLERS[function]),
               json.dumps(event)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=bundle, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{function} from {bundle} failed: {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout.splitlines()[-1])


def cold_invocations(rounds: int) -> list[Row]:
    """Each handler's whole cold invocation from the bundle, against the same bundle with
    its bytecode removed, interleaved; each starts from the same bucket."""
    if not (BUILD / "DigestFunction").is_dir() or not LAMBDA_PYTHON.is_file():
        return [Row("Cold invocation from the bundle", "not built", "-", "-", NOT_BUILT)]
    import boto3

    from tools.replay_server import ReplayServer, load_days

    s3 = boto3.client("s3")
    feed_event = json.loads((ROOT / "infra/events/feed-object-created.json").read_text("utf-8"))
    feed_event["detail"]["bucket"]["name"] = BUCKET
    key = feed_event["detail"]["object"]["key"]
    assert key == f"digests/{DAY}.json", key
    with ReplayServer(load_days(ROOT / "tests/fixtures/hf-api")) as replay, \
            read_only_copies() as copies:  # fmt: skip

        def digest(bundle: Path) -> float:
            fresh_bucket()
            seconds, out = invoke(bundle, "DigestFunction", {"date": DAY}, replay.url)
            assert out["result"]["status"] == "created", out
            imports[bundle].append(out["import_seconds"])
            return seconds

        imports: dict[Path, list[float]] = {bundle: [] for bundle in copies.values()}
        digest(copies["DigestFunction compiled"])  # the digest the feed function reads
        imports[copies["DigestFunction compiled"]].clear()
        landed = s3.get_object(Bucket=BUCKET, Key=key)
        body, content_type = landed["Body"].read(), landed["ContentType"]

        def feed(bundle: Path) -> float:
            fresh_bucket()
            s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)
            seconds, out = invoke(bundle, "FeedFunction", feed_event, replay.url)
            assert out["result"]["status"] in ("published", "rebuilt"), out
            imports[bundle].append(out["import_seconds"])
            return seconds

        runs: dict[str, Callable[[Path], float]] = {"DigestFunction": digest,
                                                    "FeedFunction": feed}  # fmt: skip
        jobs = {name: partial(runs[name.split()[0]], bundle) for name, bundle in copies.items()}
        t = alternate(jobs, rounds)
        written = [f for f in HANDLERS if any(copies[f"{f} source"].rglob("*.pyc"))]
        assert not written, f"a run wrote bytecode into {written}"
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    imported = {name: statistics.median(imports[bundle]) for name, bundle in copies.items()}
    notes = {
        "DigestFunction": "goal ≤ 0.7x; one day from the replay API, post and digest "
        "written to S3 (moto over HTTP)",
        "FeedFunction": "the first publish of a day: index, feeds and page written",
    }
    how = {f: f"fresh python3.12, read-only code folder, -B; the import alone: "
              f"{ms(imported[f'{f} compiled'])} against {ms(imported[f'{f} source'])}; "
           for f in HANDLERS}  # fmt: skip
    return [Row(
        f"{function} cold invocation from the bundle (import + one event)",
        ms(t[f"{function} compiled"]),
        f"the same bundle without its bytecode: {ms(t[f'{function} source'])}",
        f"{t[f'{function} compiled'] / t[f'{function} source']:.2f}x",
        how[function] + notes[function],
    ) for function in HANDLERS]  # fmt: skip


def shipped_bytecode(path: Path) -> bool:
    """Compiled by the build: the runtime's Python, hash-based and unchecked (PEP 552)."""
    flags = int.from_bytes(path.read_bytes()[4:8], "little")
    return path.name.endswith(".cpython-312.pyc") and flags == 0b01


def package_size() -> list[Row]:
    if not (BUILD / "DigestFunction").is_dir():
        return [Row("Deployed package (sam build)", "not built", "-", "-", NOT_BUILT)]
    rows = []
    for function in HANDLERS:
        folder = BUILD / function
        files = [path for path in folder.rglob("*") if path.is_file()]
        total = sum(path.stat().st_size for path in files)
        ours = sum(p.stat().st_size for p in files if p.is_relative_to(folder / "papers_digest"))
        bytecode = [path for path in files if path.suffix == ".pyc"]
        clean = all(shipped_bytecode(path) for path in bytecode)
        libraries = [name for name in ("boto3", "requests", "jinja2") if (folder / name).is_dir()]
        rows.append(Row(
            f"{function} package (unzipped, sam build)", f"{total / 1e6:.1f} MB",
            "Lambda's limit: 250 MB", f"{total / 250e6:.3f}x",
            f"our code {ours / 1e3:.0f} kB; bytecode "
            f"{sum(p.stat().st_size for p in bytecode) / 1e6:.1f} MB"
            + (", only what the build ships" if clean else ", NOT a clean build: rebuild")
            + f"; of boto3, requests, Jinja2: {', '.join(libraries) or 'none'} bundled",
        ))  # fmt: skip
    return rows
