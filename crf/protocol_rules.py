"""The protocol's rules as the app's protocol page lists them: every section and rule ID of
docs/protocol-rules.md (the project's own statement of the rules), each with an anchor, so that
an alert can cite "Protocol rule TX-HEP" and link to it. Also how a stored protocol reference
("TX-HEP, AL-HEP", "MR-3, §1 visit windows, AL-W11-MISSING") reads, in those words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.urls import reverse

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "protocol-rules.md"
# A rule ID ("BD-1", "TX-HEP", "AL-W11-NGS") of the protocol's families.
RULE_ID = re.compile(r"(?<![\w-])(?:AL|BD|BL|TX|MR|SA)-[A-Z0-9]+(?:-[A-Z0-9]+)*(?![\w-])")
_SECTION = re.compile(r"^## (\d+)\. (.+)$")
_HEADING = re.compile(r"^#{3,} ((?:AL|BD|BL|TX|MR|SA)-[A-Z0-9-]+): (.+)$")
_ROW = re.compile(r"^\|\s*((?:AL|BD|BL|TX|MR|SA)-[A-Z0-9-]+)\s*\|\s*([^|]+)\|")
# A section cited by number: "§1 visit windows", "rules §6", or an older "<document> 4 TX-HEP".
_SECTION_CITED = re.compile(r"§\s*(\d+)|(?<![\w.-])(\d{1,2})(?![\w.-])")


@dataclass(frozen=True)
class ProtocolRule:
    id: str
    title: str

    @property
    def anchor(self) -> str:
        return self.id


@dataclass(frozen=True)
class ProtocolSection:
    number: int
    title: str
    rules: tuple[ProtocolRule, ...]

    @property
    def anchor(self) -> str:
        return f"section-{self.number}"


@cache
def protocol_sections() -> tuple[ProtocolSection, ...]:
    """The sections of the rules document with the rules each defines, in its order."""
    try:
        text = DOCUMENT.read_text(encoding="utf-8")
    except OSError:
        return ()
    sections: list[ProtocolSection] = []
    number, title, rules = None, "", []
    for line in text.splitlines():
        if match := _SECTION.match(line):
            if number is not None:
                sections.append(ProtocolSection(number, title, tuple(rules)))
            number, title, rules = int(match[1]), match[2].strip(), []
        elif number is not None and (match := _HEADING.match(line) or _ROW.match(line)):
            rules.append(ProtocolRule(match[1], match[2].strip()))
    if number is not None:
        sections.append(ProtocolSection(number, title, tuple(rules)))
    return tuple(sections)


@dataclass(frozen=True)
class ReferencePart:
    text: str
    url: str


def reference_parts(reference: str) -> tuple[list[ReferencePart], list[ReferencePart]]:
    """(rules, sections) a stored protocol reference cites, each linked to its anchor on the
    protocol page; whatever else the text holds (a file name) is not shown."""
    page = reverse("protocol")
    known = {s.number: s for s in protocol_sections()}
    rules = [
        ReferencePart(rule, f"{page}#{rule}") for rule in dict.fromkeys(RULE_ID.findall(reference))
    ]
    rest = RULE_ID.sub(" ", reference)
    sections = []
    for cited, bare in _SECTION_CITED.findall(rest):
        number = int(cited or bare)
        section = known.get(number)
        if section is not None:
            sections.append(ReferencePart(f"{number} {section.title}", f"{page}#{section.anchor}"))
    return rules, sections


def reference_text(reference: str) -> str:
    """A protocol reference in words, for e-mails: "Protocol rules TX-HEP, AL-HEP"."""
    rules, sections = reference_parts(reference)
    words = []
    if rules:
        noun = "Protocol rule" if len(rules) == 1 else "Protocol rules"
        words.append(f"{noun} {', '.join(r.text for r in rules)}")
    if sections:
        noun = "protocol section" if len(sections) == 1 else "protocol sections"
        words.append(f"{noun} {'; '.join(s.text for s in sections)}")
    return "; ".join(words)
