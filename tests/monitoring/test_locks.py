"""Locks: a data manager locks a site, a subject or a form; locked data refuses every edit."""

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from crf.models import Baseline, InfusionInterruption, Role
from crf.services import record_save
from crf.services.infusion import infusion_interrupt
from monitoring.locks import RecordLocked, lock_create, lock_release
from monitoring.models import Lock
from monitoring.records import record_pointer
from mrd.models import MrdResult, MrdUpload
from mrd.services import sample_record
from mrd.upload import COLUMNS
from safety.models import AdverseEvent, CtcaeTerm, LabValue
from tests.factories import (
    baseline_for,
    day11_for,
    enrol,
    infusion_started_for,
    lab_panel_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-LCK-01")

REASON = "database lock for interim analysis"
BASELINE_POST = {
    "sex": "F",
    "year_of_birth": "1985",
    "height_cm": "170",
    "weight_kg": "80",
    "diagnosis_date": "2026-02-25",
    "leukocytes": "5.9",
    "marrow_blasts_percent": "81",
    "immunophenotype": "B-II",
    "cd20_positive": "no",
    "karyotype": "normal",
    "cns_status": "CNS1",
    "igtr_target_available": "on",
    "version": "1",
    "reason_for_change": "weighed again",
}


@pytest.fixture
def data_manager(db):
    return user_with_role(Role.DATA_MANAGER, None, username="datamanager")


@pytest.fixture
def baseline(subject_a, investigator_a):
    return baseline_for(subject_a, by=investigator_a)


def _lock(level, subject, by, record=None):
    return lock_create(
        level=level,
        site=subject.site if level == Lock.Level.SITE else None,
        subject=subject if level == Lock.Level.SUBJECT else None,
        record=record,
        reason=REASON,
        user=by,
    )


def _expected_message(lock, target):
    # the site's time with its zone, as the rest of the page (Europe/Prague)
    at = lock.locked_at.astimezone(ZoneInfo("Europe/Prague")).strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"{target} is locked (locked by datamanager on {at}: {REASON}). "
        "Ask a data manager to unlock it before changing its data."
    )


def _change_weight(subject, by, weight="81"):
    record = Baseline.objects.get(subject=subject)
    record.weight_kg = Decimal(weight)
    return record_save(record, user=by, reason="weighed again")


def _page(client, subject) -> str:
    return client.get(reverse("crf:subject_detail", args=[subject.study_id])).content.decode()


# --- The record form, for each level of lock ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("level", "target"),
    [
        (Lock.Level.SITE, "Site 1 Prague"),
        (Lock.Level.SUBJECT, "Subject 1-01"),
        (Lock.Level.FORM, "Baseline, subject 1-01"),
    ],
)
def test_a_lock_refuses_the_record_form_and_names_the_lock(
    client, subject_a, investigator_a, data_manager, baseline, level, target
):
    lock = _lock(level, subject_a, data_manager, record=baseline)
    message = _expected_message(lock, target)
    client.force_login(investigator_a)
    url = reverse("crf:record_edit", args=[subject_a.study_id, "baseline", baseline.pk])

    assert message in client.get(url).content.decode()  # the notice on the form page
    response = client.post(url, BASELINE_POST)

    assert response.status_code == 200
    assert message in response.content.decode()
    baseline.refresh_from_db()
    assert (baseline.weight_kg, baseline.version) == (Decimal("75.0"), 1)
    assert baseline.history.count() == 1


@pytest.mark.django_db
def test_a_lock_leaves_other_subjects_and_sites_alone(
    subject_a, investigator_a, subject_b, investigator_b, data_manager, baseline
):
    other_a = enrol(subject_a.site, by=investigator_a)
    baseline_for(other_a, by=investigator_a)
    baseline_for(subject_b, by=investigator_b)
    _lock(Lock.Level.SUBJECT, subject_a, data_manager)
    _lock(Lock.Level.FORM, other_a, data_manager, record=other_a.visits.first())

    assert _change_weight(other_a, investigator_a).version == 2  # only its visit is locked
    assert _change_weight(subject_b, investigator_b).version == 2
    with pytest.raises(RecordLocked):
        _change_weight(subject_a, investigator_a)


@pytest.mark.django_db
def test_a_subject_lock_refuses_a_direct_service_call_as_a_command_would_make(
    subject_a, investigator_a, data_manager, baseline
):
    lock = _lock(Lock.Level.SUBJECT, subject_a, data_manager)
    with pytest.raises(RecordLocked) as refused:
        _change_weight(subject_a, investigator_a)
    assert refused.value.messages == [_expected_message(lock, "Subject 1-01")]
    with pytest.raises(RecordLocked):  # creating a record of a locked subject too
        day11_for(subject_a, by=investigator_a)
    assert Baseline.objects.get().weight_kg == Decimal("75.0")


