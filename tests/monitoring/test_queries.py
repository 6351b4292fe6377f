"""Queries: raised by monitors on a field, answered by the site (with or without a correction),
closed and re-opened by the monitor; automatic queries from overridden soft edit checks."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.services import audited_save
from crf.models import Baseline, EditCheckConfirmation, Role
from monitoring.models import Query, QueryMessage
from monitoring.queries import query_age_days, query_close, query_open
from monitoring.records import record_pointer
from tests.factories import baseline_for, user_with_role

pytestmark = pytest.mark.verifies("UR-MON-02")

BASELINE_FORM = {
    "sex": "F",
    "year_of_birth": "1985",
    "height_cm": "170.0",
    "weight_kg": "75.0",
    "diagnosis_date": "2026-02-25",
    "leukocytes": "5.9",
    "marrow_blasts_percent": "81",
    "immunophenotype": "B-II",
    "cd20_positive": "no",
    "karyotype": "normal",
    "cns_status": "CNS1",
    "igtr_target_available": "on",
}


@pytest.fixture
def monitor_a(site_a):
    return user_with_role(Role.MONITOR, site_a, username="mon.a")


@pytest.fixture
def baseline_a(subject_a, investigator_a):
    return baseline_for(subject_a, by=investigator_a)


def _new_url(record, subject):
    ct, pk = record_pointer(record)
    return reverse("monitoring:query_new", args=[subject.study_id, ct, pk])


def _detail_url(query):
    return reverse("monitoring:query_detail", args=[query.subject.study_id, query.pk])


def _edit_url(record):
    return reverse("crf:record_edit", args=[record.subject.study_id, "baseline", record.pk])


def _subject_page(client, subject) -> str:
    return client.get(reverse("crf:subject_detail", args=[subject.study_id])).content.decode()


@pytest.mark.django_db
def test_query_lifecycle_from_opening_to_reopening(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    client.force_login(monitor_a)
    opened = client.post(
        _new_url(baseline_a, subject_a),
        {"field_name": "weight_kg", "text": "Source says 57 kg: please check."},
    )
    assert opened.status_code == 302
    query = Query.objects.get()
    assert (query.status, query.field_name, query.field_label, query.opened_by) == (
        Query.Status.OPEN,
        "weight_kg",
        "Weight (kg)",
        monitor_a,
    )

    client.force_login(investigator_a)
    assert "Source says 57 kg: please check." in _subject_page(client, subject_a)
    form_page = client.get(_edit_url(baseline_a)).content.decode()
    assert "Source says 57 kg: please check." in form_page
    assert "Weight (kg)" in form_page and "Correct the value and answer" in form_page

    answered = client.post(
        _detail_url(query),
        {"action": "answer", "answer-answer": "57 kg was the screening weight; 75 kg is right.",
         "next": _edit_url(baseline_a)},
    )  # fmt: skip
    assert answered.status_code == 302 and answered["Location"] == _edit_url(baseline_a)
    query.refresh_from_db()
    assert (query.status, query.answered_by) == (Query.Status.ANSWERED, investigator_a)
    assert Baseline.objects.get().weight_kg == Decimal("75.0")  # not changed

    client.force_login(monitor_a)
    closed = client.post(_detail_url(query), {"action": "close", "close-text": "Agreed."})
    assert closed.status_code == 302
    query.refresh_from_db()
    assert (query.status, query.closed_by) == (Query.Status.CLOSED, monitor_a)
    assert "No open query." in client.get(_subject_page_url(subject_a)).content.decode()

    reopened = client.post(
        _detail_url(query), {"action": "reopen", "reopen-text": "Scan of the source missing."}
    )
    assert reopened.status_code == 302
    query.refresh_from_db()
    assert (query.status, query.closed_by, query.closed_at) == (Query.Status.OPEN, None, None)

    reasons = list(
        query.history.order_by("history_id").values_list("history_change_reason", "status")
    )
    assert reasons == [
        (None, "open"),
        ("query answered", "answered"),
        ("query closed: Agreed.", "closed"),
        ("query re-opened: Scan of the source missing.", "open"),
    ]
    steps = list(query.messages.values_list("action", "author__username", "value_changed"))
    assert steps == [
        ("opened", "mon.a", False),
        ("answered", "inv.a", False),
        ("closed", "mon.a", False),
        ("reopened", "mon.a", False),
    ]
    detail = client.get(_detail_url(query)).content.decode()
    assert "Scan of the source missing." in detail and "query answered" in detail


def _subject_page_url(subject):
    return reverse("crf:subject_detail", args=[subject.study_id])


@pytest.mark.django_db
def test_answer_with_a_correction_changes_the_value_and_answers_in_one_step(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    query = query_open(record=baseline_a, field_name="weight_kg", text="57 kg?", user=monitor_a)
    client.force_login(investigator_a)
    url = _edit_url(baseline_a) + f"?answers_query={query.pk}"
    page = client.get(url).content.decode()
    assert f"Saving this correction answers query #{query.pk}" in page

    saved = client.post(
        url,
        {**BASELINE_FORM, "weight_kg": "57", "version": "1",
         "reason_for_change": "transcription error, source says 57 kg"},
    )  # fmt: skip
    assert saved.status_code == 302
    baseline = Baseline.objects.get()
    assert (baseline.weight_kg, baseline.version) == (Decimal("57.0"), 2)
    last = baseline.history.order_by("-history_id").first()
    assert last.history_change_reason == "transcription error, source says 57 kg"
    query.refresh_from_db()
    assert (query.status, query.answer, query.answered_by) == (
        Query.Status.ANSWERED,
        "transcription error, source says 57 kg",
        investigator_a,
    )
    answer = query.messages.get(action=QueryMessage.Action.ANSWERED)
    assert answer.value_changed and answer.text == "transcription error, source says 57 kg"
    history = client.get(_edit_url(baseline_a)).content.decode()
    assert "transcription error, source says 57 kg" in history  # the record's inline history


@pytest.mark.django_db
def test_a_correction_cannot_answer_a_closed_query_and_then_saves_nothing(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    query = query_open(record=baseline_a, field_name="weight_kg", text="57 kg?", user=monitor_a)
    query_close(query=query, user=monitor_a)
    client.force_login(investigator_a)
    response = client.post(
        _edit_url(baseline_a) + f"?answers_query={query.pk}",
        {**BASELINE_FORM, "weight_kg": "57", "version": "1", "reason_for_change": "typo"},
    )
    assert response.status_code == 200
    assert f"Query #{query.pk} is closed." in response.content.decode()
    baseline = Baseline.objects.get()
    assert (baseline.weight_kg, baseline.version) == (Decimal("75.0"), 1)
    assert baseline.history.count() == 1
    assert not QueryMessage.objects.filter(action=QueryMessage.Action.ANSWERED).exists()


@pytest.mark.django_db
def test_aging_counts_days_while_open_or_answered(subject_a, baseline_a, monitor_a):
    query = query_open(record=baseline_a, text="Check the whole form.", user=monitor_a)
    later = query.opened_at + datetime.timedelta(days=9)
    assert query_age_days(query, later) == 9
    query.status = Query.Status.ANSWERED
    assert query_age_days(query, later) == 9
    query.status = Query.Status.CLOSED
    assert query_age_days(query, later) is None


def _old_query(record, subject, user, days, text):
    ct, pk = record_pointer(record)
    return audited_save(
        Query(subject=subject, content_type_id=ct, object_id=pk, text=text, opened_by=user,
              opened_at=timezone.now() - datetime.timedelta(days=days)),
        user=user,
    )  # fmt: skip


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_lists_show_the_sites_the_user_sees_filtered_by_site_and_opener(
    client, site_a, site_b, subject_a, subject_b, baseline_a, investigator_b, monitor_a
):
    baseline_b = baseline_for(subject_b, by=investigator_b)
    monitor_b = user_with_role(Role.MONITOR, site_b, username="mon.b")
    manager = user_with_role(Role.DATA_MANAGER, None, username="dm")  # study-wide
    _old_query(baseline_a, subject_a, monitor_a, 9, "Query A by the site monitor")
    query_open(record=baseline_a, text="Query A by the data manager", user=manager)
    query_open(record=baseline_b, text="Query B by the monitor of B", user=monitor_b)
    url = reverse("monitoring:query_list")

    client.force_login(monitor_a)
    page = client.get(url)
    body = page.content.decode()
    assert "Query A by the site monitor" in body and "Query A by the data manager" in body
    assert "Query B" not in body and subject_b.study_id not in body
    ages = [row.age_days for row in page.context["page"]]
    assert ages == [9, 0]  # oldest first
    openers = {u.username for u in page.context["filters"].fields["opened_by"].queryset}
    assert openers == {"mon.a", "dm"}  # nobody known only from another site

    client.force_login(manager)
    everything = client.get(url).content.decode()
    assert "Query B by the monitor of B" in everything and "Query A by" in everything
    only_b = client.get(url, {"status": "unresolved", "site": site_b.pk}).content.decode()
    assert "Query B by the monitor of B" in only_b and "Query A by" not in only_b
    by_manager = client.get(url, {"status": "", "opened_by": manager.pk}).content.decode()
    assert "Query A by the data manager" in by_manager
    assert "Query A by the site monitor" not in by_manager and "Query B" not in by_manager
    closed = client.get(url, {"status": "closed"}).content.decode()
    assert "No query." in closed


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_monitor_cannot_answer_and_investigator_cannot_open_or_close(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    query = query_open(record=baseline_a, text="Check.", user=monitor_a)
    client.force_login(monitor_a)
    refused = client.post(_detail_url(query), {"action": "answer", "answer-answer": "fine"})
    assert refused.status_code == 403
    client.force_login(investigator_a)
    assert client.post(_new_url(baseline_a, subject_a), {"text": "x"}).status_code == 403
    assert client.get(_new_url(baseline_a, subject_a)).status_code == 403
    refused = client.post(_detail_url(query), {"action": "close", "close-text": "done"})
    assert refused.status_code == 403
    query.refresh_from_db()
    assert query.status == Query.Status.OPEN and query.version == 1
    assert Query.objects.count() == 1 and query.messages.count() == 1


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_sponsor_and_central_lab_cannot_take_part(client, site_a, subject_a, baseline_a, monitor_a):
    query = query_open(record=baseline_a, text="Check.", user=monitor_a)
    sponsor = user_with_role(Role.SPONSOR, None)
    client.force_login(sponsor)
    assert client.get(reverse("monitoring:query_list")).status_code == 403
    assert client.get(_detail_url(query)).status_code == 404
    lab = user_with_role(Role.CENTRAL_LAB, None)
    client.force_login(lab)
    assert client.post(_new_url(baseline_a, subject_a), {"text": "x"}).status_code == 403
    answer = client.post(_detail_url(query), {"action": "answer", "answer-answer": "ok"})
    assert answer.status_code == 403
    query.refresh_from_db()
    assert query.status == Query.Status.OPEN and Query.objects.count() == 1


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_another_sites_monitor_gets_404_for_a_query(client, site_b, baseline_a, monitor_a):
    query = query_open(record=baseline_a, text="Check.", user=monitor_a)
    client.force_login(user_with_role(Role.MONITOR, site_b))
    response = client.post(_detail_url(query), {"action": "close", "close-text": "x"})
    assert response.status_code == 404
    assert Query.objects.get().status == Query.Status.OPEN


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field_name": "weight_kg", "text": "  "}, "Write the question for the site."),
        ({"field_name": "favourite_colour", "text": "?"}, "This record has no such field"),
        ({"field_name": "version", "text": "?"}, "This record has no such field"),
    ],
)
def test_bad_input_opens_no_query_and_says_why(
    client, subject_a, baseline_a, monitor_a, data, message
):
    client.force_login(monitor_a)
    response = client.post(_new_url(baseline_a, subject_a), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Query.objects.exists() and not QueryMessage.objects.exists()


@pytest.mark.django_db
def test_a_record_of_another_subject_cannot_be_queried(
    client, site_a, subject_a, baseline_a, investigator_a
):
    from tests.factories import enrol

    other = enrol(site_a, by=investigator_a)
    client.force_login(user_with_role(Role.DATA_MANAGER, site_a))
    ct, pk = record_pointer(baseline_a)
    url = reverse("monitoring:query_new", args=[other.study_id, ct, pk])
    assert client.post(url, {"text": "wrong subject"}).status_code == 404
    assert not Query.objects.exists()


@pytest.mark.django_db
def test_empty_answer_and_unknown_step_save_nothing(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    query = query_open(record=baseline_a, text="Check.", user=monitor_a)
    client.force_login(investigator_a)
    empty = client.post(_detail_url(query), {"action": "answer", "answer-answer": " "})
    assert "Write the answer to the query." in empty.content.decode()
    unknown = client.post(_detail_url(query), {"action": "delete"}, follow=True)
    assert "Choose answer, close or re-open." in unknown.content.decode()
    query.refresh_from_db()
    assert query.status == Query.Status.OPEN and query.messages.count() == 1


@pytest.mark.verifies("UR-REC-03")
@pytest.mark.django_db
def test_overridden_soft_check_becomes_an_automatic_query_for_the_monitor(
    client, subject_a, investigator_a, monitor_a
):
    client.force_login(investigator_a)
    url = reverse("crf:record_new", args=[subject_a.study_id, "baseline"])
    data = {**BASELINE_FORM, "height_cm": "135"}
    assert client.post(url, data).status_code == 200  # warning shown, nothing saved
    assert not Query.objects.exists()
    saved = client.post(
        url, {**data, "warning_codes": "height_implausible", "confirm_warnings": "on"}
    )
    assert saved.status_code == 302
    confirmation = EditCheckConfirmation.objects.get()
    query = Query.objects.get()
    assert (query.origin, query.status, query.field_name, query.opened_by) == (
        Query.Origin.EDIT_CHECK,
        Query.Status.OPEN,
        "height_cm",
        investigator_a,
    )
    assert query.text == confirmation.message and query.edit_check == confirmation
    assert query.record == Baseline.objects.get()

    client.force_login(monitor_a)
    listed = client.get(reverse("monitoring:query_list"), {"origin": "edit_check"})
    body = listed.content.decode()
    assert "Height 135" in body and "edit check" in body


@pytest.mark.django_db
def test_query_list_query_count_does_not_grow_with_queries(
    client, subject_a, baseline_a, monitor_a, django_assert_max_num_queries
):
    # each kind of record queried is named in one query: both kinds are there from the start
    query_open(record=baseline_a, text="First.", user=monitor_a)
    query_open(record=subject_a, text="On the subject.", user=monitor_a)
    client.force_login(monitor_a)
    url = reverse("monitoring:query_list")
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for n in range(8):
        query_open(record=baseline_a, field_name="height_cm", text=f"Q{n}", user=monitor_a)
    query_open(record=subject_a, text="Again on the subject.", user=monitor_a)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)
    assert page.context["page"].paginator.count == 11


@pytest.mark.django_db
def test_query_form_preselects_the_field_and_the_nav_links_to_the_lists(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    client.force_login(monitor_a)
    page = client.get(_new_url(baseline_a, subject_a), {"field": "weight_kg"}).content.decode()
    assert '<option value="weight_kg" selected>Weight (kg)</option>' in page
    assert f'href="{reverse("monitoring:query_list")}"' in page
    assert f'href="{reverse("monitoring:sdv_overview")}"' in page
    client.force_login(investigator_a)
    page = client.get(_subject_page_url(subject_a)).content.decode()
    assert f'href="{reverse("monitoring:query_list")}"' not in page
