"""A record (or a field) with an unresolved query on it cannot be marked verified; the review
page offers each action once; the correction form shows the question it answers."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crf.models import Role
from monitoring.models import SourceVerification
from monitoring.queries import query_answer, query_close, query_open
from monitoring.records import record_pointer
from tests.factories import baseline_for, user_with_role

pytestmark = pytest.mark.verifies("UR-MON-03", "UR-MON-02")


@pytest.fixture
def monitor_a(site_a):
    return user_with_role(
        Role.MONITOR, site_a, username="mon.a", first_name="Marta", last_name="Novakova"
    )


@pytest.fixture
def baseline_a(subject_a, investigator_a):
    return baseline_for(subject_a, by=investigator_a)


def _verify_url(record):
    ct, pk = record_pointer(record)
    return reverse("monitoring:record_verify", args=[record.subject.study_id, ct, pk])


def _review_url(record):
    ct, pk = record_pointer(record)
    return reverse("monitoring:record_review", args=[record.subject.study_id, ct, pk])


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.django_db
def test_whole_record_with_an_open_field_query_is_not_verified(client, baseline_a, monitor_a):
    query = query_open(
        record=baseline_a, field_name="weight_kg", text="Source says 57 kg", user=monitor_a
    )
    client.force_login(monitor_a)
    response = client.post(_verify_url(baseline_a), {"scope": "record"})
    assert response.status_code == 400
    raised = timezone.localdate(query.opened_at).isoformat()
    assert (
        f"Weight (kg) has an open query (#{query.pk}, raised {raised} by mon.a: "
        "\u201cSource says 57 kg\u201d): resolve it before verifying."
    ) in _text(response)
    assert not SourceVerification.objects.exists()


@pytest.mark.django_db
def test_the_queried_field_is_refused_other_fields_are_verified(client, baseline_a, monitor_a):
    query = query_open(
        record=baseline_a, field_name="weight_kg", text="Source says 57 kg", user=monitor_a
    )
    client.force_login(monitor_a)
    refused = client.post(_verify_url(baseline_a), {"scope": "fields", "fields": ["weight_kg"]})
    assert refused.status_code == 400
    assert f"open query (#{query.pk}" in _text(refused)
    assert not SourceVerification.objects.exists()

    other = client.post(_verify_url(baseline_a), {"scope": "fields", "fields": ["height_cm"]})
    assert other.status_code == 302
    assert SourceVerification.objects.get().fields == ["height_cm"]


@pytest.mark.django_db
def test_an_answered_query_blocks_until_closed(client, baseline_a, monitor_a, investigator_a):
    query = query_open(record=baseline_a, text="Check the whole form.", user=monitor_a)
    query_answer(query=query, text="Checked, all as in the source.", user=investigator_a)
    client.force_login(monitor_a)
    refused = client.post(_verify_url(baseline_a), {"scope": "fields", "fields": ["height_cm"]})
    assert refused.status_code == 400
    assert f"The record as a whole has an answered, not yet closed, query (#{query.pk}" in _text(
        refused
    )
    assert not SourceVerification.objects.exists()

    query_close(query=query, user=monitor_a)
    assert client.post(_verify_url(baseline_a), {"scope": "record"}).status_code == 302
    assert SourceVerification.objects.get().fields == []


@pytest.mark.django_db
def test_review_page_offers_each_action_once(client, baseline_a, monitor_a):
    client.force_login(monitor_a)
    page = _text(client.get(_review_url(baseline_a)))
    assert page.count("Mark verified") == 1
    assert page.count("Open query") == 1
    assert page.count(">Withdraw<") == 0


@pytest.mark.django_db
def test_correction_form_shows_the_question_it_answers(
    client, baseline_a, monitor_a, investigator_a
):
    query = query_open(
        record=baseline_a, field_name="weight_kg", text="Source says 57 kg", user=monitor_a
    )
    client.force_login(investigator_a)
    url = reverse("crf:record_edit", args=[baseline_a.subject.study_id, "baseline", baseline_a.pk])
    page = _text(client.get(url + f"?answers_query={query.pk}"))
    local = timezone.localtime(query.opened_at)
    assert "Saving this correction answers query" in page
    assert "Source says 57 kg" in page.split('id="answering-question"')[1].split("</blockquote>")[0]
    assert "by Marta Novakova" in page
    assert f"Raised {local:%Y-%m-%d %H:%M} {local.tzname()}" in page
    # The question stands above the form the investigator corrects.
    assert page.index('id="answering-query"') < page.index('name="reason_for_change"')
