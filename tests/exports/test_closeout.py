"""Close-out: freezes taken and compared from the browser; the study lock, signed after the last
freeze, refuses writes on every route, and is released only by a second data manager."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.services import audited_save
from crf.models import Baseline, Role
from exports.closeout import study_lock, study_unlock, study_unlock_request
from exports.freezes import freeze_create
from exports.importer import StudyImportFailed, study_import
from exports.models import Freeze, StudyLock
from mrd.models import MrdResult, MrdUpload
from tests.exports.test_import import _write
from tests.factories import PASSWORD, baseline_for, user_with_role
from tests.monitoring.test_locks import BASELINE_POST, _csv, _sample

CLOSEOUT = reverse("exports:closeout")


@pytest.fixture
def second_manager(db):
    return user_with_role(Role.DATA_MANAGER, None, username="dm2")


@pytest.fixture
def baseline(subject_a, investigator_a):
    return baseline_for(subject_a, by=investigator_a)


@pytest.mark.verifies("UR-FRZ-01")
@pytest.mark.django_db
def test_a_data_manager_freezes_and_compares_from_the_browser(
    client, data_manager, subject_a, investigator_a, baseline
):
    client.force_login(data_manager)
    refused = client.post(reverse("exports:freeze_start"), {"name": "", "reason": ""})
    assert refused.status_code == 400 and not Freeze.objects.exists()
    response = client.post(
        reverse("exports:freeze_start"), {"name": "Interim 1", "reason": "interim analysis"}
    )
    freeze = Freeze.objects.get()
    assert response.url == reverse("exports:freeze", args=[freeze.pk])
    assert "Interim 1" in client.get(CLOSEOUT).content.decode()
    detail = reverse("exports:freeze", args=[freeze.pk])
    assert "Nothing changed since the freeze" in client.get(detail).content.decode()

    baseline.weight_kg = Decimal("81")
    audited_save(baseline, user=investigator_a, reason="weighed again")
    page = client.get(detail).content.decode()
    assert "Baseline, subject 1-01" in page and "changed" in page
    assert "Changed in the live data since the freeze (1)" in page
    verified = client.post(detail).content.decode()
    assert 'id="freeze-verified"' in verified and "Verified" in verified


@pytest.mark.verifies("UR-FRZ-01")
def test_close_out_is_for_data_managers(client, investigator_a, data_manager, subject_a):
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim")
    client.force_login(investigator_a)
    assert client.get(CLOSEOUT).status_code == 403
    assert client.get(reverse("exports:freeze", args=[freeze.pk])).status_code == 403
    assert (
        client.post(reverse("exports:freeze_start"), {"name": "x", "reason": "y"}).status_code
        == 403
    )


def locked_study(data_manager):
    freeze_create(user=data_manager, name="Final", reason="database lock")
    return study_lock(user=data_manager, reason="end of study", password=PASSWORD)


@pytest.mark.verifies("UR-FRZ-03")
def test_the_study_is_locked_only_after_a_freeze_of_it_as_it_stands(
    data_manager, subject_a, investigator_a, baseline
):
    with pytest.raises(ValidationError, match="Freeze the whole study first"):
        study_lock(user=data_manager, reason="end", password=PASSWORD)
    freeze_create(user=data_manager, name="Final", reason="database lock")
    baseline.weight_kg = Decimal("81")
    audited_save(baseline, user=investigator_a, reason="weighed again")
    with pytest.raises(ValidationError, match="1 records changed since the last freeze"):
        study_lock(user=data_manager, reason="end", password=PASSWORD)
    freeze_create(user=data_manager, name="Final 2", reason="database lock")
    with pytest.raises(ValidationError) as wrong:
        study_lock(user=data_manager, reason="end", password="not the password")
    assert "password" in wrong.value.message_dict
    lock = study_lock(user=data_manager, reason="end", password=PASSWORD)
    assert lock.freeze.name == "Final 2" and lock.meaning == StudyLock.MEANING
    assert StudyLock.history.get().history_change_reason == "end"


@pytest.mark.verifies("UR-FRZ-03")
@pytest.mark.django_db
def test_a_locked_study_refuses_the_record_form(
    client, data_manager, subject_a, investigator_a, baseline
):
    locked_study(data_manager)
    client.force_login(investigator_a)
    url = reverse("crf:record_edit", args=[subject_a.study_id, "baseline", baseline.pk])
    response = client.post(url, BASELINE_POST)
    assert "The study is locked" in response.content.decode()
    baseline.refresh_from_db()
    assert (baseline.weight_kg, baseline.version) == (Decimal("75.0"), 1)


@pytest.mark.verifies("UR-FRZ-03")
@pytest.mark.django_db
def test_a_locked_study_refuses_an_mrd_upload(
    client, data_manager, subject_a, investigator_a, central_lab
):
    sample = _sample(subject_a, investigator_a)
    locked_study(data_manager)
    client.force_login(central_lab)
    client.post(
        reverse("mrd:upload"), {"file": SimpleUploadedFile("batch.csv", _csv(sample.accession))}
    )
    upload = MrdUpload.objects.get()
    rows = client.get(reverse("mrd:upload_preview", args=[upload.pk])).context["preview"].rows
    assert "The study is locked" in rows[0].errors[0][1]
    client.post(reverse("mrd:upload_commit", args=[upload.pk]))
    assert not MrdResult.objects.exists()


@pytest.mark.verifies("UR-FRZ-03")
@pytest.mark.django_db
def test_a_locked_study_refuses_an_import(tmp_path, data_manager, subject_a):
    locked_study(data_manager)
    _write(
        tmp_path,
        "follow_up_contacts.csv",
        [
            ["id", "entered_in_error", "subject", "last_known_alive", "in_remission"],
            ["9001", "false", subject_a.study_id, "2026-06-01", "true"],
        ],
    )
    with pytest.raises(StudyImportFailed) as failed:
        study_import(tmp_path)
    assert any("The study is locked" in str(e) for e in failed.value.errors)


@pytest.mark.verifies("UR-FRZ-03")
def test_two_data_managers_release_the_lock_and_each_step_is_audited(
    data_manager, second_manager, subject_a, investigator_a, baseline
):
    locked_study(data_manager)
    with pytest.raises(ValidationError, match="Ask for the release first"):
        study_unlock(user=second_manager, password=PASSWORD)
    with pytest.raises(ValidationError):
        study_unlock_request(user=data_manager, reason="")
    study_unlock_request(user=data_manager, reason="late SAE follow-up found")
    with pytest.raises(ValidationError, match="A second data manager releases"):
        study_unlock(user=data_manager, password=PASSWORD)
    study_unlock(user=second_manager, password=PASSWORD)
    lock = StudyLock.objects.get()
    assert not lock.active and lock.unlocked_by == second_manager
    assert [h.history_change_reason for h in lock.history.order_by("history_id")] == [
        "end of study",
        "release asked: late SAE follow-up found",
        "released: late SAE follow-up found",
    ]
    baseline.weight_kg = Decimal("81")
    audited_save(baseline, user=investigator_a, reason="weighed again")  # writes again
    assert Baseline.objects.get().weight_kg == Decimal("81")


@pytest.mark.verifies("UR-FRZ-01", "UR-MON-01")
def test_freezes_and_the_study_lock_are_in_the_study_audit_trail(
    client, data_manager, second_manager, subject_a
):
    freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    locked_study(data_manager)
    study_unlock_request(user=data_manager, reason="late SAE follow-up found")
    study_unlock(user=second_manager, password=PASSWORD)
    client.force_login(second_manager)
    trail = reverse("monitoring:study_audit")
    freezes = list(client.get(trail, {"form": "Freeze"}).context["page"])
    assert {(e.user, e.reason) for e in freezes} == {
        ("dm", "interim analysis"),
        ("dm", "database lock"),
    }
    locks = list(client.get(trail, {"form": "Study lock"}).context["page"])
    assert [(e.user, e.reason) for e in locks] == [
        ("dm2", "released: late SAE follow-up found"),
        ("dm", "release asked: late SAE follow-up found"),
        ("dm", "end of study"),
    ]
    page = client.get(trail, {"form": "Freeze"}).content.decode()
    assert "Interim 1" in page
