"""The application's database role cannot undo the audit trail: it owns nothing, so it cannot
disable, drop or bypass the append-only triggers, truncate, change or delete history rows, and
a history row it writes gets the database's time, not the one it gives."""

import datetime

import psycopg
import pytest
from django.db import connection

from tests.alerts.worker import APP_ROLE, app_database_url

pytestmark = pytest.mark.verifies("UR-AUD-01")

HISTORY = "crf_historicalsite"  # any history table: all are guarded alike

REFUSED = [
    f'ALTER TABLE "{HISTORY}" DISABLE TRIGGER ALL',
    f'ALTER TABLE "{HISTORY}" DISABLE TRIGGER audit_append_only',
    f'DROP TRIGGER audit_append_only ON "{HISTORY}"',
    f'DROP TRIGGER audit_history_stamped ON "{HISTORY}"',
    "SET session_replication_role = replica",
    f'TRUNCATE "{HISTORY}"',
    f'UPDATE "{HISTORY}" SET history_change_reason = %s',
    f'DELETE FROM "{HISTORY}"',
    "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NEW; END $$",
    "ALTER ROLE CURRENT_USER SUPERUSER",
]


@pytest.fixture
def as_application(db):
    with psycopg.connect(app_database_url(), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == APP_ROLE
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                            ).fetchone()[0] is False  # fmt: skip
        yield conn


@pytest.mark.parametrize("statement", REFUSED)
def test_the_application_role_cannot_touch_the_audit_guards(as_application, statement):
    params = ["rewritten"] if "%s" in statement else None
    with pytest.raises(psycopg.errors.Error) as refused:
        as_application.execute(statement, params)
    assert isinstance(
        refused.value,
        psycopg.errors.InsufficientPrivilege | psycopg.errors.RaiseException,
    ), refused.value


def test_a_back_dated_history_row_gets_the_databases_time(as_application):
    before = as_application.execute("SELECT clock_timestamp()").fetchone()[0]
    row = as_application.execute(
        f'INSERT INTO "{HISTORY}" (id, number, name, city, version, created_at, updated_at, '
        "history_date, history_type) VALUES (999, 9, 'x', 'y', 1, now(), now(), %s, '+') "
        "RETURNING history_date",
        [datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)],
    ).fetchone()
    assert row[0] >= before  # not 2001: the database's clock decides


def test_the_application_role_does_its_work(as_application):
    """Reading and writing the study's tables is what it is for."""
    as_application.execute("SELECT count(*) FROM crf_subject").fetchone()
    with as_application.transaction(force_rollback=True):
        as_application.execute(
            "INSERT INTO crf_site (number, name, city, version, created_at, updated_at) "
            "VALUES (77, 'Test', 'Test', 1, now(), now())"
        )


def test_the_tests_own_connection_is_the_owner_not_the_application(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != APP_ROLE
