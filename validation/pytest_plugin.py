"""The `verifies` marker, and `--trace-check`: after collecting, fail unless every requirement
has a test and every test cites known requirements (make test runs it before the suite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .requirements import PROTOCOL_RULES, USER_REQUIREMENTS, all_requirements
from .trace import trace

MARKER = "verifies"


def pytest_addoption(parser):
    group = parser.getgroup("traceability")
    group.addoption(
        "--trace-check",
        action="store_true",
        help="after collection, check the tests against docs/requirements and the protocol rules",
    )
    group.addoption(
        "--trace-json", default=None, help="write {test node ID: [requirement IDs]} to this file"
    )
    group.addoption("--requirements-file", default=str(USER_REQUIREMENTS), help="user requirements")
    group.addoption("--protocol-rules-file", default=str(PROTOCOL_RULES), help="protocol rules")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{MARKER}(*ids): the requirements (UR-..., protocol rule IDs) a test verifies"
    )


def cited_ids(item) -> set[str]:
    return {str(rid) for mark in item.iter_markers(MARKER) for rid in mark.args}


def pytest_collection_finish(session):
    config = session.config
    check, out = config.getoption("--trace-check"), config.getoption("--trace-json")
    if not (check or out):
        return
    cited = [(item.nodeid, cited_ids(item)) for item in session.items]
    # Under xdist every process collects the whole suite: the first one writes the file.
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    if out and worker == "gw0":
        with open(out, "w", encoding="utf-8") as handle:
            json.dump({test: sorted(ids) for test, ids in cited}, handle, indent=1)
    if check:
        requirements = all_requirements(
            Path(config.getoption("--requirements-file")),
            Path(config.getoption("--protocol-rules-file")),
        )
        problems = trace(requirements, cited).problems()
        if problems:
            shown = "\n  ".join(problems[:200])
            more = f"\n  ... and {len(problems) - 200} more" if len(problems) > 200 else ""
            pytest.exit(f"Traceability check failed:\n  {shown}{more}", returncode=1)
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"Traceability: {len(cited)} tests trace to every requirement."
        )
