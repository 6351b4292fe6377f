"""eCRF plausibility checks: height, weight, weight change, visit windows, age, date order."""

from datetime import date
from decimal import Decimal

import pytest

from protocol.checks import (
    ADULT_AGE_YEARS,
    PLAUSIBLE_ADULT_HEIGHT_CM,
    PLAUSIBLE_ADULT_WEIGHT_KG,
    WEIGHT_CHANGE_WARNING_PERCENT,
    SoftWarning,
    age_at_consent,
    birth_year_error,
    dates_order_error,
    height_warning,
    not_adult_at_consent_error,
    visit_window_warning,
    weight_change_warning,
    weight_warning,
)
from protocol.schedule import VisitCode, planned_visits

pytestmark = pytest.mark.verifies("UR-REC-01")


@pytest.mark.verifies("UR-REC-03")
def test_thresholds():
    assert PLAUSIBLE_ADULT_HEIGHT_CM == (Decimal(140), Decimal(210))
    assert PLAUSIBLE_ADULT_WEIGHT_KG == (Decimal(35), Decimal(200))
    assert WEIGHT_CHANGE_WARNING_PERCENT == Decimal(10)
    assert ADULT_AGE_YEARS == 18


# --- height and weight (soft) ----------------------------------------------------------------


@pytest.mark.verifies("UR-REC-03")
@pytest.mark.parametrize(
    ("height_cm", "warns"),
    [("139.9", True), ("140", False), ("175.5", False), ("210", False), ("210.1", True)],
)
def test_height_warning(height_cm, warns):
    warning = height_warning(Decimal(height_cm))
    if not warns:
        assert warning is None
    else:
        assert warning == SoftWarning(
            "height_implausible",
            f"Height {height_cm} cm is outside the plausible adult range of 140-210 cm; "
            "correct it, or confirm that it is right.",
        )


@pytest.mark.verifies("UR-REC-03")
@pytest.mark.parametrize(
    ("weight_kg", "warns"),
    [("34.9", True), ("35", False), ("72", False), ("200", False), ("200.1", True)],
)
def test_weight_warning(weight_kg, warns):
    warning = weight_warning(Decimal(weight_kg))
    assert (warning is not None) == warns
    if warns:
        assert warning.code == "weight_implausible"
        assert f"Weight {weight_kg} kg" in warning.message
        assert "35-200 kg" in warning.message


@pytest.mark.verifies("UR-REC-03")
@pytest.mark.parametrize(
    ("baseline", "current", "shown"),
    [
        ("100", "100", None),
        ("100", "109.9", None),  # 9.9%
        ("100", "110", None),  # exactly 10%: no warning
        ("100", "110.1", "10.1% above"),
        ("100", "90.1", None),  # 9.9% down
        ("100", "90", None),
        ("100", "89.9", "10.1% below"),
        ("75", "82.5", None),  # exactly 10% of 75
        ("75", "82.51", "10.1% above"),  # 10.013%: shown rounded up, never as 10.0%
        ("75", "50", "33.4% below"),  # 33.33%
    ],
)
def test_weight_change_warning(baseline, current, shown):
    warning = weight_change_warning(Decimal(baseline), Decimal(current))
    if shown is None:
        assert warning is None
    else:
        assert warning.code == "weight_change"
        assert warning.message == (
            f"Weight {current} kg is {shown} the baseline weight of {baseline} kg, more than "
            "10%; correct it, or confirm that it is right."
        )


@pytest.mark.verifies("UR-REC-03")
def test_weight_change_needs_a_baseline():
    with pytest.raises(ValueError, match="baseline"):
        weight_change_warning(Decimal(0), Decimal(70))


# --- visit windows (soft) --------------------------------------------------------------------

VISITS = {planned.visit.code: planned for planned in planned_visits(date(2026, 1, 1))}


