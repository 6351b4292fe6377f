"""Serious adverse events and their reporting clocks (rules §8), and the AE summary of the
paper's Table 2: per category and term, subjects with any grade, with grade 3-4 and with
grade 5 (rules §8, Table 2)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from protocol.clock import after
from protocol.ctcae_terms import TABLE_2_TERMS
from protocol.statistics import percent_of

SITE_REPORT_WINDOW = timedelta(hours=24)  # SA-1: site -> sponsor within 24 hours
SUSAR_FATAL_DAYS = 7  # SA-2: fatal or life-threatening SUSAR within 7 days
SUSAR_OTHER_DAYS = 15  # SA-2: other SUSARs within 15 days
SEVERE_GRADES = frozenset({3, 4})  # Table 2: "Grade 3 and 4"
FATAL_GRADE = 5  # rules §8: grade 5 means outcome fatal


class SeriousCriterion(StrEnum):
    """rules §8: at least one criterion must be ticked when serious = yes."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    MEDICALLY_IMPORTANT = "medically_important"


def sae_errors(
    *,
    serious: bool,
    criteria: Iterable[SeriousCriterion],
    grade: int | None,
    fatal_outcome: bool,
    onset: date | None,
    end: date | None,
) -> dict[str, str]:
    """Hard checks of an adverse event's seriousness, grade and dates (rules §8)."""
    errors = {}
    criteria = set(criteria)
    if serious and not criteria:
        errors["serious"] = "A serious adverse event needs at least one seriousness criterion."
    if not serious and criteria:
        errors["serious"] = (
            "Seriousness criteria are ticked: mark the event serious or untick them."
        )
    if grade == FATAL_GRADE and not fatal_outcome:
        errors["outcome"] = "Grade 5 means death: the outcome must be fatal."
    if fatal_outcome and grade is not None and grade != FATAL_GRADE:
        errors["grade"] = f"A fatal outcome is grade 5, not grade {grade}."
    if onset and end and end < onset:
        errors["end_date"] = (
            f"The end ({end.isoformat()}) is before the onset ({onset.isoformat()}); "
            "the end must be on or after the onset."
        )
    return errors


def site_report_due(awareness: datetime) -> datetime:
    """SA-1: when the site's report to the sponsor is due."""
    return after(awareness, SITE_REPORT_WINDOW)


def site_report_overdue(awareness: datetime, notified: datetime | None, now: datetime) -> bool:
    """SA-1 is overdue once 24 hours have passed without the sponsor being notified."""
    due = site_report_due(awareness)
    return notified > due if notified else now > due


def susar_due(sponsor_awareness: date, *, fatal_or_life_threatening: bool) -> date:
    """SA-2: the day a SUSAR is due to the authorities, from the sponsor's awareness."""
    days = SUSAR_FATAL_DAYS if fatal_or_life_threatening else SUSAR_OTHER_DAYS
    return sponsor_awareness + timedelta(days=days)


@dataclass(frozen=True)
class AeFact:
    """One adverse event as the summary needs it: its CTCAE term, the verbatim text the site
    entered (the row of an "Other, specify" term), its Table 2 category and grade."""

    subject: str
    term: str
    category: str
    grade: int
    verbatim: str = ""


LOW_GRADES = frozenset({1, 2})
# The footnote of the publication's Table 2, as the report's option to show its rows only.
PUBLICATION_FOOTNOTE = (
    "Rows as in the publication's footnote: an adverse event of grade 3 or higher in any "
    "patient, or of grade 1 or 2 in at least two patients."
)
PUBLICATION_LOW_GRADE_PATIENTS = 2


@dataclass
class SummaryRow:
    """One row of Table 2: subjects counted once in each column whose condition they meet."""

    label: str
    is_category: bool
    any_grade: int
    severe: int  # subjects with an event of grade 3 or 4
    fatal: int = 0  # subjects with an event of grade 5
    percent_any: Decimal = field(default=Decimal(0))
    percent_severe: Decimal = field(default=Decimal(0))
    percent_fatal: Decimal = field(default=Decimal(0))
    low_grade: int = 0  # subjects with an event of grade 1 or 2 (the footnote's filter)
    verbatim: bool = False  # an "Other, specify" term's row, labelled by the verbatim text

    @property
    def in_publication(self) -> bool:
        """PUBLICATION_FOOTNOTE: grade 3 or higher in anyone, or grade 1-2 in two or more."""
        return bool(self.severe or self.fatal) or (self.low_grade >= PUBLICATION_LOW_GRADE_PATIENTS)


def publication_rows(rows: Iterable[SummaryRow]) -> list[SummaryRow]:
    """The rows of `rows` the publication's footnote keeps (PUBLICATION_FOOTNOTE); a category
    row by its own counts, so it stays whenever one of its terms does."""
    return [row for row in rows if row.in_publication]


def _percent(count: int, treated: int) -> Decimal:
    """N as a whole percentage of the treated patients, by the reports' one rule
    (statistics.ROUNDING_RULE); 0 when nobody was treated."""
    percent = percent_of(count, treated)
    return Decimal(0) if percent is None else Decimal(percent)


# The publication's rows (protocol.ctcae_terms.TABLE_2_TERMS, in its order), by CTCAE term.
_PUBLICATION_LABEL = {term.term.casefold(): label for label, term in TABLE_2_TERMS.items()}
_PUBLICATION_ORDER = {label: index for index, label in enumerate(TABLE_2_TERMS)}
# A publication row reported under an "Other, specify" term, found by its verbatim text
# (CTCAE v5.0 has no COVID-19 term).
_VERBATIM_ROWS = {"SARS-CoV-2 infection": ("sars-cov-2", "sars cov 2", "covid")}
OTHER_SPECIFY = " - other, specify"


