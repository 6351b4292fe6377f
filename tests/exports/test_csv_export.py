"""The CSV export: one file per domain and a dictionary, site scoping, formula neutralisation,
the same bytes for the same data, progress and the export record."""

import csv
import datetime
import hashlib
import io
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.cells import text_cell, text_from_cell
from crf.models import Role
from exports.models import StudyExport
from exports.tasks import run_export
from tests.factories import (
    baseline_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-EXP-01")


@pytest.fixture(autouse=True)
def _export_root(settings, tmp_path):
    settings.EXPORT_ROOT = str(tmp_path / "exports")


@pytest.fixture
def study(subject_a, subject_b, investigator_a, investigator_b):
    baseline_for(subject_a, by=investigator_a)
    baseline_for(subject_b, by=investigator_b)
    lab_panel_for(subject_a, by=investigator_a)
    serious_ae_for(subject_a, by=investigator_a, verbatim='=HYPERLINK("http://x")')
    serious_ae_for(subject_b, by=investigator_b, verbatim="-2 transaminases @site")
    return subject_a, subject_b


def _files(data: bytes) -> dict[str, list[dict]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()
        }


def _export_as(client, user, django_capture_on_commit_callbacks, format="csv") -> StudyExport:
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("exports:start"), {"format": format})
    export = StudyExport.objects.latest("pk")
    assert response.url == reverse("exports:detail", args=[export.pk])
    page = client.get(response.url).content.decode()
    assert "Queued" in page and 'value="0"' in page  # the progress bar before the worker runs
    run_export(export.pk)  # what the worker does with the message
    export.refresh_from_db()
    return export


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.parametrize(
    "text, cell",
    [
        ("=1+1", "'=1+1"),
        ("+420 123", "'+420 123"),
        ("-2 transaminases", "'-2 transaminases"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'=already quoted", "''=already quoted"),
        ("it's fine", "it's fine"),
        ("grade 3 ALT", "grade 3 ALT"),
        ("", ""),
    ],
)
def test_text_cells_are_neutralised_and_read_back(text, cell):
    assert text_cell(text) == cell
    assert text_from_cell(cell) == text


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_a_site_investigator_exports_only_their_site(
    client, study, investigator_a, django_capture_on_commit_callbacks
):
    subject_a, subject_b = study
    export = _export_as(client, investigator_a, django_capture_on_commit_callbacks)
    assert export.status == StudyExport.Status.DONE and export.site_numbers == [1]
    data = b"".join(client.get(reverse("exports:download", args=[export.pk])).streaming_content)
    files = _files(data)
    assert [r["study_id"] for r in files["subjects.csv"]] == [subject_a.study_id]
    assert {r["site"] for r in files["audit_trail.csv"]} <= {"1", ""}
    assert subject_b.study_id.encode() not in data
    assert {r["subject"] for r in files["adverse_events.csv"]} == {subject_a.study_id}
    assert export.sha256 == hashlib.sha256(data).hexdigest()
    counts = dict(export.row_counts)
    assert counts["subjects.csv"] == 1 and counts["adverse_events.csv"] == 1


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.django_db
def test_values_are_written_as_codes_iso_dates_and_neutralised_text(
    client, study, django_capture_on_commit_callbacks
):
    subject_a, subject_b = study
    manager = user_with_role(Role.DATA_MANAGER)
    export = _export_as(client, manager, django_capture_on_commit_callbacks)
    data = b"".join(client.get(reverse("exports:download", args=[export.pk])).streaming_content)
    files = _files(data)
    events = {r["subject"]: r for r in files["adverse_events.csv"]}
    assert events[subject_a.study_id]["verbatim"] == '\'=HYPERLINK("http://x")'
    assert events[subject_b.study_id]["verbatim"] == "'-2 transaminases @site"
    assert events[subject_a.study_id]["grade"] == "3"  # numbers never altered
    assert events[subject_a.study_id]["serious"] == "true"
    assert events[subject_a.study_id]["relationship_blinatumomab"] == "probable"  # a code
    onset = subject_a.day1_date + datetime.timedelta(days=13)
    assert events[subject_a.study_id]["onset_date"] == onset.isoformat()
    assert events[subject_a.study_id]["awareness_at"].endswith("+00:00")  # UTC, ISO 8601
    dictionary = {(r["file"], r["column"]): r for r in files["data_dictionary.csv"]}
    sex = dictionary[("baseline.csv", "sex")]
    assert sex["type"] == "code" and "M=" in sex["codes"] and "F=" in sex["codes"]
    assert dictionary[("baseline.csv", "weight_kg")]["unit"] == "kg"
    assert dictionary[("lab_values.csv", "panel_id")]["refers_to"] == "lab_panels.csv"
    for name, rows in files.items():
        if name != "data_dictionary.csv" and rows:
            columns = set(rows[0])
            described = {c for (f, c) in dictionary if f == name}
            assert columns <= described, name


@pytest.mark.django_db
def test_unchanged_data_exports_to_the_same_hash_and_a_change_to_another(
    client, study, investigator_a, django_capture_on_commit_callbacks
):
    manager = user_with_role(Role.DATA_MANAGER)
    first = _export_as(client, manager, django_capture_on_commit_callbacks)
    client.force_login(investigator_a)  # logins between exports change nothing exported
    second = _export_as(client, manager, django_capture_on_commit_callbacks)
    assert first.sha256 == second.sha256 and first.pk != second.pk
    serious_ae_for(
        study[0], by=investigator_a, grade=2, criterion_hospitalisation=False, serious=False
    )
    third = _export_as(client, manager, django_capture_on_commit_callbacks)
    assert third.sha256 != first.sha256


@pytest.mark.django_db
def test_an_incomplete_export_is_never_offered(client, study, django_capture_on_commit_callbacks):
    manager = user_with_role(Role.DATA_MANAGER)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("exports:start"), {"format": "csv"})
    export = StudyExport.objects.latest("pk")
    assert client.get(reverse("exports:download", args=[export.pk])).status_code == 404
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert "Download" not in page


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_exports_of_others_are_hidden_from_site_staff(
    client, study, investigator_a, investigator_b, django_capture_on_commit_callbacks
):
    export = _export_as(client, investigator_a, django_capture_on_commit_callbacks)
    client.force_login(investigator_b)
    assert client.get(reverse("exports:detail", args=[export.pk])).status_code == 404
    assert client.get(reverse("exports:download", args=[export.pk])).status_code == 404
    client.force_login(user_with_role(Role.DATA_MANAGER))
    assert client.get(reverse("exports:detail", args=[export.pk])).status_code == 200


@pytest.mark.django_db
def test_the_command_writes_the_same_file(tmp_path, study, capsys):
    out = tmp_path / "study.zip"
    call_command("export_study", str(out), "--sites", "2")
    printed = capsys.readouterr().out
    files = _files(out.read_bytes())
    assert [r["study_id"] for r in files["subjects.csv"]] == [study[1].study_id]
    assert hashlib.sha256(out.read_bytes()).hexdigest() in printed
    assert "subjects.csv: 1 rows" in printed
    export = StudyExport.objects.get()
    assert export.requested_by is None and export.site_numbers == [2]


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_site(tmp_path, study):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No such site: 9"):
        call_command("export_study", str(tmp_path / "x.zip"), "--sites", "9")
    assert not StudyExport.objects.exists()
