"""import_study: all checked first, nothing saved on any error; export → import → export."""

import csv
import datetime
import io
import os
import subprocess
import sys
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from alerts.models import Alert
from alerts.services import all_subjects_evaluate
from crf.models import MrdTriggeredBlinatumomab, SalvageTherapy, Subject
from crf.services import record_save
from exports.csv_export import study_csv_write
from exports.importer import StudyImportFailed, study_import
from tests.alerts.worker import test_database_url as _database_url
from tests.factories import (
    baseline_for,
    course_for,
    ctcae_terms_ensure,
    day11_for,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
)

pytestmark = pytest.mark.verifies("UR-EXP-02")

PROJECT = Path(__file__).resolve().parents[2]


def _write(folder: Path, name: str, rows: list[list[str]]) -> None:
    with open(folder / name, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture
def small_files(tmp_path):
    """A new site with one subject, in the export format (ids far above the test data's)."""
    _write(
        tmp_path,
        "sites.csv",
        [["id", "number", "name", "city"], ["900", "9", "Ostrava", "Ostrava"]],
    )
    _write(
        tmp_path,
        "subjects.csv",
        [
            ["id", "site", "screening_id", "sequence", "study_id", "day1_date", "status",
             "protocol_version", "enrolled_by"],
            ["900", "9", "", "1", "9-01", "2026-02-01", "enrolled", "", "someone.elsewhere"],
        ],
    )  # fmt: skip
    return tmp_path


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_a_clean_folder_is_imported_with_history_and_the_reason(small_files):
    result = study_import(small_files)
    subject = Subject.objects.get(study_id="9-01")
    assert result.counts == {"sites.csv": 1, "subjects.csv": 1}
    assert subject.site.city == "Ostrava" and subject.pk == 900
    assert subject.history.get().history_change_reason == "imported"
    assert subject.enrolled_by.username == "someone.elsewhere"
    assert not subject.enrolled_by.is_active and not subject.enrolled_by.has_usable_password()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "column, value, message",
    [
        ("status", "alive", "subjects.csv, row 2, column status: 'alive' is not one of the "
         "allowed"),
        ("day1_date", "01/02/2026", "subjects.csv, row 2, column day1_date: '01/02/2026' is not a "
         "date (YYYY-MM-DD)"),
        ("site", "7", "subjects.csv, row 2, column site: no site '7'"),
        ("sequence", "one", "subjects.csv, row 2, column sequence: 'one' is not a whole number"),
        ("screening_id", "12345", "subjects.csv, row 2, column screening_id: no record with id "
         "12345 in screenings.csv"),
    ],
)  # fmt: skip
def test_any_error_names_file_row_and_column_and_nothing_is_saved(
    small_files, column, value, message
):
    path = small_files / "subjects.csv"
    header, row = list(csv.reader(path.open()))
    row[header.index(column)] = value
    _write(small_files, "subjects.csv", [header, row])
    with pytest.raises(StudyImportFailed) as failed:
        study_import(small_files)
    assert any(str(e).startswith(message) for e in failed.value.errors), failed.value.errors
    from crf.models import Site

    assert not Site.objects.filter(number=9).exists()  # the valid sites.csv was not saved either


@pytest.mark.django_db
def test_a_wrong_header_and_a_duplicate_study_id_are_refused(small_files, subject_a):
    _write(small_files, "visits.csv", [["id", "when"], ["1", "today"]])
    path = small_files / "subjects.csv"
    header, row = list(csv.reader(path.open()))
    row[header.index("study_id")] = subject_a.study_id
    _write(small_files, "subjects.csv", [header, row])
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_study", str(small_files))
    with pytest.raises(StudyImportFailed) as failed:
        study_import(small_files)
    text = [str(e) for e in failed.value.errors]
    assert any(t.startswith("visits.csv, row 1: the header is not the export's") for t in text)
    assert any("subjects.csv, row 2, column study_id" in t and "already exists" in t for t in text)
    assert Subject.objects.count() == 1


def _manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "BLINACELL_TESTING": "1",
           "EXPORT_ROOT": settings.EXPORT_ROOT}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.django_db(transaction=True)
def test_export_import_export_gives_identical_files(
    tmp_path, settings, site_a, site_b, subject_a, subject_b, investigator_a, investigator_b
):
    settings.EXPORT_ROOT = str(tmp_path / "exports")
    ctcae_terms_ensure()  # an earlier transactional test's flush may have removed them
    for subject, investigator in ((subject_a, investigator_a), (subject_b, investigator_b)):
        baseline_for(subject, by=investigator)
        course_for(subject, by=investigator)
        day11_for(subject, by=investigator)
        infusion_started_for(subject, by=investigator)
        lab_panel_for(subject, by=investigator)
        serious_ae_for(subject, by=investigator, verbatim="=danger +1")
    _after_induction_for(subject_a, investigator_a)
    # As in a running system, the rules have raised their alerts (the import's own evaluation
    # then finds them in place and changes nothing).
    assert all_subjects_evaluate() == 2
    assert Alert.objects.exists()
    first = tmp_path / "first.zip"
    study_csv_write(first, site_ids=None)

    name = f"{connection.settings_dict['NAME']}_rt_{uuid.uuid4().hex[:8]}"
    admin = _database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    target = _database_url().rsplit("/", 1)[0] + f"/{name}"
    try:
        _manage(target, "migrate", "-v0")
        printed = _manage(target, "import_study", str(first))
        assert "subjects.csv: 2 rows imported" in printed
        second = tmp_path / "second.zip"
        _manage(target, "export_study", str(second))
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name == "audit_trail.csv":
                continue  # the second system's trail starts with the import itself
            assert a.read(name) == b.read(name), name
        trail = list(csv.DictReader(io.StringIO(b.read("audit_trail.csv").decode())))
        assert trail and {r["reason"] for r in trail} == {"imported"}
        assert b"=danger" in a.read("adverse_events.csv")
        courses = list(
            csv.DictReader(io.StringIO(a.read("mrd_triggered_blinatumomab.csv").decode()))
        )
        assert [(c["subject"], c["cycles"], c["mrd_after_class"]) for c in courses] == [
            (subject_a.study_id, "2", "quantifiable")
        ]
        assert Decimal(courses[0]["mrd_after_value"]) == Decimal("1.2E-4")
        salvage = list(csv.DictReader(io.StringIO(a.read("salvage_therapies.csv").decode())))
        assert [(t["regimen"], t["regimen_other"], t["end_date"]) for t in salvage] == [
            ("other", "'=hyper-CVAD", "")  # a formula prefix neutralised, running
        ]