@pytest.mark.django_db
def test_a_lock_refuses_the_infusion_services_as_a_command_would_call_them(
    subject_a, investigator_a, data_manager
):
    day11_for(subject_a, by=investigator_a)
    infusion = infusion_started_for(subject_a, by=investigator_a)
    lock = _lock(Lock.Level.FORM, subject_a, data_manager, record=infusion)
    with pytest.raises(RecordLocked) as refused:
        infusion_interrupt(
            record=infusion,
            started_at=infusion.started_at + datetime.timedelta(days=2),
            reason="hepatic",
            reason_other="",
            user=investigator_a,
        )
    day = timezone.localdate(infusion.started_at)
    target = f"Blinatumomab cycle 1 (from {day:%Y-%m-%d}), subject 1-01"
    assert refused.value.messages == [_expected_message(lock, target)]
    assert not InfusionInterruption.objects.exists()


@pytest.mark.django_db
def test_a_site_lock_refuses_enrolment_at_that_site(site_a, investigator_a, data_manager):
    lock_create(level=Lock.Level.SITE, site=site_a, reason=REASON, user=data_manager)
    with pytest.raises(RecordLocked, match="Site 1 Prague is locked"):
        enrol(site_a, by=investigator_a)


# --- Other pages that write -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lock_refuses_an_infusion_action(client, subject_a, investigator_a, data_manager):
    day11_for(subject_a, by=investigator_a)
    infusion = infusion_started_for(subject_a, by=investigator_a)
    lock = _lock(Lock.Level.SUBJECT, subject_a, data_manager)
    client.force_login(investigator_a)
    started = timezone.localtime(infusion.started_at) + datetime.timedelta(days=2)
    response = client.post(
        reverse("crf:infusion_action", args=[subject_a.study_id, "interrupt"]),
        {"interrupt-started_at": started.strftime("%Y-%m-%dT%H:%M"), "interrupt-reason": "hepatic"},
    )
    assert response.status_code == 200
    assert _expected_message(lock, "Subject 1-01") in response.content.decode()
    assert not InfusionInterruption.objects.exists()


@pytest.mark.django_db
def test_a_lock_of_the_panel_refuses_a_lab_value_edit(
    client, subject_a, investigator_a, data_manager
):
    panel = lab_panel_for(subject_a, by=investigator_a)
    value = panel.values.get()
    lock = _lock(Lock.Level.FORM, subject_a, data_manager, record=panel)
    client.force_login(investigator_a)
    response = client.post(
        reverse("safety:lab_value", args=[subject_a.study_id, value.pk]),
        {"value": "90", "unit": "U/L", "uln": "40", "version": "1", "reason_for_change": "typo"},
    )
    assert response.status_code == 200
    sampled = timezone.localtime(panel.sampled_at).strftime("%Y-%m-%d %H:%M %Z")
    assert _expected_message(lock, f"Lab panel {sampled}, subject 1-01") in (
        response.content.decode()
    )
    assert LabValue.objects.get().value == Decimal("250")


@pytest.mark.django_db
def test_a_site_lock_refuses_the_adverse_event_form(
    client, subject_a, investigator_a, data_manager
):
    lock = _lock(Lock.Level.SITE, subject_a, data_manager)
    code = CtcaeTerm.objects.get(term="Alanine aminotransferase increased").meddra_code
    client.force_login(investigator_a)
    response = client.post(
        reverse("safety:adverse_event_new", args=[subject_a.study_id]),
        {
            "term": f"Alanine aminotransferase increased ({code})",
            "verbatim": "ALT up",
            "onset_date": "2026-03-15",
            "grade": "3",
            "relationship_blinatumomab": "probable",
            "relationship_chemotherapy": "unlikely",
            "action_blinatumomab": "interrupted",
            "outcome": "recovered",
        },
    )
    assert response.status_code == 200
    assert _expected_message(lock, "Site 1 Prague") in response.content.decode()
    assert not AdverseEvent.objects.exists()


def _sample(subject, by):
    return sample_record(
        subject=subject,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=by,
    )


@pytest.mark.django_db
def test_a_subject_lock_refuses_an_mrd_result(
    client, subject_a, investigator_a, data_manager, central_lab
):
    sample = _sample(subject_a, investigator_a)
    lock = _lock(Lock.Level.SUBJECT, subject_a, data_manager)
    client.force_login(central_lab)
    response = client.post(
        reverse("mrd:result", args=[sample.accession, "qpcr"]),
        {
            "markers": "IGH VDJ",
            "result_class": "quantifiable",
            "value": "1.2E-4",
            "sensitivity": "1E-5",
            "quantitative_range": "1E-4",
            "report_date": "2026-05-20",
        },
    )
    assert response.status_code == 200
    assert _expected_message(lock, "Subject 1-01") in response.content.decode()
    assert not MrdResult.objects.exists()


