"""The installation part of the validation report finds what is wrong with an installation: a
missing audit trigger, an unpinned or differing package, an unapplied migration."""

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from audit.operations import ROW_TRIGGER
from validation.installation import (
    migrations_check,
    packages_check,
    postgresql_check,
    redis_check,
    triggers_check,
)

pytestmark = [pytest.mark.django_db, pytest.mark.verifies("UR-OPS-01", "UR-AUD-01")]


def test_a_missing_append_only_trigger_fails_the_check():
    assert triggers_check().ok
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TRIGGER {ROW_TRIGGER} ON "crf_historicalsubject"')
    check = triggers_check()
    assert not check.ok
    assert ("crf_historicalsubject", ROW_TRIGGER) in check.rows
    assert "crf_historicalsubject" in check.summary


def test_an_unapplied_migration_fails_the_check():
    assert migrations_check().ok
    MigrationRecorder.Migration.objects.filter(app="api", name="0001_initial").delete()
    check = migrations_check()
    assert not check.ok
    assert "api.0001_initial" in check.summary


def test_an_unpinned_or_differing_package_fails_the_check(tmp_path):
    pinned = tmp_path / "requirements.txt"
    pinned.write_text("Django==5.2.19  # direct\npsycopg[binary]==3.3.9\n")
    assert packages_check((pinned,)).ok
    loose = tmp_path / "loose.txt"
    loose.write_text("-r requirements.txt\ncelery>=5\nDjango==4.0.0\n")
    check = packages_check((loose,))
    assert not check.ok
    results = {row[0]: row[-1] for row in check.rows}
    assert results["loose.txt: celery>=5"] == "UNPINNED"
    assert results["django"] == "DIFFERS"
    assert results["psycopg"] == "ok"


def test_the_servers_are_named_with_their_versions():
    assert postgresql_check().ok and "server" in postgresql_check().summary
    broker = redis_check()
    assert broker.ok and broker.summary.startswith("server ")


def test_a_check_that_cannot_run_fails_with_its_reason(monkeypatch):
    from validation import installation

    def unreachable():
        raise ConnectionError("no route to the database")

    monkeypatch.setattr(installation, "postgresql_check", unreachable)
    checks = {c.name: c for c in installation.installation_checks()}
    assert not checks["PostgreSQL"].ok
    assert "no route to the database" in checks["PostgreSQL"].summary
    assert checks["Python"].ok
