"""The requirements the tests cite: the user requirements of docs/requirements/ and the protocol
rules of docs/protocol-rules.md, each by its ID."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
USER_REQUIREMENTS = ROOT / "docs" / "requirements" / "user-requirements.yaml"
PROTOCOL_RULES = ROOT / "docs" / "protocol-rules.md"
RISKS = ("high", "medium", "low")

# A rule ID as the rules document writes it: a family of 2-3 capitals, then parts of capitals and
# digits ("BD-1", "TX-HEP", "AL-W11-NGS"); defined by a heading that starts with it, or a table
# row whose first cell it is.
RULE_ID = r"[A-Z]{2,3}-[A-Z0-9]+(?:-[A-Z0-9]+)*"
RULE_DEFINITION = re.compile(
    rf"^(?:#+\s+({RULE_ID})\b(.*)$|\|\s*({RULE_ID})\s*\|([^|]*)\|)", re.MULTILINE
)
USER_ID = re.compile(r"^UR-[A-Z]{2,4}-\d{2}$")


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    text: str
    risk: str
    role: str = ""


def rule_definitions(text: str) -> list[tuple[str, str]]:
    """(rule ID, the rest of its heading or its table row's second cell), in document order."""
    found = []
    for heading_id, heading, row_id, cell in RULE_DEFINITION.findall(text):
        found.append((heading_id or row_id, (heading or cell).strip(" .:—-")))
    return found


def protocol_rules(path: Path = PROTOCOL_RULES) -> list[Requirement]:
    return [
        Requirement(rule, "Protocol rules", title or rule, "high", "protocol")
        for rule, title in rule_definitions(path.read_text(encoding="utf-8"))
    ]


def user_requirements(path: Path = USER_REQUIREMENTS) -> list[Requirement]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    requirements = []
    for entry in entries:
        requirement = Requirement(
            id=str(entry["id"]),
            area=str(entry["area"]),
            text=" ".join(str(entry["text"]).split()),
            risk=str(entry["risk"]),
            role=str(entry.get("role", "")),
        )
        if not USER_ID.match(requirement.id):
            raise ValueError(f"{path.name}: {requirement.id!r} is not an ID like UR-ACC-01")
        if requirement.risk not in RISKS:
            raise ValueError(f"{path.name}: {requirement.id}: risk must be one of {RISKS}")
        requirements.append(requirement)
    return requirements


def all_requirements(
    user_path: Path = USER_REQUIREMENTS, rules_path: Path = PROTOCOL_RULES
) -> dict[str, Requirement]:
    """Every requirement by ID; an ID defined twice is an error."""
    out: dict[str, Requirement] = {}
    for requirement in [*user_requirements(user_path), *protocol_rules(rules_path)]:
        if requirement.id in out:
            raise ValueError(f"requirement {requirement.id} is defined twice")
        out[requirement.id] = requirement
    return out
