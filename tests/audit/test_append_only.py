"""History tables and account events refuse UPDATE, DELETE and TRUNCATE, even as raw SQL."""

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import AccountEvent
from audit.roles import append_only_missing

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
    missing = append_only_missing()
    assert missing == [], f"add audit.operations.AppendOnly to the migration of: {missing}"
