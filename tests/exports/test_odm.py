"""The CDISC ODM 1.3.2 export validates against the ODM schema, with audit records,
signatures and MRD levels such as 1.2E-4."""

import datetime
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.core.management import call_command

from crf.models import Role
from exports.odm import NS, study_odm_write
from exports.odm_schema import odm_errors, schema_path
from monitoring.signatures import signature_create
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from tests.factories import (
    PASSWORD,
    baseline_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-EXP-01")

ODM = f"{{{NS}}}"


@pytest.fixture
def study(site_a, subject_a, subject_b, investigator_b):
    principal = user_with_role(
        Role.INVESTIGATOR, site_a, principal_investigator=True, username="pi.a",
        first_name="Jana", last_name="Nováková",
    )  # fmt: skip
    baseline = baseline_for(subject_a, by=principal)
    lab_panel_for(subject_a, by=principal)
    serious_ae_for(subject_a, by=principal, verbatim="<b>&transaminases</b>")
    sample = sample_record(
        subject=subject_a, timepoint="W11", material="bone_marrow",
        sampled_on=subject_a.day1_date + datetime.timedelta(days=74), user=principal,
    )  # fmt: skip
    lab = user_with_role(Role.CENTRAL_LAB, None)
    result_save(
        MrdResult(sample=sample, method="qpcr", report_date=sample.sampled_on,
                  result_class="quantifiable", value=Decimal("1.2E-4")),
        user=lab,
    )  # fmt: skip
    baseline.weight_kg = Decimal("77")
    from crf.services import record_save

    record_save(baseline, user=principal, reason="weighed again")
    signature_create(subject=subject_a, password=PASSWORD, user=principal)
    baseline_for(subject_b, by=investigator_b)
    return subject_a, subject_b


def test_the_schema_is_where_the_export_looks_for_it():
    assert schema_path().exists(), f"ODM schema not found at {schema_path()} (set ODM_SCHEMA)"


@pytest.mark.django_db
def test_the_odm_export_is_valid_and_holds_audit_records_and_signatures(tmp_path, study):
    subject_a, _ = study
    out = tmp_path / "study.xml"
    counts = study_odm_write(out, site_ids=None)
    assert odm_errors(out) == []
    root = ET.parse(out).getroot()  # noqa: S314 (our own export)
    assert root.tag == f"{ODM}ODM" and root.get("ODMVersion") == "1.3.2"
    subjects = {s.get("SubjectKey"): s for s in root.iter(f"{ODM}SubjectData")}
    assert set(subjects) == {s.study_id for s in study}
    mine = subjects[subject_a.study_id]
    signature = mine.find(f"{ODM}Signature")
    assert signature.find(f"{ODM}UserRef").get("UserOID") == "U.pi.a"
    assert signature.find(f"{ODM}SignatureRef").get("SignatureOID") == "SD.CASEBOOK"
    mrd = [
        e.text
        for e in mine.iter(f"{ODM}ItemDataDouble")
        if e.get("ItemOID") == "I.MRD_RESULTS.VALUE"
    ]
    assert mrd == ["1.2E-4"]
    baseline = next(
        g for g in mine.iter(f"{ODM}ItemGroupData") if g.get("ItemGroupOID") == "IG.BASELINE"
    )
    audit = baseline.find(f"{ODM}AuditRecord")
    assert audit.find(f"{ODM}ReasonForChange").text == "weighed again"
    assert audit.find(f"{ODM}UserRef").get("UserOID") == "U.pi.a"
    weight = [e.text for e in baseline if e.get("ItemOID") == "I.BASELINE.WEIGHT_KG"]
    assert weight == ["77.0"]  # ODM float is xs:decimal: plain notation
    verbatim = [e.text for e in mine.iter() if e.get("ItemOID") == "I.ADVERSE_EVENTS.VERBATIM"]
    assert verbatim == ["<b>&transaminases</b>"]  # escaped in the file, intact when read
    assert counts["baseline.csv"] == 2 and counts["mrd_results.csv"] == 1


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_a_site_scoped_odm_export_holds_only_that_site(tmp_path, study, site_b):
    _, subject_b = study
    out = tmp_path / "site2.xml"
    call_command("export_study", str(out), "--format", "odm", "--sites", "2")
    assert odm_errors(out) == []
    root = ET.parse(out).getroot()  # noqa: S314 (our own export)
    keys = [s.get("SubjectKey") for s in root.iter(f"{ODM}SubjectData")]
    assert keys == [subject_b.study_id]
    assert b"LOC.1" not in out.read_bytes()


def test_an_invalid_file_is_reported(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text(f'<ODM xmlns="{NS}" FileOID="x" FileType="Snapshot" CreationDateTime="now"/>')
    assert odm_errors(bad)
