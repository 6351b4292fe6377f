"""One door for every clinical write: the same invalid record is refused on every route that can
write it (record form, infusion action, lab panel, adverse event, MRD entry, MRD upload, study
import), with the same message, and nothing is saved.

Subject 1-01 gave informed consent on 2026-02-27; study day 1 is 2026-03-02.
"""

from __future__ import annotations

import csv
import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from alerts.models import Alert, EvaluationMark
from crf.models import (
    Day11Assessment,
    Death,
    EndOfStudy,
    InfusionInterruption,
    Role,
    Subject,
)
from crf.services import record_save
from exports.domains import domains
from exports.importer import StudyImportFailed, study_import
from monitoring.locks import lock_create, lock_message
from monitoring.models import Lock
from mrd.models import MrdResult, MrdSample
from mrd.services import sample_record
from protocol import checks, ctcae, mrd
from safety.models import AdverseEvent, CtcaeTerm, LabPanel
from tests.factories import day11_for, infusion_started_for, user_with_role

pytestmark = pytest.mark.verifies("UR-REC-01")

CONSENT = datetime.date(2026, 2, 27)
BEFORE_CONSENT = datetime.date(2026, 2, 26)
FEBRILE_NEUTROPENIA = "Febrile neutropenia"


@pytest.fixture
def lab(db):
    return user_with_role(Role.CENTRAL_LAB, None, username="lab")


@pytest.fixture
def site_client(client, investigator_a):
    client.force_login(investigator_a)
    return client


@pytest.fixture
def lab_client(client, lab):
    client.force_login(lab)
    return client


def _before_consent(model, field: str, day=BEFORE_CONSENT) -> str:
    """The message every route gives for `field` of `model` dated before informed consent."""
    label = str(model._meta.get_field(field).verbose_name)
    return checks.dates_order_error(CONSENT, day, "informed consent", label)


def _shown(response, message: str) -> bool:
    return escape(message) in response.content.decode()


