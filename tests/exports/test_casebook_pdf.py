"""The PDF casebook of a subject: read back with pypdf and compared with the database."""

import datetime
import io
import re
import time
from datetime import date
from datetime import datetime as moment
from decimal import Decimal

import pypdf
import pytest

from audit.clock import local_time_text
from audit.models import history_model
from audit.services import record_mark_entered_in_error
from crf.models import Role, Subject
from crf.records import subject_path
from crf.services import record_save
from exports.casebook_pdf import casebook_pdf_write
from monitoring.models import Query, QueryMessage
from monitoring.queries import query_answer, query_close, query_open
from monitoring.records import clinical_models, content_fields, subject_records
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

pytestmark = [pytest.mark.django_db, pytest.mark.verifies("UR-ARC-01")]

BASIS = "Live data as of 2026-11-30 18:02 CET"


def closeout_subject(subject, site, *, edits: int = 2):
    """A subject with every kind of record a close-out casebook shows: corrected values with
    reasons, an MRD result, an entered-in-error panel, a query conversation, an SDV mark and a
    casebook signature."""
    principal = user_with_role(Role.INVESTIGATOR, site, principal_investigator=True)
    monitor = user_with_role(Role.MONITOR, site)
    baseline = baseline_for(subject, by=principal)
    for n in range(edits):
        baseline.weight_kg = Decimal("60") + n % 40
        baseline = record_save(baseline, user=principal, reason=f"re-weighed on scale {n}")
    day11_for(subject, by=principal)
    infusion_started_for(subject, by=principal)
    panel = lab_panel_for(subject, by=principal)
    serious_ae_for(subject, by=principal, verbatim="Liver enzymes raised")
    record_mark_entered_in_error(panel, user=principal, reason="wrong patient")
    sample = sample_record(
        subject=subject, timepoint="W11", material="bone_marrow",
        sampled_on=subject.day1_date + datetime.timedelta(days=74), user=principal,
    )  # fmt: skip
    result_save(
        MrdResult(sample=sample, method="qpcr", report_date=sample.sampled_on,
                  result_class="quantifiable", value=Decimal("0.00012")),
        user=user_with_role(Role.CENTRAL_LAB, None),
    )  # fmt: skip
    query = query_open(
        record=baseline, field_name="weight_kg", text="Source says 71?", user=monitor
    )
    query_answer(query=query, text="Checked against the chart: 71 kg", user=principal)
    query_close(query=query, text="Thank you, resolved", user=monitor)
    record_verify(record=baseline, user=monitor, fields=["height_cm"])
    signature_create(subject=subject, password=PASSWORD, user=principal)
    return subject


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def squeezed(text: str) -> str:
    """Text without whitespace: a value wrapped over two lines of a cell reads as one."""
    return re.sub(r"\s+", "", text)


def shown(f, value) -> str | None:
    """A stored value as the casebook prints it, for the kinds of value compared here (None:
    not compared here, e.g. references)."""
    if value is None or value == "" or value == []:
        return None
    if f.is_relation:
        return None
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, moment):
        return local_time_text(value)[:16]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return None
    return str(value)


def write(subject) -> bytes:
    out = io.BytesIO()
    casebook_pdf_write(subject, out, basis_label=BASIS)
    return out.getvalue()


def test_the_casebook_holds_every_record_query_and_audit_row_of_its_subject(
    site_a, subject_a, subject_b
):
    closeout_subject(subject_a, site_a)
    data = write(subject_a)
    text = squeezed("".join(pdf_pages(data)))
    records = list(subject_records(subject_a))
    assert {type(r) for r in records} >= {Subject, MrdResult}
    compared = 0
    for record in records:
        for f in content_fields(type(record)):
            value = shown(f, f.value_from_object(record))
            if value is not None:
                assert squeezed(value) in text, f"{record._meta.label}.{f.name} = {value!r}"
                compared += 1
    assert compared > 60
    messages = QueryMessage.objects.filter(query__subject=subject_a).exclude(text="")
    assert messages.count() == 3
    for message in messages:
        assert squeezed(message.text) in text
    reasons = set()
    for model in (*clinical_models(), Query):
        path = "subject_id" if model is Query else subject_path(model)
        history = history_model(model).objects.filter(**{path.replace("pk", "id"): subject_a.pk})
        reasons |= {r for r in history.values_list("history_change_reason", flat=True) if r}
    assert {"re-weighed on scale 0", "re-weighed on scale 1"} <= reasons
    assert any("wrong patient" in reason for reason in reasons)
    for reason in reasons:
        assert squeezed(reason) in text, reason
    assert "(entered in error)" in "".join(pdf_pages(data))
    assert squeezed("I approve the data of this casebook") in text
    assert subject_b.study_id not in text


def test_every_page_names_the_subject_and_basis_and_counts_its_pages(site_a, subject_a):
    closeout_subject(subject_a, site_a)
    pages = pdf_pages(write(subject_a))
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert f"Subject {subject_a.study_id}" in page
        assert BASIS in page


def test_the_file_claims_pdf_a_2b_with_its_fonts_embedded(site_a, subject_a):
    closeout_subject(subject_a, site_a, edits=0)
    reader = pypdf.PdfReader(io.BytesIO(write(subject_a)))
    xmp = reader.xmp_metadata
    assert xmp is not None
    assert xmp.pdfaid_part == "2" and xmp.pdfaid_conformance == "B"
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
    assert "/DestOutputProfile" in intents[0].get_object()
    fonts = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descendant = font.get_object()["/DescendantFonts"][0].get_object()
            assert "/FontFile2" in descendant["/FontDescriptor"]
            fonts += 1
    assert fonts


def test_a_subject_with_hundreds_of_audit_rows_is_written_in_seconds(site_a, subject_a):
    closeout_subject(subject_a, site_a, edits=150)
    started = time.monotonic()
    pages = pdf_pages(write(subject_a))
    elapsed = time.monotonic() - started
    assert squeezed("re-weighed on scale 149") in squeezed("".join(pages))
    assert elapsed < 20, f"{elapsed:.1f} s"
