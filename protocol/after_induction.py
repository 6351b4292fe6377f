"""Treatment after induction: MRD-triggered blinatumomab as given (MR-4, MR-5) and salvage
therapy of refractory or relapsed patients.

Pure (no Django). The referral decision (alerts) says what was planned; these records say what
was given. The checks return field name -> message, named as the eCRF's fields, like
protocol.mrd.result_errors; every message says what is wrong and what is expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from protocol import checks, mrd

# MR-4 (and MR-5, the same referral): one or two cycles of blinatumomab, then HSCT.
MRD_TRIGGERED_CYCLES = (1, 2)
# rules §3: the target dose of blinatumomab, offered as the course's dose.
TARGET_DOSE_UG_PER_DAY = Decimal(28)


def period_errors(start: date | None, end: date | None) -> dict[str, str]:
    """A course's end date (empty while it runs) is on or after its start date."""
    if start is None or end is None:
        return {}
    message = checks.dates_order_error(start, end, "the start date", "the end date")
    return {"end_date": message} if message else {}


@dataclass(frozen=True)
class MrdTriggeredCourse:
    """One course of MRD-triggered blinatumomab as given (MR-4, MR-5)."""

    start: date | None
    end: date | None = None
    cycles: int | None = None
    dose_ug_per_day: Decimal | None = None
    cd19_reconfirmed: bool | None = None
    cd19_date: date | None = None
    mrd_class: str = ""  # a protocol.mrd.ResultClass value, "" while not known
    mrd_value: Decimal | None = None  # quantifiable results only


def mrd_triggered_course_errors(course: MrdTriggeredCourse) -> dict[str, str]:
    """Hard checks of a course: the end not before the start, 1 or 2 cycles (MR-4), a dose
    above zero, the date of a reconfirmed CD19, and an MRD result its class allows (rules §7)."""
    errors = period_errors(course.start, course.end)
    low, high = MRD_TRIGGERED_CYCLES
    if course.cycles is not None and not low <= course.cycles <= high:
        errors["cycles"] = (
            f"{course.cycles} cycles: MRD-triggered blinatumomab is given for {low} or {high} "
            "cycles (MR-4); record each further course separately."
        )
    if course.dose_ug_per_day is not None and not course.dose_ug_per_day > 0:
        errors["dose_ug_per_day"] = (
            f"The dose {course.dose_ug_per_day} µg/day is not above zero; enter the daily dose "
            f"given, e.g. {TARGET_DOSE_UG_PER_DAY} µg/day."
        )
    if course.cd19_reconfirmed and course.cd19_date is None:
        errors["cd19_date"] = "Give the date on which CD19 expression was reconfirmed."
    errors.update(mrd_after_errors(course.mrd_class, course.mrd_value))
    return errors


def mrd_after_errors(result_class: str, value: Decimal | None) -> dict[str, str]:
    """The MRD result after the course: a value only with a class that has one (rules §7)."""
    if not result_class:
        if value is None:
            return {}
        return {"mrd_after_class": "Choose the result class of this MRD value (quantifiable)."}
    try:
        found = mrd.result_errors(mrd.MrdResult(mrd.ResultClass(result_class), value=value))
    except ValueError:
        choices = ", ".join(member.value for member in mrd.ResultClass)
        return {"mrd_after_class": f"'{result_class}' is not a result class; choose {choices}."}
    # Only the class and its value are recorded here, not the assay's sensitivity.
    names = {"result_class": "mrd_after_class", "value": "mrd_after_value"}
    return {names[name]: message for name, message in found.items() if name in names}


def mrd_triggered_course_warnings(course: MrdTriggeredCourse) -> list[checks.SoftWarning]:
    """Soft checks (MR-4: blinatumomab once CD19 expression has been confirmed again)."""
    warnings = []
    if course.cd19_reconfirmed is False:
        warnings.append(
            checks.SoftWarning(
                "cd19_not_reconfirmed",
                "CD19 expression was not reconfirmed: MR-4 refers for blinatumomab once CD19 "
                "has been confirmed again. Confirm that blinatumomab was given nonetheless.",
            )
        )
    elif course.cd19_reconfirmed and course.cd19_date and course.start:
        if course.cd19_date > course.start:
            warnings.append(
                checks.SoftWarning(
                    "cd19_after_start",
                    f"CD19 was reconfirmed on {course.cd19_date.isoformat()}, after the course "
                    f"started ({course.start.isoformat()}): MR-4 reconfirms CD19 before "
                    "blinatumomab. Check both dates.",
                )
            )
    return warnings


def salvage_therapy_errors(
    start: date | None, end: date | None, *, other_regimen: bool, regimen_other: str
) -> dict[str, str]:
    """Hard checks of a salvage therapy: the end not before the start, and an "other" regimen
    named."""
    errors = period_errors(start, end)
    if other_regimen and not regimen_other.strip():
        errors["regimen_other"] = "Name the other regimen."
    return errors
