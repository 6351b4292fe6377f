"""Data freezes: one consistent, read-only, hashed copy of the study, read later unchanged and
compared with the live data record by record."""

import datetime

import psycopg
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from audit.services import audited_save
from crf.models import Role, Subject
from exports.freezes import changes_since, freeze_create, freeze_verify, reading
from exports.models import Freeze
from tests.factories import PASSWORD, enrol, user_with_role

pytestmark = pytest.mark.verifies("UR-FRZ-01")


def test_a_freeze_holds_the_study_as_it_was_and_says_so_by_its_hash(
    data_manager, subject_a, subject_b, investigator_a
):
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    tables = {table: rows for table, rows, _, _ in freeze.tables}
    assert tables["crf_subject"] == 2
    assert tables["crf_historicalsubject"] >= 2
    assert freeze_verify(freeze).ok

    # The live data move on; the freeze does not.
    frozen_day1 = subject_a.day1_date
    subject_a.day1_date = frozen_day1 + datetime.timedelta(days=1)
    audited_save(subject_a, user=investigator_a, reason="day 1 corrected")
    enrol(subject_a.site, by=investigator_a)
    assert Subject.objects.count() == 3
    with reading(freeze):
        assert Subject.objects.count() == 2
        assert Subject.objects.get(pk=subject_a.pk).day1_date == frozen_day1
    assert Subject.objects.count() == 3  # live again after the block
    assert freeze_verify(freeze).ok


def test_the_comparison_lists_exactly_the_records_changed_since(
    data_manager, subject_a, subject_b, investigator_a
):
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    assert changes_since(freeze) == []
    frozen_day1 = subject_a.day1_date
    subject_a.day1_date = frozen_day1 + datetime.timedelta(days=1)
    audited_save(subject_a, user=investigator_a, reason="day 1 corrected")
    added = enrol(subject_a.site, by=investigator_a)
    found = {(c.model, c.pk, c.kind) for c in changes_since(freeze)}
    assert (Subject, subject_a.pk, "changed") in found
    assert (Subject, added.pk, "added") in found
    assert (Subject, subject_b.pk, "changed") not in found
    # Nothing else but the records the enrolment itself wrote (its screening, its visit).
    assert {c.model._meta.model_name for c in changes_since(freeze)} <= {
        "subject",
        "screening",
        "visit",
    }


def test_a_frozen_table_refuses_every_write_even_in_sql(data_manager, subject_a):
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    for statement in (
        f'UPDATE "{freeze.schema}".crf_subject SET study_id = %s',
        f'DELETE FROM "{freeze.schema}".crf_subject WHERE study_id <> %s',
        f'TRUNCATE "{freeze.schema}".crf_subject',
    ):
        with pytest.raises(Exception) as refused, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, ["x"] if "%s" in statement else None)
        assert "part of a data freeze" in str(refused.value)
    assert freeze_verify(freeze).ok


def test_the_application_role_reads_a_freeze_but_cannot_change_or_drop_it(
    data_manager, subject_a, transactional_db
):
    from tests.alerts.worker import app_database_url

    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    with psycopg.connect(app_database_url(), autocommit=True) as app:
        rows = app.execute(f'SELECT count(*) FROM "{freeze.schema}".crf_subject').fetchone()
        assert rows[0] == 1
        for statement in (
            f'DROP TABLE "{freeze.schema}".crf_subject',
            f'DROP SCHEMA "{freeze.schema}" CASCADE',
            f'ALTER TABLE "{freeze.schema}".crf_subject DISABLE TRIGGER frozen',
            f"UPDATE \"{freeze.schema}\".crf_subject SET study_id = 'x'",
        ):
            with pytest.raises(psycopg.errors.Error):
                app.execute(statement)


def test_a_freeze_of_one_site_holds_none_of_another_sites_records(
    site_a, subject_a, subject_b, investigator_a
):
    manager_a = user_with_role(Role.DATA_MANAGER, site_a, username="dm.a")
    freeze = freeze_create(user=manager_a, name="Prague", reason="site close-out", site_numbers=[1])
    with reading(freeze):
        assert list(Subject.objects.values_list("pk", flat=True)) == [subject_a.pk]
        from crf.models import Screening, Visit

        assert not Visit.objects.filter(subject=subject_b).exists()
        assert not Screening.objects.filter(site=subject_b.site).exists()
        assert not Subject.history.filter(id=subject_b.pk).exists()
    with pytest.raises(PermissionDenied):
        freeze_create(user=manager_a, name="Both", reason="x", site_numbers=[1, 2])
    with pytest.raises(PermissionDenied):
        freeze_create(user=manager_a, name="Study", reason="x")


def test_the_users_of_a_freeze_keep_their_names_but_not_their_passwords(data_manager, subject_a):
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT username, password FROM "{freeze.schema}".auth_user ORDER BY 1')
        users = dict(cursor.fetchall())
    assert "dm" in users and set(users.values()) == {""}
    data_manager.refresh_from_db()
    assert data_manager.check_password(PASSWORD)  # the live account is untouched


def test_a_freeze_needs_a_name_a_reason_and_a_data_manager(data_manager, investigator_a):
    with pytest.raises(ValidationError) as refused:
        freeze_create(user=data_manager, name=" ", reason="")
    assert set(refused.value.message_dict) == {"name", "reason"}
    freeze_create(user=data_manager, name="Interim 1", reason="interim")
    with pytest.raises(ValidationError) as refused:
        freeze_create(user=data_manager, name="interim 1", reason="again")
    assert "already a freeze" in str(refused.value)
    with pytest.raises(PermissionDenied):
        freeze_create(user=investigator_a, name="Mine", reason="x")
    assert Freeze.objects.count() == 1
    assert Freeze.history.count() == 1  # audited, with its reason
    assert Freeze.history.get().history_change_reason == "interim"


def test_the_application_role_takes_a_freeze_it_then_cannot_change(subject_a, transactional_db):
    """The web and the worker connect as the application role, which owns nothing: the owner's
    function makes the copy, and the copy is the owner's."""
    from tests.alerts.worker import app_database_url

    schema = "freeze_0123456789ab"
    try:
        with psycopg.connect(app_database_url(), autocommit=True) as app:
            copied = app.execute(
                "SELECT blinacell_freeze_table(%s, 'crf_subject', 'id', NULL, %s)",
                [schema, ["password"]],
            ).fetchone()[0]
            assert copied == 1
            assert app.execute(f'SELECT count(*) FROM "{schema}".crf_subject').fetchone()[0] == 1
            with pytest.raises(psycopg.errors.Error):  # not its own: it cannot drop it
                app.execute(f'DROP TABLE "{schema}".crf_subject')
            with pytest.raises(psycopg.errors.Error):  # nor freeze into a schema of its naming
                app.execute("SELECT blinacell_freeze_table('public', 'crf_site', 'id', NULL, '{}')")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
