"""The validation report of one run: installation qualification, operational qualification
(every requirement with its tests and their results), the regulatory map, as HTML and PDF, with
a SHA-256 of the content (the same commit and results give the same content; only the times
differ).

    python -m validation.report DIR    (DIR holds the run's junit.xml and trace.json)
"""

from __future__ import annotations

import hashlib
import html
import json
import sys
import xml.etree.ElementTree as ElementTree  # noqa: S405 - parses the suite's own JUnit file
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from .installation import Check, installation_checks
from .requirements import ROOT, Requirement, all_requirements
from .trace import trace

REGULATORY_MAP = ROOT / "docs" / "requirements" / "regulatory-map.yaml"
RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


def regulatory_map(path: Path = REGULATORY_MAP) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def _node_key(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest's JUnit file writes a test node ID."""
    path, _, rest = nodeid.partition("::")
    parts = rest.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[:-1]]), parts[-1]


def junit_outcomes(path: Path) -> dict[tuple[str, str], str]:
    """(classname, name) -> passed, failed, error or skipped."""
    outcomes = {}
    for case in ElementTree.parse(path).iter("testcase"):  # noqa: S314 - our own file
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        outcomes[case.get("classname", ""), case.get("name", "")] = outcome
    return outcomes


@dataclass
class RequirementResult:
    requirement: Requirement
    tests: list[tuple[str, str]]  # (node ID, outcome)

    @property
    def status(self) -> str:
        outcomes = {outcome for _, outcome in self.tests}
        if not self.tests:
            return "NO TEST"
        if outcomes & {"failed", "error"}:
            return "FAILED"
        if outcomes <= {"skipped", "not run"}:
            return "NOT RUN"
        return "verified"


def operational_results(run_dir: Path) -> tuple[list[RequirementResult], dict[str, int]]:
    requirements = all_requirements()
    cited = json.loads((run_dir / "trace.json").read_text(encoding="utf-8"))
    outcomes = junit_outcomes(run_dir / "junit.xml")
    result_of = {node: outcomes.get(_node_key(node), "not run") for node in cited}
    traced = trace(requirements, [(node, set(ids)) for node, ids in cited.items()])
    results = [
        RequirementResult(requirement, [(t, result_of[t]) for t in traced.tests_of[rid]])
        for rid, requirement in requirements.items()
    ]
    results.sort(
        key=lambda r: (r.status == "verified", RISK_ORDER[r.requirement.risk], r.requirement.id)
    )
    totals: dict[str, int] = {}
    for outcome in result_of.values():
        totals[outcome] = totals.get(outcome, 0) + 1
    return results, totals


def report_content(checks: list[Check], results: list[RequirementResult], totals, mapping):
    """Everything the report says, without times: the SHA-256 is taken of this."""
    return {
        "installation": [asdict(c) for c in checks],
        "requirements": [
            {**asdict(r.requirement), "status": r.status, "tests": r.tests} for r in results
        ],
        "tests": dict(sorted(totals.items())),
        "regulatory_map": mapping,
    }


