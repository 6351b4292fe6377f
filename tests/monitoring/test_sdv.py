"""Source data verification: marks on records or fields, voided by any later change of what they
cover, progress per subject and site, re-verification and withdrawal."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crf.models import Role, Visit
from crf.services import record_save
from monitoring.models import SourceVerification
from monitoring.records import record_pointer
from monitoring.sdv import Progress, marks_by_record, record_sdv, record_verify, sdv_progress
from tests.factories import baseline_for, enrol, user_with_role

pytestmark = pytest.mark.verifies("UR-MON-03")


@pytest.fixture
def monitor_a(site_a):
    return user_with_role(Role.MONITOR, site_a, username="mon.a")


@pytest.fixture
def baseline_a(subject_a, investigator_a):
    return baseline_for(subject_a, by=investigator_a)


def _verify_url(record):
    ct, pk = record_pointer(record)
    return reverse("monitoring:record_verify", args=[record.subject.study_id, ct, pk])


def _review_url(record):
    ct, pk = record_pointer(record)
    return reverse("monitoring:record_review", args=[record.subject.study_id, ct, pk])


def _change(record, user, reason="corrected from the source", **values):
    for name, value in values.items():
        setattr(record, name, value)
    saved = record_save(record, user=user, reason=reason)
    return type(saved).objects.get(pk=saved.pk)  # as stored, as every page reads it


@pytest.mark.django_db
def test_whole_record_mark_is_cleared_by_a_change_and_listed_as_changed(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    client.force_login(monitor_a)
    response = client.post(_verify_url(baseline_a), {"scope": "record"})
    assert response.status_code == 302
    mark = SourceVerification.objects.get()
    assert (mark.fields, mark.record_version, mark.verified_by) == ([], 1, monitor_a)
    review = client.get(_review_url(baseline_a)).content.decode()
    assert "The whole record matches the source." in review

    _change(baseline_a, investigator_a, weight_kg=Decimal("74"))
    assert not record_sdv(baseline_a).verified
    review = client.get(_review_url(baseline_a)).content.decode()
    assert "Not verified" in review and "changed after verification on" in review
    changed = client.get(reverse("monitoring:sdv_changed")).content.decode()
    today = timezone.localdate().isoformat()
    assert f"changed after verification on {today}, now version 2" in changed
    assert subject_a.study_id in changed


@pytest.mark.django_db
def test_field_marks_are_cleared_only_by_a_change_of_a_verified_field(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    client.force_login(monitor_a)
    response = client.post(
        _verify_url(baseline_a), {"scope": "fields", "fields": ["height_cm", "sex"]}
    )
    assert response.status_code == 302
    assert SourceVerification.objects.get().fields == ["height_cm", "sex"]
    state = record_sdv(baseline_a)
    assert state.verified_fields == {"height_cm", "sex"} and not state.verified

    baseline = _change(baseline_a, investigator_a, weight_kg=Decimal("74"))  # not verified
    assert record_sdv(baseline).verified_fields == {"height_cm", "sex"}
    assert (
        "No verified record has changed."
        in client.get(reverse("monitoring:sdv_changed")).content.decode()
    )

    baseline = _change(baseline, investigator_a, height_cm=Decimal("171"))
    state = record_sdv(baseline)
    assert state.verified_fields == set() and len(state.changed_after_verification) == 1
    changed = client.get(reverse("monitoring:sdv_changed")).content.decode()
    assert "Height (cm), Sex" in changed and "now version 3" in changed


@pytest.mark.django_db
def test_progress_per_subject_and_site_counts_valid_whole_record_marks(
    client, site_a, subject_a, baseline_a, monitor_a, investigator_a
):
    other = enrol(site_a, by=investigator_a)
    # Clinical records by hand: the subject, its planned visits, its baseline (if any).
    visits_a = Visit.objects.filter(subject=subject_a).count()
    visits_other = Visit.objects.filter(subject=other).count()
    total_a, total_other = 1 + visits_a + 1, 1 + visits_other
    record_verify(record=subject_a, user=monitor_a)
    record_verify(record=baseline_a, user=monitor_a)
    record_verify(record=other, user=monitor_a)
    record_verify(record=baseline_a, fields=["sex"], user=monitor_a)  # fields: not a record
    assert sdv_progress([subject_a.pk, other.pk]) == {
        subject_a.pk: Progress(2, total_a),
        other.pk: Progress(1, total_other),
    }

    _change(baseline_a, investigator_a, weight_kg=Decimal("74"))
    progress = sdv_progress([subject_a.pk, other.pk])
    assert (progress[subject_a.pk].verified, progress[subject_a.pk].total) == (1, total_a)

    client.force_login(monitor_a)
    page = client.get(reverse("monitoring:sdv_overview"))
    sites = dict(page.context["sites"])
    assert (sites[site_a].verified, sites[site_a].total) == (2, total_a + total_other)
    body = page.content.decode()
    assert f"<td>2</td><td>{total_a + total_other}</td>" in body
    panel = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    assert f"Source data verified: 1 of {total_a} records" in panel


@pytest.mark.django_db
def test_reverifying_a_changed_record_and_withdrawing_a_mark(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    record_verify(record=baseline_a, user=monitor_a)
    baseline = _change(baseline_a, investigator_a, weight_kg=Decimal("74"))
    client.force_login(monitor_a)
    assert client.post(_verify_url(baseline), {"scope": "record"}).status_code == 302
    state = record_sdv(baseline)
    assert state.verified and state.changed_after_verification == []
    assert (
        "No verified record has changed."
        in client.get(reverse("monitoring:sdv_changed")).content.decode()
    )

    current = state.valid[0]
    url = reverse("monitoring:verification_withdraw", args=[subject_a.study_id, current.pk])
    client.post(url, {"reason": ""})
    assert not SourceVerification.objects.get(pk=current.pk).withdrawn  # a reason is needed
    client.post(url, {"reason": "verified the wrong patient's chart"})
    current.refresh_from_db()
    assert current.withdrawn and not record_sdv(baseline).verified
    last = current.history.order_by("-history_id").first()
    assert last.history_change_reason == (
        "verification withdrawn: verified the wrong patient's chart"
    )


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_investigator_cannot_verify_and_bad_input_saves_nothing(
    client, subject_a, baseline_a, monitor_a, investigator_a
):
    client.force_login(investigator_a)
    assert client.post(_verify_url(baseline_a), {"scope": "record"}).status_code == 403
    client.force_login(user_with_role(Role.DATA_MANAGER, None))
    assert client.post(_verify_url(baseline_a), {"scope": "record"}).status_code == 403
    client.force_login(monitor_a)
    none_ticked = client.post(_verify_url(baseline_a), {"scope": "fields"})
    assert none_ticked.status_code == 400
    assert "Tick the fields you verified." in none_ticked.content.decode()
    unknown = client.post(_verify_url(baseline_a), {"scope": "fields", "fields": ["version"]})
    assert "This record has no such field" in unknown.content.decode()
    assert not SourceVerification.objects.exists()


@pytest.mark.django_db
def test_marks_are_read_for_many_records_in_few_queries(
    subject_a, baseline_a, monitor_a, django_assert_max_num_queries
):
    for visit in Visit.objects.filter(subject=subject_a):
        record_verify(record=visit, user=monitor_a)
    record_verify(record=baseline_a, user=monitor_a)
    with django_assert_max_num_queries(4):
        states = marks_by_record([subject_a.pk])
    assert sum(state.verified for state in states.values()) == len(states)


@pytest.mark.django_db
def test_the_overview_summary_agrees_with_reading_every_marked_record(
    subject_a, baseline_a, monitor_a, investigator_a, site_a
):
    """The SDV overview, the changed list and the monitor's start page read a summary that
    hashes only records changed since their marks; it must say what reading and hashing every
    marked record says: verified, changed, changed and changed back, a field mark whose field
    changed, a visit entered in error, a withdrawn mark."""
    from monitoring.sdv import sdv_summary, verification_withdraw

    other = enrol(site_a, by=investigator_a)
    visits = list(Visit.objects.filter(subject=subject_a).order_by("pk"))
    record_verify(record=subject_a, user=monitor_a)
    record_verify(record=baseline_a, user=monitor_a)
    for visit in visits[:3]:
        record_verify(record=visit, user=monitor_a)
    other_visit = Visit.objects.filter(subject=other).order_by("pk").first()
    record_verify(record=other_visit, fields=["notes"], user=monitor_a)
    record_verify(record=other, user=monitor_a)
    withdrawn = record_verify(record=visits[3], user=monitor_a)
    verification_withdraw(verification=withdrawn, user=monitor_a, reason="wrong chart")

    weight = baseline_a.weight_kg
    changed = _change(baseline_a, investigator_a, weight_kg=weight + 1)  # changed
    _change(changed, investigator_a, weight_kg=weight)  # ... and back: valid again
    _change(visits[1], investigator_a, entered_in_error=True)  # no longer counts
    _change(visits[2], investigator_a, notes="seen at 09:00")  # changed
    _change(other_visit, investigator_a, notes="called back")  # the verified field changed

    ids = [subject_a.pk, other.pk]
    summary = sdv_summary(ids)
    states = marks_by_record(ids)
    assert summary.progress == sdv_progress(ids, states)
    from monitoring.sdv import changed_after_verification

    expected = changed_after_verification(states)
    assert [(c.mark.pk, c.record.pk, c.record.version) for c in summary.changed] == [
        (c.mark.pk, c.record.pk, c.record.version) for c in expected
    ]
    # What a monitor sees: the subject, the baseline (changed back) and the first visit verified.
    assert summary.progress[subject_a.pk].verified == 3
    assert {(type(c.record).__name__, c.record.pk) for c in summary.changed} == {
        ("Visit", visits[1].pk),  # entered in error: a change the monitor sees
        ("Visit", visits[2].pk),
        ("Visit", other_visit.pk),
    }
    assert summary.progress[other.pk].verified == 1