def _after_induction_for(subject, investigator):
    """Treatment after induction: an MRD-triggered blinatumomab course and a salvage therapy."""
    record_save(
        MrdTriggeredBlinatumomab(
            subject=subject, start_date=datetime.date(2026, 7, 6),
            end_date=datetime.date(2026, 8, 30), cycles=2, dose_ug_per_day=Decimal(28),
            cd19_reconfirmed=True, cd19_date=datetime.date(2026, 7, 1),
            mrd_after_class="quantifiable", mrd_after_value=Decimal("0.00012"),
            comment="after W18 MRD 3E-4",
        ),
        user=investigator,
    )  # fmt: skip
    record_save(
        SalvageTherapy(
            subject=subject, start_date=datetime.date(2026, 10, 1), regimen="other",
            regimen_other="=hyper-CVAD", indication="relapse",
        ),
        user=investigator,
    )  # fmt: skip


COURSE_HEADER = ["id", "entered_in_error", "subject", "start_date", "end_date", "cycles",
                 "dose_ug_per_day", "cd19_reconfirmed", "cd19_date", "mrd_after_class",
                 "mrd_after_value", "comment"]  # fmt: skip
SALVAGE_HEADER = ["id", "entered_in_error", "subject", "start_date", "end_date", "regimen",
                  "regimen_other", "indication", "outcome", "comment"]  # fmt: skip


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_treatment_after_induction_is_imported_with_history(small_files):
    _write(small_files, "mrd_triggered_blinatumomab.csv", [
        COURSE_HEADER,
        ["901", "false", "9-01", "2026-07-06", "2026-08-30", "2", "28.0", "true", "2026-07-01",
         "negative", "", ""],
    ])  # fmt: skip
    _write(small_files, "salvage_therapies.csv", [
        SALVAGE_HEADER,
        ["902", "false", "9-01", "2026-06-01", "", "inotuzumab", "", "relapse", "", ""],
    ])  # fmt: skip
    result = study_import(small_files)
    assert result.counts["mrd_triggered_blinatumomab.csv"] == 1
    assert result.counts["salvage_therapies.csv"] == 1
    course = MrdTriggeredBlinatumomab.objects.get(pk=901)
    assert (course.subject.study_id, course.cycles, course.mrd_after_class) == (
        "9-01",
        2,
        "negative",
    )
    assert course.history.get().history_change_reason == "imported"
    assert SalvageTherapy.objects.get(pk=902).end_date is None


@pytest.mark.verifies("UR-REC-01")
@pytest.mark.django_db
def test_treatment_after_induction_passes_the_pipeline_checks_on_import(small_files):
    _write(small_files, "mrd_triggered_blinatumomab.csv", [
        COURSE_HEADER,
        ["901", "false", "9-01", "2026-07-06", "2026-07-01", "3", "0", "true", "",
         "negative", "0.0002", ""],
    ])  # fmt: skip
    _write(small_files, "salvage_therapies.csv", [
        SALVAGE_HEADER,
        ["902", "false", "9-01", "2026-06-01", "", "other", "", "relapse", "", ""],
    ])  # fmt: skip
    with pytest.raises(StudyImportFailed) as failed:
        study_import(small_files)
    text = [str(e) for e in failed.value.errors]
    where = "mrd_triggered_blinatumomab.csv, row 2, column"
    for column, message in (
        ("end_date", "The end date (2026-07-01) is before the start date (2026-07-06)"),
        ("cycles", "3 cycles: MRD-triggered blinatumomab is given for 1 or 2 cycles (MR-4)"),
        ("dose_ug_per_day", "The dose 0 µg/day is not above zero"),
        ("cd19_date", "Give the date on which CD19 expression was reconfirmed."),
        ("mrd_after_value", "A negative result has no value"),
    ):
        assert any(t.startswith(f"{where} {column}: {message}") for t in text), (column, text)
    assert "salvage_therapies.csv, row 2, column regimen_other: Name the other regimen." in text
    assert not Subject.objects.filter(study_id="9-01").exists()
    assert not MrdTriggeredBlinatumomab.objects.exists()


@pytest.mark.verifies("UR-LCK-01")
@pytest.mark.django_db
def test_an_import_into_a_locked_subject_is_refused(tmp_path, subject_a, investigator_a):
    from crf.models import Role
    from monitoring.locks import lock_create
    from monitoring.models import Lock
    from tests.factories import user_with_role

    lock_create(
        level=Lock.Level.SUBJECT, subject=subject_a, reason="database lock",
        user=user_with_role(Role.DATA_MANAGER),
    )  # fmt: skip
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
    assert any(
        str(e).startswith("follow_up_contacts.csv, row 2") and "is locked" in str(e)
        for e in failed.value.errors
    ), failed.value.errors
