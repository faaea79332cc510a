"""The fault-injection suite's bookkeeping.

Each case is marked `@pytest.mark.fault(kind, outcome)`: the fault class and the outcome
it must show, `recovered` (a complete, correct result), `refused` (a clear one-line error,
nothing written), `no-op` (nothing to do, nothing written) or `holds` (an invariant).
A case that uses the `ledger` fixture (tests/conftest.py) adds the objects it compared
and those lost or corrupted to the report. With
RELIABILITY_REPORT=path set, the results are written there as JSON for
`python -m tests.reliability.report`, which puts the table in the README.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

KINDS = {
    "source": "The source (HF API)",
    "store": "The store (S3)",
    "events": "Events",
    "content": "Content",
    "concurrency": "Concurrency",
    "model": "The summarizer (LLM)",
    "property": "Property tests (Hypothesis)",
}
OUTCOMES = ("recovered", "refused", "no-op", "holds")
_results: dict[str, Any] = {"cases": [], "objects_checked": 0, "objects_lost_or_corrupted": 0}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fault(kind, outcome): a fault-injection case")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "reliability" not in item.nodeid:
            continue
        marker = item.get_closest_marker("fault")
        assert marker is not None, f"{item.nodeid} has no fault marker"
        kind, outcome = marker.args
        assert kind in KINDS, marker.args
        assert outcome in OUTCOMES, marker.args


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    marker = item.get_closest_marker("fault")
    setup_failed = report.when == "setup" and not report.passed
    if marker is not None and (report.when == "call" or setup_failed):
        kind, outcome = marker.args
        _results["cases"].append(
            {"id": item.nodeid, "kind": kind, "outcome": outcome, "passed": report.passed}
        )
        ledger = getattr(item, "funcargs", {}).get("ledger")
        if ledger is not None:
            _results["objects_checked"] += ledger.checked
            _results["objects_lost_or_corrupted"] += ledger.damaged
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("RELIABILITY_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_results, handle, indent=1)
