"""eCRF plausibility checks that are not protocol rules.

Soft checks return a `SoftWarning`: the value is saved once the investigator confirms it, and
the confirmation is stored under the warning's `code`. Hard checks return an error message
(None when the value is acceptable): the form refuses the value. Every message says what is
wrong and what is expected, with the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_UP, Decimal

from protocol.schedule import PlannedVisit

PLAUSIBLE_ADULT_HEIGHT_CM = (Decimal(140), Decimal(210))  # eCRF plausibility range, soft check
PLAUSIBLE_ADULT_WEIGHT_KG = (Decimal(35), Decimal(200))  # eCRF plausibility range, soft check
WEIGHT_CHANGE_WARNING_PERCENT = Decimal(10)  # eCRF issue: > 10% since baseline is a soft check
ADULT_AGE_YEARS = 18  # docs/protocol-rules.md / paper: the trial enrols adults
MAX_PLAUSIBLE_AGE_YEARS = 120  # eCRF hard check: an older age is a typing error in the year


@dataclass(frozen=True)
class SoftWarning:
    """A value to check or confirm; `code` is a stable id for storing the confirmation."""

    code: str
    message: str


def _outside(value: Decimal, limits: tuple[Decimal, Decimal]) -> bool:
    low, high = limits
    return not low <= value <= high


def height_warning(height_cm: Decimal) -> SoftWarning | None:
    """Soft check: height outside the plausible adult range 140-210 cm (limits included)."""
    if not _outside(height_cm, PLAUSIBLE_ADULT_HEIGHT_CM):
        return None
    low, high = PLAUSIBLE_ADULT_HEIGHT_CM
    return SoftWarning(
        "height_implausible",
        f"Height {height_cm} cm is outside the plausible adult range of {low}-{high} cm; "
        "correct it, or confirm that it is right.",
    )


def weight_warning(weight_kg: Decimal) -> SoftWarning | None:
    """Soft check: weight outside the plausible adult range 35-200 kg (limits included)."""
    if not _outside(weight_kg, PLAUSIBLE_ADULT_WEIGHT_KG):
        return None
    low, high = PLAUSIBLE_ADULT_WEIGHT_KG
    return SoftWarning(
        "weight_implausible",
        f"Weight {weight_kg} kg is outside the plausible adult range of {low}-{high} kg; "
        "correct it, or confirm that it is right.",
    )


def weight_change_warning(baseline_kg: Decimal, current_kg: Decimal) -> SoftWarning | None:
    """Soft check: weight more than 10% above or below baseline (exactly 10% is no warning)."""
    if baseline_kg <= 0:
        raise ValueError("the baseline weight must be positive")
    change = current_kg - baseline_kg
    # compare without dividing, so that exactly 10% is decided exactly
    if abs(change) * 100 <= WEIGHT_CHANGE_WARNING_PERCENT * baseline_kg:
        return None
    # rounded away from zero, so that the shown value is never 10.0% for a change above 10%
    percent = (abs(change) * 100 / baseline_kg).quantize(Decimal("0.1"), rounding=ROUND_UP)
    direction = "above" if change > 0 else "below"
    return SoftWarning(
        "weight_change",
        f"Weight {current_kg} kg is {percent}% {direction} the baseline weight of "
        f"{baseline_kg} kg, more than {WEIGHT_CHANGE_WARNING_PERCENT}%; correct it, or confirm "
        "that it is right.",
    )


def visit_window_warning(planned: PlannedVisit, actual: date) -> SoftWarning | None:
    """Soft check: a visit date outside its window (window start and end included)."""
    if planned.in_window(actual):
        return None
    if actual < planned.window_start:
        off = f"{_day_count((planned.window_start - actual).days)} before the window opens"
    else:
        off = f"{_day_count((actual - planned.window_end).days)} after the window closes"
    return SoftWarning(
        "visit_out_of_window",
        f"{planned.visit.name} on {actual.isoformat()} is outside its window "
        f"{planned.window_start.isoformat()} to {planned.window_end.isoformat()} ({off}); "
        "correct the date, or confirm it and record the deviation.",
    )


def _day_count(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def age_at_consent(year_of_birth: int, consent_date: date) -> int:
    """Age reached in the year of consent: only the birth year is recorded, never the date."""
    return consent_date.year - year_of_birth


def not_adult_at_consent_error(year_of_birth: int, consent_date: date) -> str | None:
    """Hard check: an error only when the patient cannot have been 18 at consent.

    With the birth year alone, a patient who turns 18 in the year of consent may already be 18
    on the consent date, so only consent year - birth year < 18 is refused.
    """
    age = age_at_consent(year_of_birth, consent_date)
    if age >= ADULT_AGE_YEARS:
        return None
    return (
        f"Born in {year_of_birth}, the patient is at most {age} on the consent date "
        f"({consent_date.isoformat()}); the trial enrols adults of at least {ADULT_AGE_YEARS}: "
        f"the year of birth must be {consent_date.year - ADULT_AGE_YEARS} or earlier."
    )


def birth_year_error(year_of_birth: int, consent_date: date) -> str | None:
    """Hard check: a birth year after the year of consent, or an age at consent over 120."""
    if year_of_birth > consent_date.year:
        return (
            f"Year of birth {year_of_birth} is after the year of consent ({consent_date.year}); "
            f"enter a year of birth of {consent_date.year} or earlier."
        )
    age = age_at_consent(year_of_birth, consent_date)
    if age > MAX_PLAUSIBLE_AGE_YEARS:
        return (
            f"Year of birth {year_of_birth} gives an age of {age} at consent, over "
            f"{MAX_PLAUSIBLE_AGE_YEARS}; enter a year of birth of "
            f"{consent_date.year - MAX_PLAUSIBLE_AGE_YEARS} or later."
        )
    return None


def dates_order_error(
    earlier: date, later: date, earlier_label: str, later_label: str
) -> str | None:
    """Hard check: `later` must be on or after `earlier` (the same day is allowed).

    For "no date before consent" checks: dates_order_error(consent, sample, "the consent
    date", "the sample date").
    """
    if later >= earlier:
        return None
    return (
        f"{_first_upper(later_label)} ({later.isoformat()}) is before {earlier_label} "
        f"({earlier.isoformat()}); {later_label} must be on or after {earlier_label}."
    )


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]