def _aware(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


# --- The study import, with one file or two ----------------------------------------------------


def _row(file: str, **values) -> dict:
    defaults = {"entered_in_error": "false"}
    for column in next(d for d in domains() if d.file == file).columns:
        if column.kind == "boolean":
            defaults.setdefault(column.name, "false")
    return {**defaults, **values}


def _import_folder(tmp_path: Path, files: dict[str, list[dict]]) -> Path:
    """A folder of export-format files holding the given rows (by column name)."""
    folder = tmp_path / "import"
    folder.mkdir()
    for name, rows in files.items():
        header = next(d for d in domains() if d.file == name).header
        with (folder / name).open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            for row in rows:
                writer.writerow([row.get(column, "") for column in header])
    return folder


def _import_errors(tmp_path: Path, files: dict[str, list[dict]]) -> list[str]:
    """Import the files and return the error lines it refuses them with."""
    with pytest.raises(StudyImportFailed) as failed:
        study_import(_import_folder(tmp_path, files))
    return [str(error) for error in failed.value.errors]


def _mrd_csv(**values) -> bytes:
    from mrd.upload import COLUMNS

    row = {
        "method": "qpcr",
        "result": "quantifiable",
        "value": "1.2E-4",
        "sensitivity": "1E-5",
        "quantitative_range": "1E-4",
        "report_date": "2026-05-20",
        **values,
    }
    lines = [",".join(COLUMNS), ",".join(row.get(c, "") for c in COLUMNS)]
    return ("\n".join(lines) + "\n").encode()


def _upload(lab_client, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("batch.csv", content, content_type="text/csv")
    return lab_client.post(reverse("mrd:upload"), {"file": file}, follow=True)


def _w11_sample(subject, investigator) -> MrdSample:
    return sample_record(
        subject=subject,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=investigator,
    )


MRD_FORM = {
    "markers": "IGH VDJ",
    "result_class": "quantifiable",
    "value": "1.2E-4",
    "sensitivity": "1E-5",
    "quantitative_range": "1E-4",
    "report_date": "2026-05-20",
    "not_evaluable_reason": "",
    "comment": "",
}
AE_FORM = {
    "verbatim": "ALT up",
    "onset_date": "2026-03-15",
    "end_date": "",
    "grade": "3",
    "relationship_blinatumomab": "probable",
    "relationship_chemotherapy": "unlikely",
    "action_blinatumomab": "interrupted",
    "outcome": "recovered",
}


def _ae_form(term: str = "Alanine aminotransferase increased", **values) -> dict:
    code = CtcaeTerm.objects.get(term=term).meddra_code
    return {**AE_FORM, "term": f"{term} ({code})", **values}


def _ae_row(subject, term: str = "Alanine aminotransferase increased", **values) -> dict:
    code = CtcaeTerm.objects.get(term=term).meddra_code
    row = {
        "id": "9001",
        "subject": subject.study_id,
        "term": str(code),
        "verbatim": "ALT up",
        "onset_date": "2026-03-15",
        "grade": "3",
        "relationship_blinatumomab": "probable",
        "relationship_chemotherapy": "unlikely",
        "action_blinatumomab": "interrupted",
        "outcome": "recovered",
        "grading_system": ctcae.GRADING_SYSTEM,
    }
    return _row("adverse_events.csv", **{**row, **values})


def _lab_files(subject, sampled_at: str, alt: str = "250") -> dict[str, list[dict]]:
    panel = _row(
        "lab_panels.csv", id="9001", subject=subject.study_id, sampled_at=sampled_at, local_lab="X"
    )
    value = _row(
        "lab_values.csv", id="9001", panel_id="9001", test="alt", value=alt, unit="U/L", uln="40"
    )
    return {"lab_panels.csv": [panel], "lab_values.csv": [value]}


def _mrd_result_row(sample, **values) -> dict:
    row = {
        "id": "9001",
        "sample_id": str(sample.pk),
        "method": "qpcr",
        "result_class": "quantifiable",
        "value": "0.00012",
        "sensitivity": "0.00001",
        "quantitative_range": "0.0001",
        "report_date": "2026-05-20",
    }
    return _row("mrd_results.csv", **{**row, **values})


# --- Before informed consent -------------------------------------------------------------------


@pytest.mark.verifies("UR-EXP-02")
@pytest.mark.django_db
def test_a_day11_assessment_before_consent_is_refused_by_the_form_and_the_import(
    tmp_path, site_client, subject_a
):
    message = _before_consent(Day11Assessment, "assessed_on")
    url = reverse("crf:record_new", args=[subject_a.study_id, "day11"])
    data = {"assessed_on": BEFORE_CONSENT.isoformat(), "marrow_blasts_percent": "30"}
    assert _shown(site_client.post(url, data), message)

    row = _row("day11_assessments.csv", id="9001", subject=subject_a.study_id,
               assessed_on=BEFORE_CONSENT.isoformat(), marrow_blasts_percent="30")  # fmt: skip
    errors = _import_errors(tmp_path, {"day11_assessments.csv": [row]})
    assert f"day11_assessments.csv, row 2, column assessed_on: {message}" in errors
    assert not Day11Assessment.objects.filter(subject=subject_a).exists()


@pytest.mark.verifies("UR-EXP-02", "UR-DOS-02")
@pytest.mark.django_db
def test_an_interruption_before_consent_is_refused_by_the_infusion_page_and_the_import(
    tmp_path, site_client, investigator_a, subject_a
):
    day11_for(subject_a, by=investigator_a)
    cycle = infusion_started_for(subject_a, by=investigator_a)
    message = _before_consent(InfusionInterruption, "started_at")
    url = reverse("crf:infusion_action", args=[subject_a.study_id, "interrupt"])
    data = {"interrupt-started_at": f"{BEFORE_CONSENT}T09:00", "interrupt-reason": "hepatic"}
    assert _shown(site_client.post(url, data), message)

    row = _row("infusion_interruptions.csv", id="9001", infusion_id=str(cycle.pk),
               started_at=f"{BEFORE_CONSENT}T08:00:00+00:00", reason="hepatic")  # fmt: skip
    errors = _import_errors(tmp_path, {"infusion_interruptions.csv": [row]})
    assert any(
        e.startswith("infusion_interruptions.csv, row 2, column started_at: ") and message in e
        for e in errors
    ), errors
    assert not InfusionInterruption.objects.filter(infusion=cycle).exists()


@pytest.mark.verifies("UR-EXP-02")
@pytest.mark.django_db
def test_a_lab_panel_before_consent_is_refused_by_the_lab_page_and_the_import(
    tmp_path, site_client, subject_a
):
    message = _before_consent(LabPanel, "sampled_at")
    url = reverse("safety:labs", args=[subject_a.study_id])
    data = {"sampled_at": f"{BEFORE_CONSENT}T08:00", "local_lab": "IHBT", "alt_value": "240",
            "alt_unit": "U/L", "alt_uln": "40"}  # fmt: skip
    assert _shown(site_client.post(url, data), message)

    errors = _import_errors(tmp_path, _lab_files(subject_a, f"{BEFORE_CONSENT}T07:00:00+00:00"))
    assert f"lab_panels.csv, row 2, column sampled_at: {message}" in errors
    assert not LabPanel.objects.filter(subject=subject_a).exists()


@pytest.mark.verifies("UR-EXP-02")
@pytest.mark.django_db
def test_an_adverse_event_before_consent_is_refused_by_the_form_and_the_import(
    tmp_path, site_client, subject_a
):
    message = _before_consent(AdverseEvent, "onset_date")
    url = reverse("safety:adverse_event_new", args=[subject_a.study_id])
    assert _shown(site_client.post(url, _ae_form(onset_date=BEFORE_CONSENT.isoformat())), message)

    errors = _import_errors(
        tmp_path,
        {"adverse_events.csv": [_ae_row(subject_a, onset_date=BEFORE_CONSENT.isoformat())]},
    )
    assert f"adverse_events.csv, row 2, column onset_date: {message}" in errors
    assert not AdverseEvent.objects.filter(subject=subject_a).exists()


@pytest.mark.verifies("UR-EXP-02", "UR-MRD-02")
@pytest.mark.django_db
def test_an_mrd_report_before_consent_is_refused_by_entry_upload_and_import(
    tmp_path, lab_client, investigator_a, subject_a
):
    sample = _w11_sample(subject_a, investigator_a)
    message = _before_consent(MrdResult, "report_date")
    url = reverse("mrd:result", args=[sample.accession, "qpcr"])
    response = lab_client.post(url, {**MRD_FORM, "report_date": BEFORE_CONSENT.isoformat()})
    assert _shown(response, message)

    upload = _upload(lab_client, _mrd_csv(accession=sample.accession,
                                          report_date=BEFORE_CONSENT.isoformat()))  # fmt: skip
    assert _shown(upload, message)

    row = _mrd_result_row(sample, report_date=BEFORE_CONSENT.isoformat())
    errors = _import_errors(tmp_path, {"mrd_results.csv": [row]})
    assert f"mrd_results.csv, row 2, column report_date: {message}" in errors
    assert not MrdResult.objects.exists()


# --- In the future -----------------------------------------------------------------------------


def _future_message(day: datetime.date) -> str:
    today = timezone.localdate()
    return f"{day.isoformat()} is in the future; enter a date on or before today ({today})."


@pytest.mark.verifies("UR-EXP-02")
@pytest.mark.django_db
def test_a_future_date_is_refused_with_the_same_message_on_every_route(
    tmp_path, site_client, lab, investigator_a, subject_a
):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    message = _future_message(tomorrow)
    url = reverse("crf:record_new", args=[subject_a.study_id, "day11"])
    data = {"assessed_on": tomorrow.isoformat(), "marrow_blasts_percent": "30"}
    assert _shown(site_client.post(url, data), message)
    url = reverse("safety:adverse_event_new", args=[subject_a.study_id])
    assert _shown(site_client.post(url, _ae_form(onset_date=tomorrow.isoformat())), message)

    sample = _w11_sample(subject_a, investigator_a)
    site_client.logout()
    site_client.force_login(lab)
    url = reverse("mrd:result", args=[sample.accession, "qpcr"])
    assert _shown(site_client.post(url, {**MRD_FORM, "report_date": tomorrow.isoformat()}), message)
    upload = _upload(site_client, _mrd_csv(accession=sample.accession,
                                           report_date=tomorrow.isoformat()))  # fmt: skip
    assert _shown(upload, message)

    errors = _import_errors(
        tmp_path,
        {
            "adverse_events.csv": [_ae_row(subject_a, onset_date=tomorrow.isoformat())],
            "mrd_results.csv": [_mrd_result_row(sample, report_date=tomorrow.isoformat())],
        },
    )
    assert f"adverse_events.csv, row 2, column onset_date: {message}" in errors
    assert f"mrd_results.csv, row 2, column report_date: {message}" in errors
    assert not AdverseEvent.objects.exists() and not MrdResult.objects.exists()


# --- A grade the CTCAE term does not have -----------------------------------------------------


@pytest.mark.verifies("UR-SAF-01", "UR-EXP-02")
@pytest.mark.django_db
def test_a_grade_the_ctcae_term_lacks_is_refused_by_the_form_and_the_import(
    tmp_path, site_client, subject_a
):
    term = CtcaeTerm.objects.get(term=FEBRILE_NEUTROPENIA)
    message = ctcae.grade_error(term.as_protocol(), 2)
    assert message and "grade 2" in message
    url = reverse("safety:adverse_event_new", args=[subject_a.study_id])
    assert _shown(site_client.post(url, _ae_form(FEBRILE_NEUTROPENIA, grade="2")), message)

    row = _ae_row(subject_a, FEBRILE_NEUTROPENIA, grade="2")
    errors = _import_errors(tmp_path, {"adverse_events.csv": [row]})
    assert f"adverse_events.csv, row 2, column grade: {message}" in errors
    assert not AdverseEvent.objects.exists()


# --- An MRD value with a negative class -------------------------------------------------------


@pytest.mark.verifies("UR-MRD-01", "UR-MRD-02", "UR-EXP-02")
@pytest.mark.django_db
def test_a_negative_mrd_result_with_a_value_is_refused_by_entry_upload_and_import(
    tmp_path, lab_client, investigator_a, subject_a
):
    sample = _w11_sample(subject_a, investigator_a)
    unsaved = MrdResult(sample=sample, method="qpcr", result_class="negative",
                        value=Decimal("0.00012"), sensitivity=Decimal("0.00001"))  # fmt: skip
    message = mrd.result_errors(unsaved.as_protocol())["value"]
    url = reverse("mrd:result", args=[sample.accession, "qpcr"])
    assert _shown(lab_client.post(url, {**MRD_FORM, "result_class": "negative"}), message)
    upload = _upload(lab_client, _mrd_csv(accession=sample.accession, result="negative"))
    assert _shown(upload, message)

    row = _mrd_result_row(sample, result_class="negative", quantitative_range="")
    errors = _import_errors(tmp_path, {"mrd_results.csv": [row]})
    assert f"mrd_results.csv, row 2, column value: {message}" in errors
    assert not MrdResult.objects.exists()


# --- A locked subject ----------------------------------------------------------------------------


@pytest.mark.verifies("UR-LCK-01")
@pytest.mark.django_db
def test_a_locked_subject_refuses_every_route_with_the_lock_message(
    tmp_path, client, lab, investigator_a, subject_a
):
    day11_for(subject_a, by=investigator_a)
    cycle = infusion_started_for(subject_a, by=investigator_a)
    sample = _w11_sample(subject_a, investigator_a)
    data_manager = user_with_role(Role.DATA_MANAGER, None, username="dm")
    lock = lock_create(
        level=Lock.Level.SUBJECT, subject=subject_a, reason="interim", user=data_manager
    )
    message = lock_message(lock)
    counts = _counts()

    client.force_login(investigator_a)
    posts = [
        (reverse("crf:record_new", args=[subject_a.study_id, "baseline"]),
         {"sex": "F", "year_of_birth": "1985", "height_cm": "170", "weight_kg": "75",
          "diagnosis_date": "2026-02-25", "leukocytes": "5.9", "marrow_blasts_percent": "81",
          "immunophenotype": "B-II", "cd20_positive": "no", "karyotype": "normal",
          "cns_status": "CNS1"}),
        (reverse("crf:infusion_action", args=[subject_a.study_id, "interrupt"]),
         {"interrupt-started_at": "2026-03-15T09:00", "interrupt-reason": "hepatic"}),
        (reverse("safety:labs", args=[subject_a.study_id]),
         {"sampled_at": "2026-03-14T08:00", "local_lab": "IHBT", "alt_value": "240",
          "alt_unit": "U/L", "alt_uln": "40"}),
        (reverse("safety:adverse_event_new", args=[subject_a.study_id]), _ae_form()),
    ]  # fmt: skip
    for url, data in posts:
        assert _shown(client.post(url, data, follow=True), message), url
    client.logout()
    client.force_login(lab)
    url = reverse("mrd:result", args=[sample.accession, "qpcr"])
    assert _shown(client.post(url, MRD_FORM), message)
    assert _shown(_upload(client, _mrd_csv(accession=sample.accession)), message)

    errors = _import_errors(tmp_path, {"adverse_events.csv": [_ae_row(subject_a)],
                                       "mrd_results.csv": [_mrd_result_row(sample)]})  # fmt: skip
    assert f"adverse_events.csv, row 2: {message}" in errors
    assert f"mrd_results.csv, row 2: {message}" in errors
    assert _counts() == counts
    assert cycle.interruptions.count() == 0


def _counts() -> dict[str, int]:
    models = (Day11Assessment, InfusionInterruption, LabPanel, AdverseEvent, MrdResult)
    return {m.__name__: m.objects.count() for m in models}


# --- After the records are in: alerts and status, whatever the route ---------------------------


@pytest.mark.verifies("UR-ALR-01", "AL-HEP", "TX-HEP", "UR-LAB-01")
@pytest.mark.django_db
def test_an_import_raises_the_alerts_without_any_command(tmp_path, investigator_a, subject_a):
    """A grade-3 ALT during the infusion, imported: AL-HEP exists when the import returns."""
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)  # study day 12, 09:00
    assert not Alert.objects.exists()
    folder = _import_folder(tmp_path, _lab_files(subject_a, "2026-03-15T07:00:00+00:00"))
    call_command("import_study", str(folder))
    assert Alert.objects.filter(subject=subject_a, rule="AL-HEP", status=Alert.Status.OPEN).exists()
    value = LabPanel.objects.get(subject=subject_a).values.get()
    assert value.grade == 3  # graded on the way in, as the lab page grades it


@pytest.mark.verifies("UR-ALR-01")
@pytest.mark.django_db
def test_the_import_marks_every_subject_for_evaluation(tmp_path, investigator_a, subject_a):
    EvaluationMark.objects.all().delete()
    study_import(_import_folder(tmp_path, _lab_files(subject_a, "2026-03-15T07:00:00+00:00")))
    assert EvaluationMark.objects.filter(subject=subject_a).exists()


@pytest.mark.django_db
def test_the_subject_status_follows_end_of_study_and_death(investigator_a, subject_a):
    assert subject_a.status == Subject.Status.ENROLLED
    end = record_save(
        EndOfStudy(subject=subject_a, end_date=datetime.date(2026, 6, 1), reason="withdrawal"),
        user=investigator_a,
    )
    subject_a.refresh_from_db()
    assert subject_a.status == Subject.Status.WITHDRAWN
    assert subject_a.history.first().history_change_reason == "status from the records: withdrawn"
    record_save(
        Death(subject=subject_a, death_date=datetime.date(2026, 7, 1), cause="relapse"),
        user=investigator_a,
    )
    subject_a.refresh_from_db()
    assert subject_a.status == Subject.Status.DIED
    assert end.pk


@pytest.mark.verifies("UR-LAB-01")
@pytest.mark.django_db
def test_an_imported_lab_value_is_graded_against_a_baseline_the_same_import_brings(
    tmp_path, investigator_a, subject_a
):
    """ALT 100 (ULN 40) before study day 1 makes the baseline abnormal: ALT 250 on day 14 is
    then 2.5 x baseline, grade 1, not 6.25 x ULN, grade 3 (rules §5). Imported in one file, the
    later value must see the earlier one."""
    panels = [
        _row("lab_panels.csv", id="9001", subject=subject_a.study_id,
             sampled_at="2026-02-28T07:00:00+00:00", local_lab="X"),
        _row("lab_panels.csv", id="9002", subject=subject_a.study_id,
             sampled_at="2026-03-15T07:00:00+00:00", local_lab="X"),
    ]  # fmt: skip
    values = [
        _row("lab_values.csv", id="9001", panel_id="9001", test="alt", value="100", unit="U/L",
             uln="40"),
        _row("lab_values.csv", id="9002", panel_id="9002", test="alt", value="250", unit="U/L",
             uln="40", grade="3"),  # the file's grade is recomputed, as the lab page computes it
    ]  # fmt: skip
    study_import(_import_folder(tmp_path, {"lab_panels.csv": panels, "lab_values.csv": values}))
    later = LabPanel.objects.get(pk=9002).values.get()
    assert later.grade == 1
