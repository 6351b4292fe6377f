"""audit_trail.csv (computed in PostgreSQL) holds exactly the rows of the audit review
(computed in Python), in the same order, for a study with every kind of change."""

import csv
import datetime
import io
import re
import zipfile
from datetime import UTC
from decimal import Decimal

import pytest

from audit.cells import text_cell
from audit.services import audited_save, record_mark_entered_in_error
from crf.models import Role
from crf.services import record_save
from exports.audit_file import AUDIT_COLUMNS
from exports.csv_export import study_csv_write
from monitoring.audit_review import AuditScope, AuditTrail
from monitoring.locks import lock_create, lock_release
from monitoring.models import Lock
from monitoring.queries import query_answer, query_close, query_open
from monitoring.sdv import record_verify
from monitoring.signatures import signature_create
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from tests.factories import (
    PASSWORD,
    baseline_for,
    day11_for,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-EXP-01", "UR-MON-01")


@pytest.fixture
def busy_study(site_a, site_b, subject_a, subject_b, investigator_b):
    principal = user_with_role(
        Role.INVESTIGATOR, site_a, principal_investigator=True, username="=pi.a"
    )
    monitor = user_with_role(Role.MONITOR, site_a, username="mon.a")
    manager = user_with_role(Role.DATA_MANAGER, username="dm")
    baseline = baseline_for(subject_a, by=principal)
    for kg, reason in (("71.5", "scale"), ("72", "+re-weighed, 'again'\nline two")):
        baseline.weight_kg = Decimal(kg)
        baseline = record_save(baseline, user=principal, reason=reason)
    day11_for(subject_a, by=principal)
    infusion_started_for(subject_a, by=principal)
    panel = lab_panel_for(subject_a, by=principal)
    serious_ae_for(subject_a, by=principal, verbatim='=cmd|"/c calc"!A1')
    record_mark_entered_in_error(panel, user=principal, reason="wrong patient")
    sample = sample_record(
        subject=subject_a, timepoint="W11", material="bone_marrow",
        sampled_on=subject_a.day1_date + datetime.timedelta(days=74), user=principal,
    )  # fmt: skip
    result_save(
        MrdResult(sample=sample, method="qpcr", report_date=sample.sampled_on,
                  result_class="quantifiable", value=Decimal("0.00000012")),
        user=user_with_role(Role.CENTRAL_LAB, None, username="lab"),
    )  # fmt: skip
    query = query_open(
        record=baseline, field_name="weight_kg", text="Source says 71?", user=monitor
    )
    query_answer(query=query, text="Checked: 72 kg", user=principal)
    query_close(query=query, text="ok", user=monitor)
    record_verify(record=baseline, user=monitor, fields=["weight_kg", "height_cm"])
    lock = lock_create(level=Lock.Level.SUBJECT, subject=subject_a, reason="interim", user=manager)
    lock_release(lock=lock, reason="interim done", user=manager)
    signature_create(subject=subject_a, password=PASSWORD, user=principal)
    baseline_for(subject_b, by=investigator_b)
    membership = subject_b.site.memberships.first()
    audited_save(membership, user=manager, reason="checked")  # a change with no field changed
    return subject_a, subject_b


def _python_rows(site_ids):
    trail = AuditTrail(AuditScope(site_ids=site_ids, data_only=True))
    for r in trail.rows():
        yield [
            r.at.astimezone(UTC).isoformat(), text_cell(r.user), text_cell(r.user_roles),
            r.subject, r.site, r.form, text_cell(r.record), text_cell(r.field),
            text_cell(r.old), text_cell(r.new), text_cell(r.reason), r.kind,
        ]  # fmt: skip


def _exported_rows(tmp_path, site_ids):
    out = tmp_path / "study.zip"
    counts = study_csv_write(out, site_ids=site_ids)
    with zipfile.ZipFile(out) as archive:
        text = archive.read("audit_trail.csv").decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [name for name, _ in AUDIT_COLUMNS]
    assert counts["audit_trail.csv"] == len(rows) - 1
    return rows[1:]


@pytest.mark.django_db
@pytest.mark.parametrize("scope", ["every site", "site 1"])
def test_the_exported_trail_is_the_reviewed_trail(tmp_path, busy_study, site_a, scope):
    site_ids = None if scope == "every site" else frozenset({site_a.pk})
    python = list(_python_rows(site_ids))
    exported = _exported_rows(tmp_path, site_ids)
    assert len(python) > 150
    for n, (mine, theirs) in enumerate(zip(python, exported, strict=True)):
        assert mine == theirs, f"row {n + 2}"
    kinds = {row[-1] for row in exported}
    assert {"created", "changed", "entered in error"} <= kinds
    assert ["'=pi.a"] == sorted({row[1] for row in exported if "pi.a" in row[1]})
    mrd = [row for row in exported if row[5] == "MRD result" and row[7] == "MRD value"]
    assert mrd and mrd[0][9] == "0.00000012"  # as written: plain, no trailing zeros, never 1.2E-7
    assert not any(re.search(r"#\d", row[6]) for row in exported)  # records by their names
