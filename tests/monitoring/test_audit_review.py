"""The audit trail of a subject: field-level rows, newest first, in pages, exportable."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from crf.models import Role
from crf.services import record_save
from monitoring.audit_review import subject_audit_rows
from tests.factories import baseline_for, lab_panel_for, user_with_role

pytestmark = pytest.mark.verifies("UR-MON-01")


def _correct_weight(baseline, user, kg, reason):
    baseline.weight_kg = Decimal(kg)
    return record_save(baseline, user=user, reason=reason)


@pytest.mark.django_db
def test_a_change_shows_field_old_and_new_value_user_and_reason(subject_a, investigator_a):
    baseline = baseline_for(subject_a, by=investigator_a)
    _correct_weight(baseline, investigator_a, "76", "scale recalibrated")
    rows = subject_audit_rows(subject_a)
    change = rows[0]  # newest first
    assert (change.form, change.field, change.old, change.new) == (
        "Baseline",
        "Weight (kg)",
        "75",
        "76",
    )
    assert (change.user, change.reason, change.kind) == (
        investigator_a.username,
        "scale recalibrated",
        "changed",
    )
    assert "Investigator (site 1)" in change.user_roles
    created = [r for r in rows if r.form == "Baseline" and r.kind == "created"]
    assert any(r.field == "Sex" and r.new == "Female" for r in created)  # coded value shown


@pytest.mark.django_db
def test_records_reached_through_their_parent_are_included(subject_a, investigator_a):
    lab_panel_for(subject_a, by=investigator_a)
    forms = {r.form for r in subject_audit_rows(subject_a)}
    assert {"Lab value", "Lab panel", "Subject", "Visit", "Screening"} <= forms


@pytest.mark.django_db
def test_page_and_csv_for_a_monitor(client, subject_a, investigator_a):
    baseline = baseline_for(subject_a, by=investigator_a)
    _correct_weight(baseline, investigator_a, "74", "=HYPERLINK(1)")
    client.force_login(user_with_role(Role.MONITOR, subject_a.site))
    url = reverse("monitoring:subject_audit", args=[subject_a.study_id])
    page = client.get(url, {"form": "Baseline"})
    assert page.status_code == 200
    assert "Weight (kg)" in page.content.decode()
    assert len(page.context["page"].events) >= 2
    exported = client.get(url, {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[0][:3] == ["time_utc", "user", "user_roles"]
    reasons = [r[rows[0].index("reason")] for r in rows[1:]]
    assert "'=HYPERLINK(1)" in reasons  # formula prefix neutralised


@pytest.mark.django_db
def test_long_history_opens_with_a_bounded_number_of_queries(
    client, subject_a, investigator_a, django_assert_max_num_queries
):
    baseline = baseline_for(subject_a, by=investigator_a)
    for n in range(3):
        baseline = _correct_weight(baseline, investigator_a, str(50 + n), f"first {n}")
    client.force_login(investigator_a)
    url = reverse("monitoring:subject_audit", args=[subject_a.study_id])
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for n in range(120):
        baseline = _correct_weight(baseline, investigator_a, str(60 + n % 50), f"correction {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    page = response.context["page"]
    assert len(page.events) == 50 and page.older is not None  # and an older page to go to
    newest = page.events[0]
    assert (newest.reason, newest.changes[0].new) == ("correction 119", "79")
