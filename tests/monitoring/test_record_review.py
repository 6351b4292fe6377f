"""The record review page: every value with its label, queries and SDV per field, and the
record's own history inline; open to everyone who sees the subject."""

from decimal import Decimal

import pytest
from django.urls import reverse

from crf.models import Role
from crf.services import record_save
from monitoring.queries import query_open
from monitoring.records import record_pointer
from monitoring.sdv import record_verify
from tests.factories import baseline_for, user_with_role

pytestmark = pytest.mark.verifies("UR-MON-01")


@pytest.fixture
def monitor_a(site_a):
    return user_with_role(Role.MONITOR, site_a, username="mon.a")


@pytest.fixture
def baseline_a(subject_a, investigator_a):
    return baseline_for(subject_a, by=investigator_a)


def _url(record, subject):
    ct, pk = record_pointer(record)
    return reverse("monitoring:record_review", args=[subject.study_id, ct, pk])


def _row(body: str, row_id: str) -> str:
    start = body.index(f'id="{row_id}"')
    return body[start : body.index("</tr>", start)]


@pytest.mark.verifies("UR-MON-02", "UR-MON-03")
@pytest.mark.django_db
def test_values_with_labels_queries_sdv_and_history(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    baseline_a.weight_kg = Decimal("74")
    record_save(baseline_a, user=investigator_a, reason="re-weighed at admission")
    query_open(record=baseline_a, field_name="karyotype", text="Karyotype report?", user=monitor_a)
    record_verify(record=baseline_a, fields=["sex"], user=monitor_a)
    client.force_login(monitor_a)
    body = client.get(_url(baseline_a, subject_a)).content.decode()

    assert "Female" in _row(body, "field-sex") and "verified" in _row(body, "field-sex")
    assert "B-II" in _row(body, "field-immunophenotype")
    assert "Karyotype report?" in _row(body, "field-karyotype")
    assert "raise a query" in _row(body, "field-weight_kg")
    assert "verified" not in _row(body, "field-weight_kg")
    history = body[body.index('id="record-history"') :]
    assert "75" in history and "74" in history and "re-weighed at admission" in history
    assert "75.0" not in history  # as written: no trailing zero
    assert "Mark verified" in body and "Open query" in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status", "can_query", "can_verify"),
    [
        (Role.INVESTIGATOR, 200, False, False),
        (Role.MONITOR, 200, True, True),
        (Role.DATA_MANAGER, 200, True, False),
        (Role.CENTRAL_LAB, 200, False, False),
        (Role.SPONSOR, 404, False, False),
    ],
)
def test_every_role_that_sees_the_subject_opens_the_review_page(
    client, site_a, subject_a, baseline_a, role, status, can_query, can_verify
):
    site = None if role in (Role.SPONSOR, Role.CENTRAL_LAB, Role.DATA_MANAGER) else site_a
    client.force_login(user_with_role(role, site))
    response = client.get(_url(baseline_a, subject_a))
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert "Female" in body
        assert ("Open query" in body) is can_query
        assert ("Mark verified" in body) is can_verify


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_a_record_of_another_subject_is_not_found(client, subject_a, subject_b, investigator_b):
    baseline_b = baseline_for(subject_b, by=investigator_b)
    client.force_login(user_with_role(Role.DATA_MANAGER, None))
    ct, pk = record_pointer(baseline_b)
    url = reverse("monitoring:record_review", args=[subject_a.study_id, ct, pk])
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_review_page_query_count_does_not_grow_with_history_and_queries(
    client, subject_a, baseline_a, monitor_a, investigator_a, django_assert_max_num_queries
):
    client.force_login(monitor_a)
    url = _url(baseline_a, subject_a)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    record = baseline_a
    for n in range(5):
        record.weight_kg = Decimal(70 + n)
        record = record_save(record, user=investigator_a, reason=f"correction {n}")
        query_open(record=record, field_name="weight_kg", text=f"Weight {n}?", user=monitor_a)
        record_verify(record=record, user=monitor_a, fields=["height_cm"])  # not the queried field
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    assert "correction 4" in body and "Weight 4?" in body


@pytest.mark.django_db
def test_subject_page_links_queries_and_review_pages(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    query = query_open(record=baseline_a, field_name="sex", text="Sex per source?", user=monitor_a)
    client.force_login(investigator_a)
    body = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    panel = body[body.index('id="review-panel"') :]
    assert "Sex per source?" in panel
    assert reverse("monitoring:query_detail", args=[subject_a.study_id, query.pk]) in panel
    assert _url(baseline_a, subject_a) in panel
    listing = client.get(reverse("monitoring:subject_review", args=[subject_a.study_id]))
    assert _url(baseline_a, subject_a) in listing.content.decode()
    assert listing.context["progress"].total == len(listing.context["page"].object_list)
