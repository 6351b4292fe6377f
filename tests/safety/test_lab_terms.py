"""A lab value's CTCAE term has one owner (protocol.ctcae_terms.lab_term): the "not yet reported
as AE" list, whether an adverse event covers a value, and the pre-filled AE all use it, so a
high potassium is Hyperkalemia and a low one Hypokalemia wherever it appears."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from safety.services import (
    LabEntry,
    lab_panel_record,
    lab_value_term,
    unreported_lab_abnormalities,
)
from tests.factories import serious_ae_for

pytestmark = pytest.mark.verifies("UR-LAB-01", "UR-SAF-01")

# (test, value, unit, LLN, ULN): abnormal values on either side of normal
K_HIGH = ("potassium", "6.2", "mmol/L", "3.5", "5.0")  # grade 3 hyperkalemia
K_LOW = ("potassium", "2.8", "mmol/L", "3.5", "5.0")  # grade 3 hypokalemia
K_HIGH_MEQ = ("potassium", "5.8", "mEq/L", "3.5", "5.0")  # grade 2, another unit
K_LOW_MEQ = ("potassium", "3.2", "mEq/L", "3.5", "5.0")  # grade 1
ALT_HIGH = ("alt", "250", "U/L", None, "40")  # grade 3, a test graded above normal only
PLATELETS_LOW = ("platelets", "20", "10^9/L", "150", None)  # grade 4, graded below only

HYPER, HYPO = "Hyperkalemia", "Hypokalemia"
ALT_UP = "Alanine aminotransferase increased"
PLATELETS_DOWN = "Platelet count decreased"


def _value(subject, user, row, days=13):
    test, value, unit, lln, uln = row
    sampled = timezone.make_aware(
        datetime.datetime.combine(
            subject.day1_date + datetime.timedelta(days=days), datetime.time(8)
        )
    )
    entry = LabEntry(
        test,
        Decimal(value),
        unit,
        lln=None if lln is None else Decimal(lln),
        uln=None if uln is None else Decimal(uln),
    )
    panel = lab_panel_record(
        subject=subject, sampled_at=sampled, local_lab="IHBT", entries=[entry], user=user
    )
    return panel.values.get()


def _listed(subject) -> list[tuple[str, str | None]]:
    return [
        (u.value.test, None if u.term is None else u.term.term)
        for u in unreported_lab_abnormalities(subject)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "term"),
    [
        (K_HIGH, HYPER),
        (K_LOW, HYPO),
        (K_HIGH_MEQ, HYPER),
        (K_LOW_MEQ, HYPO),
        (ALT_HIGH, ALT_UP),
        (PLATELETS_LOW, PLATELETS_DOWN),
    ],
)
def test_an_unreported_abnormal_value_is_listed_under_the_term_of_its_direction(
    subject_a, investigator_a, row, term
):
    value = _value(subject_a, investigator_a, row)
    assert value.grade >= 1
    assert lab_value_term(value).term == term
    assert _listed(subject_a) == [(row[0], term)]


# (value, the AE's term on the value's day, the term the value is still listed under or None)
COVERAGE = [
    (K_HIGH, HYPO, HYPER),  # a hypokalemia does not cover a high potassium
    (K_HIGH, HYPER, None),
    (K_LOW, HYPER, HYPO),  # nor a hyperkalemia a low one
    (K_LOW, HYPO, None),
    (K_HIGH_MEQ, HYPO, HYPER),
    (K_HIGH_MEQ, HYPER, None),
    (K_LOW_MEQ, HYPER, HYPO),
    (K_LOW_MEQ, HYPO, None),
    (ALT_HIGH, PLATELETS_DOWN, ALT_UP),
    (ALT_HIGH, ALT_UP, None),
    (PLATELETS_LOW, ALT_UP, PLATELETS_DOWN),
    (PLATELETS_LOW, PLATELETS_DOWN, None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "ae_term", "still_listed"), COVERAGE)
def test_only_an_adverse_event_of_the_values_own_term_covers_it(
    subject_a, investigator_a, row, ae_term, still_listed
):
    _value(subject_a, investigator_a, row)  # sampled on the AE's onset day (day1 + 13)
    serious_ae_for(subject_a, by=investigator_a, term=ae_term)
    expected = [] if still_listed is None else [(row[0], still_listed)]
    assert _listed(subject_a) == expected


@pytest.mark.django_db
def test_an_adverse_event_of_the_right_term_covers_only_its_own_dates(subject_a, investigator_a):
    _value(subject_a, investigator_a, K_HIGH, days=12)  # the day before the hyperkalemia
    _value(subject_a, investigator_a, K_HIGH, days=13)
    serious_ae_for(subject_a, by=investigator_a, term=HYPER)
    assert _listed(subject_a) == [("potassium", HYPER)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "shown", "not_shown"), [(K_HIGH, HYPER, HYPO), (K_LOW, HYPO, HYPER)]
)
def test_the_not_yet_reported_page_and_the_report_link_name_the_right_term(
    client, subject_a, investigator_a, row, shown, not_shown
):
    value = _value(subject_a, investigator_a, row)
    client.force_login(investigator_a)
    page = client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    card = page[page.index('id="unreported"') : page.index("</div>", page.index('id="unreported"'))]
    assert f"({shown})" in card and not_shown not in card
    url = reverse("safety:adverse_event_new", args=[subject_a.study_id]) + f"?lab={value.pk}"
    form = client.get(url).context["form"]
    assert form.initial["term"].term == shown
    assert form.initial["grade"] == value.grade