@pytest.mark.verifies("UR-REC-03", "UR-REC-05")
@pytest.mark.parametrize(
    ("code", "actual", "off"),
    [
        # day 11 = 2026-01-11, window +-3 days: 2026-01-08 .. 2026-01-14
        (VisitCode.DAY_11, date(2026, 1, 7), "1 day before the window opens"),
        (VisitCode.DAY_11, date(2026, 1, 8), None),
        (VisitCode.DAY_11, date(2026, 1, 11), None),
        (VisitCode.DAY_11, date(2026, 1, 14), None),
        (VisitCode.DAY_11, date(2026, 1, 15), "1 day after the window closes"),
        # week 11 = days 71-77 (2026-03-12 .. 03-18), +-7 days: 2026-03-05 .. 2026-03-25
        (VisitCode.WEEK_11, date(2026, 3, 4), "1 day before the window opens"),
        (VisitCode.WEEK_11, date(2026, 3, 5), None),
        (VisitCode.WEEK_11, date(2026, 3, 25), None),
        (VisitCode.WEEK_11, date(2026, 3, 26), "1 day after the window closes"),
        (VisitCode.WEEK_11, date(2026, 3, 30), "5 days after the window closes"),
    ],
)
def test_visit_window_warning(code, actual, off):
    planned = VISITS[code]
    warning = visit_window_warning(planned, actual)
    if off is None:
        assert warning is None
    else:
        assert warning.code == "visit_out_of_window"
        assert warning.message == (
            f"{planned.visit.name} on {actual.isoformat()} is outside its window "
            f"{planned.window_start.isoformat()} to {planned.window_end.isoformat()} ({off}); "
            "correct the date, or confirm it and record the deviation."
        )


@pytest.mark.verifies("UR-REC-03", "UR-REC-05")
def test_visit_window_message_names_visit_and_dates():
    warning = visit_window_warning(VISITS[VisitCode.WEEK_11], date(2026, 3, 26))
    assert warning.message.startswith(
        "Week 11 on 2026-03-26 is outside its window 2026-03-05 to 2026-03-25"
    )


# --- age at consent (hard) -------------------------------------------------------------------


@pytest.mark.verifies("UR-ENR-02")
@pytest.mark.parametrize(
    ("year_of_birth", "consent", "age"),
    [
        (2008, date(2026, 1, 1), 18),  # may not have had the 18th birthday yet: still 18
        (2008, date(2026, 12, 31), 18),
        (2009, date(2026, 12, 31), 17),
        (1950, date(2026, 6, 1), 76),
    ],
)
def test_age_at_consent(year_of_birth, consent, age):
    assert age_at_consent(year_of_birth, consent) == age


@pytest.mark.verifies("UR-ENR-01")
@pytest.mark.parametrize(
    ("year_of_birth", "consent", "error"),
    [
        (2008, date(2026, 1, 1), None),  # 18 by year: may be 18 on the consent date
        (2007, date(2026, 1, 1), None),
        (
            2009,
            date(2026, 12, 31),
            "Born in 2009, the patient is at most 17 on the consent date (2026-12-31); the "
            "trial enrols adults of at least 18: the year of birth must be 2008 or earlier.",
        ),
    ],
)
def test_not_adult_at_consent_error(year_of_birth, consent, error):
    assert not_adult_at_consent_error(year_of_birth, consent) == error


@pytest.mark.verifies("UR-ENR-02")
@pytest.mark.parametrize(
    ("year_of_birth", "error"),
    [
        (2026, None),  # the consent year itself is not a birth-year error (the age check is)
        (
            2027,
            "Year of birth 2027 is after the year of consent (2026); enter a year of birth of "
            "2026 or earlier.",
        ),
        (1906, None),  # 120
        (
            1905,
            "Year of birth 1905 gives an age of 121 at consent, over 120; enter a year of birth "
            "of 1906 or later.",
        ),
    ],
)
def test_birth_year_error(year_of_birth, error):
    assert birth_year_error(year_of_birth, date(2026, 3, 5)) == error


# --- dates in order (hard) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "error"),
    [
        (date(2026, 3, 5), date(2026, 3, 5), None),  # the same day is allowed
        (date(2026, 3, 5), date(2026, 3, 6), None),
        (
            date(2026, 3, 5),
            date(2026, 3, 2),
            "The sample date (2026-03-02) is before the consent date (2026-03-05); the sample "
            "date must be on or after the consent date.",
        ),
    ],
)
def test_dates_order_error(earlier, later, error):
    assert dates_order_error(earlier, later, "the consent date", "the sample date") == error