def _csv(*accessions) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for accession in accessions:
        writer.writerow(
            {
                "accession": accession,
                "method": "qpcr",
                "result": "negative",
                "sensitivity": "1E-5",
                "report_date": "2026-05-20",
            }
        )
    return out.getvalue().encode()


@pytest.mark.verifies("UR-MRD-02")
@pytest.mark.django_db
def test_a_locked_sample_is_a_row_error_of_the_upload_and_nothing_is_saved(
    client, subject_a, investigator_a, data_manager, central_lab
):
    other = enrol(subject_a.site, by=investigator_a)
    free, locked = _sample(other, investigator_a), _sample(subject_a, investigator_a)
    lock = _lock(Lock.Level.FORM, subject_a, data_manager, record=locked)
    client.force_login(central_lab)
    client.post(
        reverse("mrd:upload"),
        {"file": SimpleUploadedFile("batch.csv", _csv(free.accession, locked.accession))},
    )
    upload = MrdUpload.objects.get()

    preview = client.get(reverse("mrd:upload_preview", args=[upload.pk]))
    rows = preview.context["preview"].rows
    assert rows[0].errors == []
    assert rows[1].errors == [
        (
            "accession",
            _expected_message(
                lock, f"MRD sample W11 bone marrow 2026-05-12 ({locked.accession}), subject 1-01"
            ),
        )
    ]
    client.post(reverse("mrd:upload_commit", args=[upload.pk]))
    assert not MrdResult.objects.exists()
    assert MrdUpload.objects.get().status != MrdUpload.Status.COMMITTED


@pytest.mark.verifies("UR-MRD-02")
@pytest.mark.django_db
def test_the_upload_commit_checks_again_for_a_lock_set_after_the_preview(
    client, subject_a, investigator_a, data_manager, central_lab
):
    sample = _sample(subject_a, investigator_a)
    client.force_login(central_lab)
    client.post(
        reverse("mrd:upload"), {"file": SimpleUploadedFile("batch.csv", _csv(sample.accession))}
    )
    upload = MrdUpload.objects.get()
    assert client.get(reverse("mrd:upload_preview", args=[upload.pk])).context["preview"].valid
    lock = _lock(Lock.Level.SITE, subject_a, data_manager)

    response = client.post(reverse("mrd:upload_commit", args=[upload.pk]), follow=True)

    assert not MrdResult.objects.exists()
    assert _expected_message(lock, "Site 1 Prague") in response.content.decode()


# --- Unlocking --------------------------------------------------------------------------------


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_unlock_with_a_reason_lets_edits_through_again_and_both_steps_are_audited(
    client, subject_a, investigator_a, data_manager, baseline
):
    lock = _lock(Lock.Level.SUBJECT, subject_a, data_manager)
    client.force_login(data_manager)
    unlock_page = client.get(reverse("monitoring:unlock", args=[lock.pk])).content.decode()
    assert "Unlock Subject 1-01" in unlock_page and REASON in unlock_page
    response = client.post(
        reverse("monitoring:unlock", args=[lock.pk]), {"reason": "query answered after lock"}
    )
    assert response.status_code == 302

    assert _change_weight(subject_a, investigator_a).weight_kg == Decimal("81")
    lock.refresh_from_db()
    assert (lock.active, lock.unlocked_by, lock.unlock_reason) == (
        False,
        data_manager,
        "query answered after lock",
    )
    history = list(lock.history.order_by("history_date", "history_id"))
    assert [(h.active, h.history_change_reason, h.history_user) for h in history] == [
        (True, REASON, data_manager),
        (False, "query answered after lock", data_manager),
    ]


@pytest.mark.django_db
def test_unlock_without_a_reason_is_refused_and_nothing_changes(
    client, subject_a, investigator_a, data_manager, baseline
):
    lock = _lock(Lock.Level.SUBJECT, subject_a, data_manager)
    client.force_login(data_manager)
    response = client.post(reverse("monitoring:unlock", args=[lock.pk]), {"reason": "  "})
    assert response.status_code == 200
    assert "Give the reason for unlocking" in response.content.decode()
    lock.refresh_from_db()
    assert lock.active and lock.history.count() == 1
    with pytest.raises(RecordLocked):
        _change_weight(subject_a, investigator_a)


