"""Reports, CSV and ODM exports as of a freeze: unchanged by later changes of the live data and
byte-identical when computed again; each says which freeze (or live data) it counts."""

import datetime
import io
import json
import re
import zipfile

import pytest
from django.urls import reverse

from audit.services import audited_save
from exports import stored_reports
from exports.freezes import freeze_create
from exports.models import StoredReport, StudyExport
from exports.services import export_claim, export_request, export_run
from tests.exports.test_stored_reports import _stored
from tests.factories import baseline_for, enrol

pytestmark = pytest.mark.verifies("UR-FRZ-02")

JSON = reverse("exports:report_json")
PAGE = reverse("exports:report")


def _frozen_report(freeze, sites):
    stored, _ = StoredReport.objects.get_or_create(
        site_numbers=stored_reports.scope_key(s.number for s in sites),
        period="infusion",
        freeze=freeze,
    )
    stored = stored_reports.compute(stored)
    return (
        json.dumps(stored.report, sort_keys=True),
        json.dumps(stored.sections, sort_keys=True),
        {p.name: p.svg for p in stored.plots.all()},
    )


def _later_changes(site, investigator):
    """What happens after the freeze: a patient enrolled, another's baseline corrected."""
    added = enrol(site, by=investigator, day1_date=datetime.date(2025, 9, 1))
    baseline_for(added, by=investigator, year_of_birth=1960)
    return added


@pytest.mark.django_db
def test_a_frozen_report_is_the_same_however_the_data_change_and_says_which_freeze(
    client, report_study, site_a, investigator_a, data_manager
):
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    before = _frozen_report(freeze, report_study)
    _later_changes(site_a, investigator_a)
    again = _frozen_report(freeze, report_study)
    assert again == before  # report JSON, every section's HTML, every plot: byte for byte

    _stored(report_study)  # the live report, as the worker computes it
    client.force_login(data_manager)
    live = client.get(JSON).json()
    assert live["flow"]["enrolled"] == 7 and "live_as_of" in live["data"]
    frozen = client.get(JSON, {"freeze": freeze.pk}).json()
    assert frozen["flow"]["enrolled"] == 6
    assert frozen["data"]["freeze"] == "Interim 1"
    assert frozen["data"]["sha256"] == freeze.sha256
    page = client.get(PAGE, {"freeze": freeze.pk}).content.decode()
    assert "Freeze &#x27;Interim 1&#x27; of" in page or "Freeze 'Interim 1' of" in page
    assert client.get(PAGE, {"freeze": 999999}).status_code == 404


def _export(user, format, freeze=None) -> StudyExport:
    export = export_request(user=user, format=format, freeze=freeze)
    return export_run(export_claim(export.pk))


@pytest.mark.django_db
@pytest.mark.parametrize("format", ["csv", "odm"])
def test_a_frozen_export_is_byte_identical_whenever_written(
    report_study, site_a, investigator_a, data_manager, format, settings, tmp_path
):
    settings.EXPORT_ROOT = str(tmp_path)
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    first = _export(data_manager, format, freeze)
    live_before = _export(data_manager, format)
    added = _later_changes(site_a, investigator_a)
    second = _export(data_manager, format, freeze)
    live_after = _export(data_manager, format)
    assert first.sha256 == second.sha256
    assert first.row_counts == second.row_counts
    assert live_after.sha256 != live_before.sha256
    assert sum(n for _, n in live_after.row_counts) > sum(n for _, n in second.row_counts)
    assert added.study_id not in _text(tmp_path / second.file_name)
    assert added.study_id in _text(tmp_path / live_after.file_name)


def _text(path) -> str:
    if path.suffix == ".xml":
        return path.read_text()
    with zipfile.ZipFile(path) as archive:
        return "".join(archive.read(name).decode() for name in archive.namelist())


