"""A backup restores into a fresh database with every table's rows."""

import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.backup import database_drop, table_counts
from tests.factories import baseline_for, lab_panel_for, serious_ae_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.verifies("UR-OPS-02")]


def test_a_backup_restores_into_a_fresh_database_with_equal_counts(
    tmp_path, subject_a, investigator_a, capsys
):
    from tests.factories import ctcae_terms_ensure

    ctcae_terms_ensure()
    baseline_for(subject_a, by=investigator_a)
    lab_panel_for(subject_a, by=investigator_a)
    serious_ae_for(subject_a, by=investigator_a)
    dump = tmp_path / "study.dump"
    call_command("backup_database", str(dump))
    assert dump.stat().st_size > 0
    into = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:6]}"
    try:
        call_command("restore_database", str(dump), "--into", into, "--check")
        printed = capsys.readouterr().out
        assert "every table's count equal" in printed
        restored = table_counts(into)
        assert restored["crf_subject"] == 1 and restored["crf_historicalbaseline"] >= 1
        assert restored["safety_adverseevent"] == 1
        with pytest.raises(CommandError, match="exists: restore into a new, empty database"):
            call_command("restore_database", str(dump), "--into", into)
    finally:
        database_drop(into)


def test_a_restore_refuses_a_strange_database_name(tmp_path):
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"not a dump")
    with pytest.raises(CommandError, match="letters, digits and underscores"):
        call_command("restore_database", str(dump), "--into", "x; DROP")
