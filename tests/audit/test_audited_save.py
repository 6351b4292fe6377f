"""Every change after the first save has a reason, a user and a time; stale edits are refused."""

import datetime

import pytest
from django.utils import timezone

from audit.errors import ReasonForChangeRequired, StaleVersionError
from audit.models import UnauditedChangeError
from audit.services import audited_save
from crf.models import Subject

pytestmark = pytest.mark.verifies("UR-AUD-01")


@pytest.mark.django_db
def test_creation_is_recorded_with_user_and_utc_time(subject_a, investigator_a):
    created = subject_a.history.get()
    assert created.history_type == "+"
    assert created.history_user == investigator_a
    assert created.history_change_reason == "enrolled"
    assert created.history_date.utcoffset() == datetime.timedelta(0)
    assert abs(timezone.now() - created.history_date) < datetime.timedelta(minutes=1)


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_change_without_reason_is_refused_and_nothing_saved(subject_a, investigator_a):
    subject_a.day1_date = datetime.date(2026, 3, 9)
    with pytest.raises(ReasonForChangeRequired) as refusal:
        audited_save(subject_a, user=investigator_a, reason="   ")
    assert "reason_for_change" in refusal.value.message_dict
    assert Subject.objects.get(pk=subject_a.pk).day1_date == datetime.date(2026, 3, 2)
    assert subject_a.history.count() == 1


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_change_with_reason_records_old_and_new_values(subject_a, investigator_a):
    subject_a.day1_date = datetime.date(2026, 3, 9)
    audited_save(subject_a, user=investigator_a, reason="transcription error")
    latest, first = subject_a.history.order_by("-history_id")[:2]
    assert (latest.history_type, latest.history_change_reason) == ("~", "transcription error")
    assert latest.history_user == investigator_a
    diff = latest.diff_against(first)
    assert [(c.field, c.old, c.new) for c in diff.changes] == [
        ("day1_date", datetime.date(2026, 3, 2), datetime.date(2026, 3, 9)),
    ]
    assert (first.version, latest.version) == (1, 2)


@pytest.mark.django_db
def test_plain_save_of_a_change_is_refused(subject_a):
    subject_a.status = Subject.Status.WITHDRAWN
    with pytest.raises(UnauditedChangeError):
        subject_a.save()
    assert Subject.objects.get(pk=subject_a.pk).status == Subject.Status.ENROLLED


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_stale_version_is_refused(subject_a, investigator_a):
    first_view = Subject.objects.get(pk=subject_a.pk)
    second_view = Subject.objects.get(pk=subject_a.pk)
    first_view.day1_date = datetime.date(2026, 3, 3)
    audited_save(first_view, user=investigator_a, reason="first correction")
    second_view.day1_date = datetime.date(2026, 3, 4)
    with pytest.raises(StaleVersionError) as refusal:
        audited_save(second_view, user=investigator_a, reason="second correction")
    assert "changed this record" in refusal.value.message
    stored = Subject.objects.get(pk=subject_a.pk)
    assert (stored.day1_date, stored.version) == (datetime.date(2026, 3, 3), 2)
