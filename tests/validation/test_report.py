"""make validate's report: every requirement with its tests and results (failures first), the
installation checks, the regulatory map, as HTML and PDF, with a content SHA-256 that depends
on the commit and the results, not on the time."""

import datetime
import json

import pytest

from validation import report
from validation.installation import Check
from validation.requirements import all_requirements

pytestmark = pytest.mark.verifies("UR-OPS-01")

RUN = {
    "tests/x/test_a.py::test_one": ["UR-ACC-01", "TX-HEP"],
    "tests/x/test_a.py::TestGroup::test_two[case-1]": ["UR-ACC-01"],
    "tests/x/test_b.py::test_three": ["UR-MRD-01"],
}
JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.x.test_a" name="test_one" time="0.1"/>
<testcase classname="tests.x.test_a.TestGroup" name="test_two[case-1]" time="0.2">
<failure message="boom">AssertionError</failure></testcase>
<testcase classname="tests.x.test_b" name="test_three" time="0.3"/>
</testsuite></testsuites>"""


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    (tmp_path / "trace.json").write_text(json.dumps(RUN))
    (tmp_path / "junit.xml").write_text(JUNIT)
    checks = [Check("Python", True, "3.11"), Check("Migrations", False, "1 not applied", [("x",)])]
    monkeypatch.setattr(report, "installation_checks", lambda: checks)
    return tmp_path


def test_each_requirement_with_its_tests_failures_first(run_dir):
    results, totals = report.operational_results(run_dir)
    assert totals == {"passed": 2, "failed": 1}
    by_id = {r.requirement.id: r for r in results}
    assert by_id["UR-ACC-01"].status == "FAILED"
    assert by_id["TX-HEP"].status == "verified"
    assert by_id["UR-MRD-01"].tests == [("tests/x/test_b.py::test_three", "passed")]
    assert by_id["UR-REP-01"].status == "NO TEST"
    assert results[0].status != "verified"
    assert [r.status for r in results].index("verified") > 0
    high_first = [r.requirement.risk for r in results if r.status == "NO TEST"]
    assert high_first == sorted(high_first, key=report.RISK_ORDER.get)


def test_the_report_is_written_as_html_and_pdf_with_a_stable_content_hash(run_dir):
    content, sha = report.report_write(run_dir, datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    page = (run_dir / "report.html").read_text()
    assert "Installation qualification: FAILED" in page and "1 not applied" in page
    assert "tests/x/test_a.py::TestGroup::test_two[case-1]: failed" in page
    assert "11.10(e)" in page and "EU GMP Annex 11" in page
    assert sha in page and (run_dir / "content.sha256").read_text().startswith(sha)
    assert (run_dir / "report.pdf").read_bytes().startswith(b"%PDF-")
    later = datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC)
    _, again = report.report_write(run_dir, later)
    assert again == sha  # another time, the same content
    assert "2027-06-01" in (run_dir / "report.html").read_text()
    (run_dir / "junit.xml").write_text(
        JUNIT.replace('<failure message="boom">AssertionError</failure>', "")
    )
    _, fixed = report.report_write(run_dir, later)
    assert fixed != sha  # other results, another hash


def test_the_regulatory_map_names_only_known_requirements():
    known = set(all_requirements())
    mapping = report.regulatory_map()
    clauses = {(m["framework"], m["clause"]) for m in mapping}
    for clause in ("11.10(a)", "11.10(k)", "11.50", "11.70", "11.100", "11.200", "11.300"):
        assert ("21 CFR Part 11", clause) in clauses
    assert {"4.2", "4.3"} <= {m["clause"] for m in mapping if m["framework"] == "ICH E6(R3)"}
    for entry in mapping:
        assert set(entry["met_by"]) <= known, entry
        assert entry["met_by"] or entry["sponsor"], entry