@pytest.mark.django_db
def test_a_change_of_a_frozen_record_shows_in_the_live_export_only(
    report_study, site_a, investigator_a, data_manager, settings, tmp_path
):
    settings.EXPORT_ROOT = str(tmp_path)
    from crf.models import Subject

    subject = Subject.objects.filter(site=site_a).first()
    frozen_day1 = subject.day1_date
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    subject.day1_date = frozen_day1 + datetime.timedelta(days=2)
    audited_save(subject, user=investigator_a, reason="day 1 corrected")
    frozen = (tmp_path / _export(data_manager, "odm", freeze).file_name).read_text()
    live = (tmp_path / _export(data_manager, "odm").file_name).read_text()
    assert frozen_day1.isoformat() in frozen
    assert subject.day1_date.isoformat() in live


@pytest.mark.django_db
def test_the_verification_command_recomputes_a_frozen_report_and_finds_it_unchanged(
    report_study, site_a, investigator_a, data_manager
):
    from django.core.management import CommandError, call_command

    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    _frozen_report(freeze, report_study)
    _later_changes(site_a, investigator_a)
    out = io.StringIO()
    call_command("freeze_verify", "Interim 1", stdout=out)
    assert f"SHA-256 {freeze.sha256}: same" in out.getvalue()
    assert "computed again, byte-identical" in out.getvalue()

    # A stored frozen report that no longer matches its data is named, and the command fails.
    stored = StoredReport.objects.get(freeze=freeze, period="infusion")
    stored.sections["flow"] = stored.sections["flow"].replace("6", "7", 1)
    stored.save()
    with pytest.raises(CommandError, match="Not as recorded"):
        call_command("freeze_verify", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No freeze named"):
        call_command("freeze_verify", "Nope", stdout=io.StringIO())


@pytest.mark.verifies("UR-ARC-01")
@pytest.mark.django_db
def test_a_casebook_asked_as_of_a_freeze_shows_the_frozen_values_and_names_the_freeze(
    client, subject_a, investigator_a, data_manager, settings, tmp_path
):
    from decimal import Decimal

    from tests.exports.test_casebook_pdf import pdf_pages

    settings.EXPORT_ROOT = str(tmp_path)
    baseline = baseline_for(subject_a, by=investigator_a)  # weighs 75.0 kg
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    baseline.weight_kg = Decimal("81.5")
    audited_save(baseline, user=investigator_a, reason="weighed again")
    later = enrol(subject_a.site, by=investigator_a)

    client.force_login(investigator_a)
    url = reverse("exports:casebook_start", args=[subject_a.study_id])
    assert "Freeze Interim 1" in client.get(url).content.decode()  # offered as a choice
    client.post(url, {"freeze": freeze.pk})
    export = StudyExport.objects.get(format="casebook")
    assert export.freeze == freeze
    export = export_run(export_claim(export.pk))
    pages = pdf_pages((tmp_path / export.file_name).read_bytes())
    text = "\n".join(pages)
    assert re.search(r"Weight \(kg\)\s*75\b", text), text
    assert "81.5" not in text and "weighed again" not in text
    assert all("Freeze 'Interim 1' of" in page for page in pages)

    # A subject enrolled after the freeze has no casebook of it: said, nothing asked.
    response = client.post(
        reverse("exports:casebook_start", args=[later.study_id]), {"freeze": freeze.pk}, follow=True
    )
    assert "holds no data of" in response.content.decode()
    assert StudyExport.objects.filter(format="casebook").count() == 1


@pytest.mark.django_db
def test_the_worker_computes_a_freezes_reports_when_it_is_taken(
    report_study, data_manager, django_capture_on_commit_callbacks, monkeypatch
):
    asked = []
    monkeypatch.setattr(stored_reports, "enqueue_compute", asked.append)
    with django_capture_on_commit_callbacks(execute=True):
        freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    frozen = StoredReport.objects.filter(freeze=freeze)
    assert {(s.site_numbers, s.period) for s in frozen} == {
        ("1,2", "infusion"),
        ("1,2", "study"),
    }
    assert sorted(asked) == sorted(s.pk for s in frozen)
