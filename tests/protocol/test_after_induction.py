"""Treatment after induction (protocol.after_induction): MR-4/MR-5 blinatumomab as given and
salvage therapy, checked by tables of cases."""

from datetime import date
from decimal import Decimal

import pytest

from protocol.after_induction import (
    MrdTriggeredCourse,
    mrd_after_errors,
    mrd_triggered_course_errors,
    mrd_triggered_course_warnings,
    period_errors,
    salvage_therapy_errors,
)

pytestmark = pytest.mark.verifies("UR-REC-01")

START = date(2026, 7, 1)


def course(**changes) -> MrdTriggeredCourse:
    values = dict(
        start=START,
        end=date(2026, 8, 26),
        cycles=2,
        dose_ug_per_day=Decimal(28),
        cd19_reconfirmed=True,
        cd19_date=date(2026, 6, 25),
        mrd_class="negative",
        mrd_value=None,
    )
    values.update(changes)
    return MrdTriggeredCourse(**values)


@pytest.mark.parametrize(
    ("start", "end", "refused"),
    [
        (START, None, False),  # running
        (START, START, False),  # the same day
        (START, date(2026, 7, 2), False),
        (START, date(2026, 6, 30), True),
        (None, date(2026, 6, 30), False),  # the missing start is the form's to name
    ],
)
def test_the_end_is_not_before_the_start(start, end, refused):
    errors = period_errors(start, end)
    assert bool(errors) == refused
    if refused:
        assert errors["end_date"] == (
            "The end date (2026-06-30) is before the start date (2026-07-01); the end date "
            "must be on or after the start date."
        )


@pytest.mark.verifies("MR-4")
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({}, None, None),
        ({"end": None, "mrd_class": ""}, None, None),  # running, no MRD yet
        ({"cycles": 1}, None, None),
        ({"cycles": 0}, "cycles", "0 cycles: MRD-triggered blinatumomab is given for 1 or 2"),
        ({"cycles": 3}, "cycles", "3 cycles"),
        ({"dose_ug_per_day": Decimal(9)}, None, None),
        ({"dose_ug_per_day": Decimal(0)}, "dose_ug_per_day", "is not above zero"),
        ({"dose_ug_per_day": Decimal(-28)}, "dose_ug_per_day", "is not above zero"),
        ({"cd19_date": None}, "cd19_date", "Give the date on which CD19"),
        ({"cd19_reconfirmed": False, "cd19_date": None}, None, None),
        ({"end": date(2026, 6, 1)}, "end_date", "before the start date"),
        ({"mrd_class": "quantifiable", "mrd_value": Decimal("0.00012")}, None, None),
        ({"mrd_class": "quantifiable"}, "mrd_after_value", "needs its MRD value"),
        ({"mrd_class": "negative", "mrd_value": Decimal("0.00012")}, "mrd_after_value",
         "A negative result has no value"),
        ({"mrd_class": "pnq", "mrd_value": Decimal("0.00012")}, "mrd_after_value",
         "positive not quantifiable result has no value"),
        ({"mrd_class": "", "mrd_value": Decimal("0.00012")}, "mrd_after_class",
         "Choose the result class"),
        ({"mrd_class": "positive"}, "mrd_after_class", "'positive' is not a result class"),
        ({"mrd_class": "quantifiable", "mrd_value": Decimal(2)}, "mrd_after_value", "above 1"),
    ],
)  # fmt: skip
def test_hard_checks_of_a_course(changes, field, message):
    errors = mrd_triggered_course_errors(course(**changes))
    if field is None:
        assert errors == {}
    else:
        assert list(errors) == [field]
        assert message in errors[field]


@pytest.mark.verifies("MR-4")
def test_a_negative_needs_no_sensitivity_here():
    """Only the class and value are recorded after the course, not the assay's sensitivity."""
    assert mrd_after_errors("negative", None) == {}
    assert mrd_after_errors("", None) == {}


@pytest.mark.verifies("MR-4", "UR-REC-03")
@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({}, []),
        ({"cd19_reconfirmed": False, "cd19_date": None}, ["cd19_not_reconfirmed"]),
        ({"cd19_date": START}, []),  # the same day counts as before
        ({"cd19_date": date(2026, 7, 2)}, ["cd19_after_start"]),
        ({"cd19_date": None}, []),  # the hard check names the missing date
    ],
)
def test_soft_checks_of_a_course_follow_mr_4(changes, codes):
    warnings = mrd_triggered_course_warnings(course(**changes))
    assert [w.code for w in warnings] == codes
    assert all("MR-4" in w.message for w in warnings)


@pytest.mark.parametrize(
    ("end", "other", "text", "fields"),
    [
        (None, False, "", []),
        (date(2026, 8, 1), False, "", []),
        (date(2026, 6, 1), False, "", ["end_date"]),
        (None, True, "", ["regimen_other"]),
        (None, True, "   ", ["regimen_other"]),
        (None, True, "hyper-CVAD", []),
        (date(2026, 6, 1), True, "", ["end_date", "regimen_other"]),
    ],
)
def test_hard_checks_of_a_salvage_therapy(end, other, text, fields):
    errors = salvage_therapy_errors(START, end, other_regimen=other, regimen_other=text)
    assert sorted(errors) == fields