@pytest.mark.django_db
def test_lock_without_a_reason_is_refused(subject_a, data_manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Give the reason for locking"):
        lock_create(level=Lock.Level.SUBJECT, subject=subject_a, reason=" ", user=data_manager)
    assert not Lock.objects.exists()


# --- Pages of the data manager ----------------------------------------------------------------


@pytest.mark.django_db
def test_data_manager_locks_a_site_and_a_subject_from_the_locks_page(
    client, site_a, subject_a, data_manager
):
    client.force_login(data_manager)
    url = reverse("monitoring:locks")
    client.post(url, {"level": "site", "site-site": site_a.pk, "site-reason": REASON})
    client.post(
        url, {"level": "subject", "subject-study_id": "1-01", "subject-reason": "SAE reconciled"}
    )
    refused = client.post(url, {"level": "subject", "subject-study_id": "1-01"})
    assert "Give the reason for locking" in refused.content.decode()

    assert sorted(Lock.objects.values_list("level", "site", "subject")) == [
        ("site", site_a.pk, None),
        ("subject", site_a.pk, subject_a.pk),
    ]
    page = client.get(url).content.decode()
    assert "Site 1 Prague" in page and "Subject 1-01" in page and "SAE reconciled" in page


@pytest.mark.django_db
def test_data_manager_locks_one_form_from_the_subject_pages(
    client, subject_a, investigator_a, data_manager, baseline
):
    client.force_login(data_manager)
    detail = client.get(reverse("crf:subject_detail", args=[subject_a.study_id]))
    lock_page = reverse("monitoring:lock_subject", args=[subject_a.study_id])
    assert lock_page in detail.content.decode()
    content_type_id, object_id = record_pointer(baseline)
    form_url = reverse(
        "monitoring:lock_form", args=[subject_a.study_id, content_type_id, object_id]
    )
    assert form_url in client.get(lock_page).content.decode()

    client.post(form_url, {"reason": "baseline source verified"})

    lock = Lock.objects.get()
    assert (lock.level, lock.record, lock.reason) == ("form", baseline, "baseline source verified")
    with pytest.raises(RecordLocked, match="Baseline, subject 1-01 is locked"):
        _change_weight(subject_a, investigator_a)
    day11_for(subject_a, by=investigator_a)  # the subject's other forms stay open
    page = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    assert "Baseline, subject 1-01 is locked" in page


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.MONITOR, Role.CENTRAL_LAB])
def test_only_data_managers_lock(client, site_a, subject_a, data_manager, role):
    client.force_login(data_manager)
    assert reverse("monitoring:locks") in _page(client, subject_a)  # the navigation item
    client.force_login(user_with_role(role, site_a))
    page = _page(client, subject_a)
    assert reverse("monitoring:locks") not in page and "Lock subject or form" not in page
    assert client.get(reverse("monitoring:locks")).status_code == 403
    response = client.post(
        reverse("monitoring:lock_subject", args=[subject_a.study_id]), {"reason": "mine"}
    )
    assert response.status_code == 403
    assert not Lock.objects.exists()


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_the_locks_page_lists_only_the_data_managers_sites(
    client, subject_a, subject_b, site_a, site_b
):
    study_wide = user_with_role(Role.DATA_MANAGER, None, username="datamanager")
    _lock(Lock.Level.SUBJECT, subject_a, study_wide)
    lock_b = _lock(Lock.Level.SUBJECT, subject_b, study_wide)
    client.force_login(user_with_role(Role.DATA_MANAGER, site_a))

    page = client.get(reverse("monitoring:locks")).content.decode()

    assert "Subject 1-01" in page and "Subject 2-01" not in page
    assert client.get(reverse("monitoring:unlock", args=[lock_b.pk])).status_code == 404
    lock_page = reverse("monitoring:lock_subject", args=[subject_b.study_id])
    assert client.post(lock_page, {"reason": "x"}).status_code == 404


@pytest.mark.django_db
def test_the_locks_page_filters_and_shows_released_locks_on_request(
    client, subject_a, data_manager
):
    subject_lock = _lock(Lock.Level.SUBJECT, subject_a, data_manager)
    _lock(Lock.Level.SITE, subject_a, data_manager)
    lock_release(lock=subject_lock, reason="reopened for a query", user=data_manager)
    client.force_login(data_manager)
    url = reverse("monitoring:locks")

    active = client.get(url).content.decode()
    released = client.get(url, {"status": "all", "level": "subject"}).content.decode()

    assert "Site 1 Prague" in active and "Subject 1-01" not in active
    assert "Subject 1-01" in released and "reopened for a query" in released
    assert "Site 1 Prague" not in released


@pytest.mark.django_db
def test_the_lock_check_of_a_save_is_one_query(
    subject_a, investigator_a, data_manager, django_assert_num_queries
):
    from monitoring.locks import lock_refusing

    panel = lab_panel_for(subject_a, by=investigator_a)
    value = LabValue.objects.get()  # its panel and subject not loaded
    with django_assert_num_queries(1):
        assert lock_refusing(value) is None
    lock = _lock(Lock.Level.FORM, subject_a, data_manager, record=panel)
    value = LabValue.objects.get()
    with django_assert_num_queries(1):
        assert lock_refusing(value) == lock
