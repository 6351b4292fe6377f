"""The casebook page: everything about a subject on one page, in a bounded number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from crf.models import Relapse
from crf.services import record_save
from tests.factories import baseline_for, course_for, day11_for, infusion_started_for

pytestmark = pytest.mark.verifies("UR-REC-05")


def _page(client, subject):
    return client.get(reverse("crf:subject_detail", args=[subject.study_id]))


@pytest.mark.django_db
def test_casebook_shows_baseline_timeline_schedule_and_form_status(
    client, subject_a, investigator_a
):
    baseline_for(subject_a, by=investigator_a, year_of_birth=1985)
    course_for(subject_a, by=investigator_a)
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    page = _page(client, subject_a).content.decode()
    assert "age 41 at consent" in page  # consent 2026-02-27, born 1985
    assert "<svg" in page and "Blinatumomab cycle 1" in page
    assert "D11 Day-11 assessment" in page and "W18 Week 18" in page
    assert "Day-11 assessment" in page and "entered" in page
    assert f"{investigator_a.username} " in page
    assert "HSCT" in page and "not entered" in page


@pytest.mark.django_db
def test_casebook_query_count_does_not_grow_with_records(
    client, subject_a, investigator_a, django_assert_max_num_queries
):
    baseline_for(subject_a, by=investigator_a)
    course_for(subject_a, by=investigator_a)
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    # One query per form of FORM_SPECS, and one asking whether the session owes a second factor.
    with django_assert_max_num_queries(43) as first:
        _page(client, subject_a)
    few = len(first.captured_queries)
    for n in range(6):
        record_save(
            Relapse(
                subject=subject_a,
                relapse_date=datetime.date(2026, 6, 1) + datetime.timedelta(days=n),
                kind="molecular",
            ),
            user=investigator_a,
        )
    course_for(
        subject_a, by=investigator_a, phase="induction_2", start_date=datetime.date(2026, 4, 20),
        weight_kg=Decimal("75"),
    )  # fmt: skip
    # (A kind of record first met in the process costs one cached content-type lookup.)
    _page(client, subject_a)
    with django_assert_max_num_queries(few):
        _page(client, subject_a)


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_monitor_reads_the_casebook_without_edit_links(client, subject_a, investigator_a):
    from crf.models import Role
    from tests.factories import user_with_role

    baseline_for(subject_a, by=investigator_a)
    client.force_login(user_with_role(Role.MONITOR, subject_a.site))
    page = _page(client, subject_a).content.decode()
    assert "1.88 m²" in page
    assert "correct</a>" not in page and ">enter</a>" not in page