def table_2_label(term: str, verbatim: str = "") -> tuple[str, bool]:
    """The Table 2 row of an event: the publication's label of its CTCAE term (ALT increased,
    Attention disturbance ...); for an "Other, specify" term, the publication's row its verbatim
    text names (SARS-CoV-2 infection) or else the verbatim text itself, so that each "other"
    infection is listed by what it was. Returns (label, labelled by the verbatim text)."""
    if term.casefold().endswith(OTHER_SPECIFY):
        text = " ".join(verbatim.split())
        for label, needles in _VERBATIM_ROWS.items():
            if any(needle in text.casefold() for needle in needles):
                return label, False
        if text:
            return text[0].upper() + text[1:], True
        return term, False
    return _PUBLICATION_LABEL.get(term.casefold(), term), False


def ae_summary(
    events: Iterable[AeFact], *, treated: int, categories: Sequence[str]
) -> list[SummaryRow]:
    """Table 2: for each category (in the order given) and each term under it, the subjects with
    any grade, with grade 3-4 and with grade 5, as N and % of treated subjects (rules §8,
    Table 2). A subject counts at most once in each column of a row, and in every column whose
    grades they had there: a grade 4 and a grade 5 event of the same term (or category) count
    the subject in grade 3-4 and in grade 5, so those columns may add up to more than any
    grade."""
    by_term: dict[tuple[str, str, str], set[int]] = {}
    by_category: dict[tuple[str, str], set[int]] = {}
    labels: dict[str, tuple[str, bool]] = {}  # casefolded label -> (label, verbatim)
    for event in events:
        label, verbatim = table_2_label(event.term, event.verbatim)
        key = label.casefold()
        labels.setdefault(key, (label, verbatim))
        by_term.setdefault((event.category, key, event.subject), set()).add(event.grade)
        by_category.setdefault((event.category, event.subject), set()).add(event.grade)
    rows = []
    for category in categories:
        subjects = [grades for (c, _), grades in by_category.items() if c == category]
        if not subjects:
            continue
        rows.append(_row(category, True, subjects, treated))
        # The publication's rows in its order, then the others alphabetically; a term row that
        # only repeats its category (Cytokine release syndrome) is the category row.
        keys = {k for (c, k, _) in by_term if c == category and k != category.casefold()}
        for key in sorted(keys, key=lambda k: _row_order(labels[k][0])):
            grades = [g for (c, k, _), g in by_term.items() if c == category and k == key]
            label, verbatim = labels[key]
            rows.append(_row(label, False, grades, treated, verbatim=verbatim))
    return rows


def _row_order(label: str) -> tuple[int, str]:
    return _PUBLICATION_ORDER.get(label, len(_PUBLICATION_ORDER)), label.casefold()


def _row(
    label: str,
    is_category: bool,
    subjects_grades: Iterable[set[int]],
    treated: int,
    *,
    verbatim: bool = False,
) -> SummaryRow:
    """A row from the grades each subject had there (one set per subject)."""
    subjects = list(subjects_grades)
    any_grade = len(subjects)
    severe = sum(1 for grades in subjects if grades & SEVERE_GRADES)
    fatal = sum(1 for grades in subjects if FATAL_GRADE in grades)
    return SummaryRow(
        label=label,
        is_category=is_category,
        any_grade=any_grade,
        severe=severe,
        fatal=fatal,
        percent_any=_percent(any_grade, treated),
        percent_severe=_percent(severe, treated),
        percent_fatal=_percent(fatal, treated),
        low_grade=sum(1 for grades in subjects if grades & LOW_GRADES),
        verbatim=verbatim,
    )


# The categories of the paper's Table 2, in its order; terms are CTCAE v5.0 term names.
HEPATIC = "Hepatic impairment"
CRS = "Cytokine release syndrome"
INFECTION = "Infection"
NEUROLOGIC = "Neurologic adverse events"
LABORATORY = "Laboratory abnormalities"
OTHER = "Other adverse events"
TABLE_2_CATEGORIES = (HEPATIC, CRS, INFECTION, NEUROLOGIC, LABORATORY, OTHER)
_CATEGORY_OF_TERM = {
    "blood bilirubin increased": HEPATIC,
    "alanine aminotransferase increased": HEPATIC,
    "aspartate aminotransferase increased": HEPATIC,
    "ggt increased": HEPATIC,
    "alkaline phosphatase increased": HEPATIC,
    "cytokine release syndrome": CRS,
    "febrile neutropenia": INFECTION,
    "muscle cramp": NEUROLOGIC,  # Table 2 lists muscle cramps with the neurologic events
    "hypophosphatemia": LABORATORY,
    "fibrinogen decreased": LABORATORY,
    "hypoalbuminemia": LABORATORY,
}
_CATEGORY_OF_SOC = {
    "infections and infestations": INFECTION,
    "nervous system disorders": NEUROLOGIC,
    "psychiatric disorders": NEUROLOGIC,
    "investigations": LABORATORY,
    "metabolism and nutrition disorders": LABORATORY,
}


def ae_category(term: str, soc: str) -> str:
    """The Table 2 category of a CTCAE term: by term where the paper places it, else by SOC."""
    return _CATEGORY_OF_TERM.get(term.lower()) or _CATEGORY_OF_SOC.get(soc.lower(), OTHER)
