"""History tables and account events refuse UPDATE, DELETE and TRUNCATE, even as raw SQL."""

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from simple_history.models import HistoricalChanges

from accounts.models import AccountEvent
from audit.operations import ROW_TRIGGER, TRUNCATE_TRIGGER

pytestmark = pytest.mark.verifies("UR-AUD-01")

HISTORY_TABLE = "crf_historicalsubject"


def _refused(sql: str) -> str:
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    return str(refusal.value)


@pytest.mark.django_db
def test_history_update_is_refused(subject_a):
    message = _refused(f"UPDATE {HISTORY_TABLE} SET history_change_reason = 'rewritten'")
    assert "append-only: UPDATE refused" in message
    assert subject_a.history.filter(history_change_reason="rewritten").count() == 0


@pytest.mark.django_db
def test_history_delete_is_refused(subject_a):
    before = subject_a.history.count()
    assert before >= 1
    message = _refused(f"DELETE FROM {HISTORY_TABLE}")
    assert "append-only: DELETE refused" in message
    assert subject_a.history.count() == before


@pytest.mark.django_db
def test_history_truncate_is_refused(subject_a):
    # The test's own transaction still holds deferred FK checks, which TRUNCATE would trip on.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    message = _refused(f"TRUNCATE {HISTORY_TABLE}")
    assert "append-only: TRUNCATE refused" in message
    assert subject_a.history.count() >= 1


@pytest.mark.verifies("UR-ACC-03")
@pytest.mark.django_db
def test_account_events_are_append_only(investigator_a, client):
    client.post("/accounts/login/", {"username": "inv.a", "password": "wrong-password-x"})
    assert AccountEvent.objects.count() >= 1
    assert "UPDATE refused" in _refused("UPDATE accounts_accountevent SET username = 'someone'")
    assert "DELETE refused" in _refused("DELETE FROM accounts_accountevent")


@pytest.mark.django_db
def test_every_history_table_carries_both_triggers():
    tables = {
        model._meta.db_table for model in apps.get_models() if issubclass(model, HistoricalChanges)
    }
    tables.add(AccountEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname IN (%s, %s)",
            [ROW_TRIGGER, TRUNCATE_TRIGGER],
        )
        found = set(cursor.fetchall())
    missing = [
        (table, trigger)
        for table in sorted(tables)
        for trigger in (ROW_TRIGGER, TRUNCATE_TRIGGER)
        if (table, trigger) not in found
    ]
    assert missing == [], f"add audit.operations.AppendOnly to the migration of: {missing}"
