"""docs/protocol-rules.md defines every rule ID the code cites, and every alert of the registry."""

import re
from pathlib import Path

import pytest

from protocol.rules import ALERT_RULES
from validation.requirements import RULE_ID as RULE_ID_PATTERN
from validation.requirements import rule_definitions

pytestmark = pytest.mark.verifies("UR-ALR-01")

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "protocol-rules.md"
# Where the rules are cited: the app packages and the templates.
CITING = (
    "accounts",
    "alerts",
    "audit",
    "blinacell_site",
    "crf",
    "exports",
    "monitoring",
    "mrd",
    "protocol",
    "safety",
)
TEMPLATES = ROOT / "templates"
# A rule ID as the code writes it: a family of 2-3 capitals, then parts of capitals and digits
# ("BD-1", "TX-HEP", "AL-W11-NGS").
ID = RULE_ID_PATTERN
ANY_ID = re.compile(rf"(?<![\w-]){ID}(?![\w-])")
# The families of the protocol's rules; other words of that shape ("VP-16", "SHA-256") are not
# rule IDs unless a line cites the rules document with them.
RULE_ID = re.compile(r"(?<![\w-])(?:AL|BD|BL|TX|MR|SA)-[A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])")
CITATION = re.compile(r"RULES\.md|protocol-rules|rules §")


def _defined() -> set[str]:
    text = DOCUMENT.read_text(encoding="utf-8")
    return {rule for rule, _ in rule_definitions(text)}


def _cited() -> dict[str, set[str]]:
    """Rule ID -> the files citing it."""
    files = [path for package in CITING for path in (ROOT / package).rglob("*.py")]
    files += [path for path in TEMPLATES.rglob("*") if path.suffix in {".html", ".txt"}]
    cited: dict[str, set[str]] = {}
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            ids = set(RULE_ID.findall(line))
            if CITATION.search(line):
                ids |= set(ANY_ID.findall(line))
            for rule in ids:
                cited.setdefault(rule, set()).add(str(path.relative_to(ROOT)))
    return cited


def test_the_document_defines_each_id_once():
    text = DOCUMENT.read_text(encoding="utf-8")
    definitions = [rule for rule, _ in rule_definitions(text)]
    assert len(definitions) == len(set(definitions))


def test_every_rule_id_the_code_cites_is_defined():
    cited = _cited()
    missing = {rule: sorted(files) for rule, files in cited.items() if rule not in _defined()}
    assert not missing, f"cited but not defined in docs/protocol-rules.md: {missing}"
    assert {"BD-1", "BL-4", "TX-HEP", "MR-4", "SA-1", "AL-DOSE"} <= set(cited)  # the scan works


@pytest.mark.parametrize("alert", list(ALERT_RULES.values()), ids=list(ALERT_RULES))
def test_every_alert_of_the_registry_is_in_the_document(alert):
    defined = _defined()
    assert alert.id in defined
    assert set(alert.implements) <= defined


def test_the_alert_table_agrees_with_the_registry():
    """Section 9 lists the alerts in the registry's order, with their severity and rules."""
    text = DOCUMENT.read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] in ALERT_RULES:
            rows[cells[0]] = cells
    assert list(rows) == list(ALERT_RULES)
    for rule, alert in ALERT_RULES.items():
        _, _, implements, severity, *_ = rows[rule]
        assert severity == alert.severity.value, rule
        assert set(RULE_ID.findall(implements)) == set(alert.implements), rule


def test_the_document_stands_on_its_own():
    text = DOCUMENT.read_text(encoding="utf-8")
    assert "RULES" + ".md" not in text and "../shared" not in text and "/shared/" not in text
    for section, title in enumerate(
        [
            "Study days and schedule",
            "Dosing",
            "Blinatumomab in Induction I",
            "Toxicity during the infusion",
            "CTCAE v5.0 grading of laboratory values",
            "CRS and ICANS",
            "MRD",
            "Serious adverse events",
            "Alerts",
        ],
        start=1,
    ):
        assert re.search(rf"^## {section}\. {re.escape(title)}", text, re.MULTILINE), section
