"""Enrolment allocates study IDs in the trial's form, without gaps or duplicates."""

import datetime
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crf.models import Role, Subject
from tests.factories import SiteFactory, enrol, protocol_versions, user_with_role

pytestmark = pytest.mark.verifies("UR-ENR-01")


def screening_data(site, **overrides):
    data = {
        "site": site.pk,
        "consent_date": "2026-02-27",
        "consent_version": "1.0",
        "adult_at_consent": "True",
        "untreated_ph_negative_bcp_all": "True",
        "cd19_positive": "True",
        "no_contraindication": "True",
        "day1_date": "2026-03-02",
        "failure_reason": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_study_ids_are_site_dash_two_digit_sequence(site_b, investigator_b):
    ids = [enrol(site_b, by=investigator_b).study_id for _ in range(3)]
    assert ids == ["2-01", "2-02", "2-03"]


@pytest.mark.django_db
def test_each_site_counts_on_its_own(site_a, site_b, investigator_a, investigator_b):
    assert enrol(site_a, by=investigator_a).study_id == "1-01"
    assert enrol(site_b, by=investigator_b).study_id == "2-01"
    assert enrol(site_a, by=investigator_a).study_id == "1-02"


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_enrolments_get_twenty_consecutive_ids():
    site = SiteFactory(number=3, city="Ostrava")
    investigator = user_with_role(Role.INVESTIGATOR, site)
    protocol_versions()
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def enrol_one():
        try:
            barrier.wait()
            enrol(site, by=investigator)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = sorted(Subject.objects.filter(site=site).values_list("study_id", flat=True))
    assert ids == [f"3-{n:02d}" for n in range(1, 21)]


@pytest.mark.django_db
def test_enrol_form_creates_subject_and_opens_its_page(client, site_a, investigator_a):
    client.force_login(investigator_a)
    protocol_versions()
    response = client.post(
        reverse("crf:subject_enrol"), screening_data(site_a, day1_date="2026-03-02"), follow=True
    )
    subject = Subject.objects.get()
    assert subject.study_id == "1-01"
    assert response.redirect_chain[-1][0] == reverse("crf:subject_detail", args=["1-01"])
    assert "Subject 1-01 enrolled." in response.content.decode()
    assert subject.history.get().history_user == investigator_a


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day1", "message"),
    [
        ("", "An eligible patient is enrolled: enter study day 1."),
        ("14/03/2026", "Enter the date as YYYY-MM-DD"),
        ("2026-02-30", "Enter the date as YYYY-MM-DD"),
        ("future", "is in the future; enter a date on or before today"),
    ],
)
def test_enrol_form_refuses_bad_dates_and_saves_nothing(
    client, site_a, investigator_a, day1, message
):
    if day1 == "future":
        day1 = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    client.force_login(investigator_a)
    protocol_versions()
    response = client.post(reverse("crf:subject_enrol"), screening_data(site_a, day1_date=day1))
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors["day1_date"])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert Subject.objects.count() == 0


@pytest.mark.verifies("UR-OPS-03")
@pytest.mark.django_db
def test_subject_list_is_paginated_and_filtered(client, site_a, site_b):
    investigator = user_with_role(Role.INVESTIGATOR, site_a)
    for _ in range(27):
        enrol(site_a, by=investigator)
    client.force_login(user_with_role(Role.DATA_MANAGER, None))
    enrol(site_b)
    first = client.get(reverse("crf:subject_list"))
    assert first.context["page"].paginator.count == 28
    assert len(first.context["page"].object_list) == 25
    assert "Page 1 of 2" in first.content.decode()
    only_b = client.get(reverse("crf:subject_list"), {"site": site_b.pk})
    assert [s.study_id for s in only_b.context["page"]] == ["2-01"]


@pytest.mark.django_db
def test_subject_list_query_count_does_not_grow_with_rows(
    client, site_a, django_assert_max_num_queries
):
    investigator = user_with_role(Role.INVESTIGATOR, site_a)
    client.force_login(investigator)
    enrol(site_a, by=investigator)
    # (13: one of them asks whether this session still owes a second factor)
    with django_assert_max_num_queries(13) as few:
        client.get(reverse("crf:subject_list"))
    for _ in range(20):
        enrol(site_a, by=investigator)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("crf:subject_list"))
