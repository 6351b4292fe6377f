"""Screening: consent and eligibility; eligible patients are enrolled with their schedule."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crf.models import Screening, Subject
from crf.services import subject_screen
from tests.factories import ELIGIBLE, enrol, protocol_versions

pytestmark = pytest.mark.verifies("UR-ENR-01")


def _screen(site, user, **overrides):
    values = dict(
        site=site,
        consent_date=datetime.date(2026, 2, 27),
        consent_version="1.0",
        eligibility=ELIGIBLE,
        day1_date=datetime.date(2026, 3, 2),
        user=user,
    )
    values.update(overrides)
    protocol_versions()
    return subject_screen(**values)


@pytest.mark.django_db
def test_eligible_patient_is_enrolled_with_planned_visits(site_a, investigator_a):
    screening = _screen(site_a, investigator_a)
    subject = screening.subject
    assert (screening.screening_number, subject.study_id) == ("S1-001", "1-01")
    visits = {v.code: v for v in subject.visits.all()}
    assert set(visits) == {"D11", "D40", "W11", "W18"}
    day = lambda n: datetime.date(2026, 3, 2) + datetime.timedelta(days=n - 1)  # noqa: E731
    assert (visits["D11"].planned_date, visits["D11"].window_start, visits["D11"].window_end) == (
        day(11),
        day(8),
        day(14),
    )
    assert (visits["W11"].window_start, visits["W11"].window_end) == (day(64), day(84))
    assert (visits["W18"].planned_date, visits["W18"].window_end) == (day(120), day(133))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day1", "version", "rule"),
    [
        # Version 2 (the amendment) is effective 2020-06-01; day 12 decides.
        (datetime.date(2020, 5, 20), 1, "BD-1"),  # day 12 = 2020-05-31
        (datetime.date(2020, 5, 21), 2, "BD-2"),  # day 12 = 2020-06-01
    ],
)
def test_protocol_version_is_the_one_in_force_on_day_12(
    site_a, investigator_a, day1, version, rule
):
    subject = _screen(
        site_a, investigator_a, day1_date=day1, consent_date=day1 - datetime.timedelta(days=1)
    ).subject
    assert (subject.protocol_version.number, subject.protocol_version.blinatumomab_rule) == (
        version,
        rule,
    )


@pytest.mark.django_db
def test_ineligible_patient_is_a_screen_failure_without_study_id(site_a, investigator_a):
    screening = _screen(
        site_a,
        investigator_a,
        eligibility={**ELIGIBLE, "cd19_positive": False},
        day1_date=None,
        failure_reason="CD19-negative blasts",
    )
    assert screening.outcome == Screening.Outcome.SCREEN_FAILURE
    assert screening.failure_reason == "CD19-negative blasts"
    assert Subject.objects.count() == 0
    # The next eligible patient still gets 1-01: screen failures use no study ID.
    assert enrol(site_a, by=investigator_a).study_id == "1-01"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"eligibility": {**ELIGIBLE, "adult_at_consent": False}, "failure_reason": " "},
            "failure_reason",
            "give the reason for the screen failure",
        ),
        ({"day1_date": None}, "day1_date", "enter study day 1"),
        (
            {"day1_date": datetime.date(2026, 2, 20)},
            "day1_date",
            "must be on or after",
        ),
    ],
)
def test_screening_refusals_name_the_field_and_save_nothing(
    site_a, investigator_a, overrides, field, message
):
    with pytest.raises(ValidationError) as refusal:
        _screen(site_a, investigator_a, **overrides)
    assert message in " ".join(refusal.value.message_dict[field])
    assert Screening.objects.count() == 0
    assert Subject.objects.count() == 0


@pytest.mark.django_db
def test_screen_failure_through_the_form(client, site_a, investigator_a):
    protocol_versions()
    client.force_login(investigator_a)
    data = {
        "site": site_a.pk,
        "consent_date": "2026-02-27",
        "consent_version": "1.0",
        "adult_at_consent": "True",
        "untreated_ph_negative_bcp_all": "False",
        "cd19_positive": "True",
        "no_contraindication": "True",
        "day1_date": "",
        "failure_reason": "",
    }
    response = client.post(reverse("crf:subject_enrol"), data)
    assert "give the reason for the screen failure" in response.content.decode()
    assert Screening.objects.count() == 0
    data["failure_reason"] = "prior treatment with steroids for ALL"
    response = client.post(reverse("crf:subject_enrol"), data, follow=True)
    assert "S1-001 recorded as a screen failure" in response.content.decode()
    assert Subject.objects.count() == 0


@pytest.mark.django_db
def test_unanswered_eligibility_question_is_refused(client, site_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(
        reverse("crf:subject_enrol"),
        {"site": site_a.pk, "consent_date": "2026-02-27", "consent_version": "1"},
    )
    errors = response.context["form"].errors
    assert errors["cd19_positive"] == ["Answer yes or no."]
    assert Screening.objects.count() == 0


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_screening_log_lists_failures_of_own_sites_only(client, site_a, site_b, investigator_a):
    from crf.models import Role
    from tests.factories import user_with_role

    _screen(
        site_a, investigator_a, eligibility={**ELIGIBLE, "cd19_positive": False},
        day1_date=None, failure_reason="CD19-negative",
    )  # fmt: skip
    _screen(site_b, user_with_role(Role.INVESTIGATOR, site_b))
    client.force_login(investigator_a)
    page = client.get(reverse("crf:screening_log")).content.decode()
    assert "S1-001" in page and "CD19-negative" in page
    assert "S2-001" not in page