def content_sha256(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return (
        f'<table border="1" width="100%"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def report_html(content: dict, sha256: str, written_at: datetime) -> str:
    """Plain HTML (headings, paragraphs, tables): the same page is the PDF's source."""
    parts = [
        "<h1>BlinaCell eCRF: validation report</h1>",
        f"<p>Written {written_at:%Y-%m-%d %H:%M} UTC. Content SHA-256: {sha256}</p>",
    ]
    failed = [r for r in content["requirements"] if r["status"] != "verified"]
    totals = ", ".join(f"{count} {outcome}" for outcome, count in content["tests"].items())
    iq_ok = all(check["ok"] for check in content["installation"])
    parts.append(
        f"<p>Installation qualification: {'passed' if iq_ok else 'FAILED'}. Operational "
        f"qualification: {len(content['requirements']) - len(failed)} of "
        f"{len(content['requirements'])} requirements verified; tests: {totals}.</p>"
    )
    parts.append("<h2>1. Installation qualification</h2>")
    parts.append(
        _table(
            ["Check", "Result", "Summary"],
            [
                [c["name"], "pass" if c["ok"] else "FAIL", c["summary"]]
                for c in content["installation"]
            ],
        )
    )
    for check in content["installation"]:
        if check["rows"] and (not check["ok"] or check["name"].startswith("Installed")):
            parts.append(f"<h3>{html.escape(check['name'])}</h3>")
            width = max(len(row) for row in check["rows"])
            header = (
                ["Package", "Pinned", "Installed", "Result"]
                if check["name"].startswith("Installed")
                else [f"Detail {n + 1}" for n in range(width)]
            )
            parts.append(_table(header, [list(row) for row in check["rows"]]))
    parts.append("<h2>2. Operational qualification</h2>")
    parts.append(
        "<p>Each requirement with the tests that verify it; requirements not verified first, "
        "then by risk (high first).</p>"
    )
    parts.append(
        _table(
            ["ID", "Risk", "Area", "Requirement", "Result", "Tests"],
            [
                [
                    r["id"],
                    r["risk"],
                    r["area"],
                    r["text"],
                    r["status"],
                    f"{sum(o == 'passed' for _, o in r['tests'])}/{len(r['tests'])} passed",
                ]
                for r in content["requirements"]
            ],
        )  # fmt: skip
    )
    not_passed = [
        (r["id"], test, outcome)
        for r in content["requirements"]
        for test, outcome in r["tests"]
        if outcome != "passed"
    ]
    if not_passed:
        parts.append("<h3>Tests that did not pass</h3>")
        parts.append(_table(["Requirement", "Test", "Outcome"], [list(x) for x in not_passed]))
    parts.append("<h3>Tests of each requirement</h3>")
    for r in content["requirements"]:
        parts.append(f"<p><b>{html.escape(r['id'])}</b> ({r['status']})</p>")
        parts.append(
            "<ul>" + "".join(f"<li>{html.escape(t)}: {o}</li>" for t, o in r["tests"]) + "</ul>"
        )
    parts.append("<h2>3. Regulatory map</h2>")
    parts.append(
        _table(
            ["Framework", "Clause", "Title", "Met by", "How", "Left to the sponsor"],
            [
                [
                    m["framework"],
                    m["clause"],
                    m["title"],
                    ", ".join(m["met_by"]) or "-",
                    m["how"] or "-",
                    m["sponsor"] or "-",
                ]
                for m in content["regulatory_map"]
            ],
        )  # fmt: skip
    )
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Validation report</title></head><body>{body}</body></html>\n"
    )


def report_pdf(page: str, path: Path) -> None:
    """The HTML page as PDF (fpdf2), in DejaVu Sans (shipped with matplotlib) for any text."""
    import matplotlib
    from fpdf import FPDF

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))  # the content hash ignores it anyway
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVu", "I", str(fonts / "DejaVuSans-Oblique.ttf"))
    pdf.add_font("DejaVu", "BI", str(fonts / "DejaVuSans-BoldOblique.ttf"))
    pdf.set_font("DejaVu", size=8)
    pdf.add_page()
    body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    pdf.write_html(body, font_family="DejaVu")
    pdf.output(str(path))


def report_write(run_dir: Path, written_at: datetime | None = None) -> tuple[dict, str]:
    """Write report.html, report.pdf, content.json and content.sha256 into run_dir."""
    written_at = written_at or datetime.now(UTC)
    results, totals = operational_results(run_dir)
    content = report_content(installation_checks(), results, totals, regulatory_map())
    sha256 = content_sha256(content)
    (run_dir / "content.json").write_text(
        json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8"
    )
    (run_dir / "content.sha256").write_text(f"{sha256}  content.json\n", encoding="utf-8")
    page = report_html(content, sha256, written_at)
    (run_dir / "report.html").write_text(page, encoding="utf-8")
    report_pdf(page, run_dir / "report.pdf")
    return content, sha256


def main(argv: list[str]) -> int:
    import os

    import django

    from blinacell_site.launcher import run_environment

    # The installation as `make run` serves it (DEBUG off, this machine's secret key unless
    # SECRET_KEY is set): its database, broker and migrations are what is qualified.
    os.environ.update(run_environment(os.environ))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blinacell_site.settings")
    django.setup()
    run_dir = Path(argv[0] if argv else "validation-report")
    content, sha256 = report_write(run_dir)
    failed = [r["id"] for r in content["requirements"] if r["status"] != "verified"]
    iq_failed = [c["name"] for c in content["installation"] if not c["ok"]]
    print(f"Validation report: {run_dir / 'report.html'} and report.pdf (content {sha256})")
    if iq_failed:
        print(f"Installation qualification FAILED: {', '.join(iq_failed)}")
    if failed:
        print(f"Requirements not verified: {', '.join(failed)}")
    return 1 if failed or iq_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
