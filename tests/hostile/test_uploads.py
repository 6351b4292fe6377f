"""The MRD results upload (mrd:upload, its preview and mrd:upload_commit) with hostile files
and hostile cells: never a 500, every bad cell an error of the preview, a commit of a file with
errors saves nothing, an accepted cell is stored exactly, and nothing is shown unescaped."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mrd.models import MrdResult, MrdUpload
from mrd.services import sample_record
from tests.audit.routes import _csv_row, mrd_csv
from tests.factories import enrol

from . import corpus
from .probe import changed_tables, rolled_back, table_counts

pytestmark = pytest.mark.verifies("UR-MRD-02", "UR-ACC-05")

# Each column with the corpus of its kind.
CELL_CORPUS = {
    "accession": (*corpus.CHOICES, "9-99-W11", " {accession} ", "{accession}\u200b"),
    "method": corpus.CHOICES,
    "result": corpus.CHOICES,
    "value": (*corpus.NUMBERS, "1E-16", "1.23456789012345678E-4", "1E-99", "1E-100"),
    "sensitivity": (*corpus.NUMBERS, "1E-16"),
    "quantitative_range": corpus.NUMBERS,
    "report_date": corpus.DATES,
    "markers": (*corpus.TEXT, "m" * 201),
    "not_evaluable_reason": corpus.TEXT,
    "comment": corpus.TEXT,
    "reason_for_change": corpus.TEXT,
}


@pytest.fixture
def lab(client, central_lab):
    client.force_login(central_lab)
    client.raise_request_exception = False
    return client


@pytest.fixture
def sample(site_a, investigator_a):
    return sample_record(
        subject=enrol(site_a, by=investigator_a),
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=investigator_a,
    )


def _send(client, content: bytes, name: str = "batch.csv"):
    return client.post(reverse("mrd:upload"), {"file": SimpleUploadedFile(name, content)})


def _through_preview_and_commit(client, content: bytes, name="batch.csv") -> list[str]:
    """Upload, preview and commit one file; the problems found."""
    problems = []
    results_before = table_counts()
    response = _send(client, content, name)
    if response.status_code >= 500:
        return [f"upload answers {response.status_code}"]
    html = response.content.decode(errors="replace")
    for markup in corpus.MARKUP:
        if markup in html:
            problems.append(f"upload page reflects {markup!r} unescaped")
    if response.status_code != 302:
        if changed := changed_tables(results_before):
            problems.append(f"refused upload wrote {changed}")
        return problems
    upload = MrdUpload.objects.order_by("-id").first()
    preview = client.get(response["Location"])
    if preview.status_code >= 500:
        return [*problems, f"preview answers {preview.status_code}"]
    page = preview.content.decode(errors="replace")
    for markup in corpus.MARKUP:
        if markup in page:
            problems.append(f"preview shows {markup!r} unescaped")
    valid = preview.context["preview"].valid
    before = table_counts()
    committed = client.post(reverse("mrd:upload_commit", args=[upload.pk]))
    if committed.status_code >= 500:
        return [*problems, f"commit answers {committed.status_code}"]
    changed = changed_tables(before)
    upload.refresh_from_db()
    if not valid and (changed or upload.status == MrdUpload.Status.COMMITTED):
        problems.append(f"a file with errors was committed: {changed}")
    return problems


@pytest.mark.django_db
def test_every_hostile_cell_is_an_error_of_the_preview_or_stored_exactly(lab, sample):
    problems = []
    for column, values in CELL_CORPUS.items():
        for raw in values:
            value = raw.replace("{accession}", sample.accession)
            row = {**_csv_row(sample.accession), column: value}
            if column == "not_evaluable_reason":
                row.update(result="not_evaluable", value="", sensitivity="", quantitative_range="")
            with rolled_back():
                found = _through_preview_and_commit(lab, mrd_csv([row]))
                stored = MrdResult.objects.filter(sample=sample).first()
                if stored is not None:
                    found += _stored_exactly(stored, column, value)
            problems += [f"{column}={corpus.short(value)}: {p}" for p in found]
    assert not problems, "\n".join(problems)


TEXT_COLUMNS = {"markers", "not_evaluable_reason", "comment"}
NUMBER_COLUMNS = {"value", "sensitivity", "quantitative_range"}


def _stored_exactly(stored: MrdResult, column: str, value: str) -> list[str]:
    from protocol.mrd import parse_mrd_value

    if column in TEXT_COLUMNS and getattr(stored, column) != value.strip():
        return [f"stored as {corpus.short(getattr(stored, column))}"]
    if column in NUMBER_COLUMNS and value.strip():
        number = getattr(stored, column)
        if number is None or not number.is_finite():
            return [f"stored as {number}"]
        if number != parse_mrd_value(value):
            return [f"stored as {number}, not {parse_mrd_value(value)}"]
    return []


HOSTILE_FILES = {
    "empty": b"",
    "header only": mrd_csv([]),
    "bom": b"\xef\xbb\xbf" + mrd_csv([_csv_row("{accession}")]),
    "latin-1": "accession,method,result,report_date,comment\n{accession},qpcr,negative,"
    "2026-05-20,Bl\xe4ttchen\n".encode("latin-1"),
    "utf-16": mrd_csv([_csv_row("{accession}")]).decode().encode("utf-16"),
    "binary renamed .csv": bytes(range(256)) * 40,
    "png renamed .csv": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    "nul in a cell": mrd_csv([_csv_row("{accession}", comment="a\x00b")]),
    "10,000 columns": (",".join(f"c{i}" for i in range(10_000)) + "\n").encode(),
    "10,000 extra cells": mrd_csv([_csv_row("{accession}")]).rstrip(b"\n")
    + b","
    + b"x," * 10_000
    + b"\n",
    "one huge cell": mrd_csv([_csv_row("{accession}", comment="z" * 1_000_000)]),
    "unknown accession": mrd_csv([_csv_row("1-99-W11")]),
    "unterminated quote": b'accession,method,result,report_date\n"{accession},qpcr,negative,x\n',
    "only newlines": b"\n\n\n\n",
    "formula cells": mrd_csv(
        [
            _csv_row(
                "{accession}",
                markers=corpus.FORMULA_HYPERLINK,
                comment=corpus.FORMULA_AT,
                reason_for_change=corpus.FORMULA_PLUS,
            )
        ]
    ),
    "markup header": f"{corpus.XSS_SCRIPT},method\nx,y\n".encode(),
    "duplicate header": b"accession,accession,method,result,report_date\n1,2,qpcr,pnq,2026-05-20\n",
    "six megabytes": b"accession\n" + b"x" * (6 * 1024 * 1024),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_a_hostile_file_is_refused_or_previewed_and_never_a_500(lab, sample, name):
    content = HOSTILE_FILES[name].replace(b"{accession}", sample.accession.encode())
    problems = _through_preview_and_commit(lab, content)
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_nul_bytes_and_wrong_encodings_are_form_errors(lab, sample):
    for content in (b"accession\n\x00\n", "accession\nBl\xe4ttchen\n".encode("latin-1")):
        response = _send(lab, content)
        assert response.status_code == 200
        assert response.context["form"].errors["file"]
    assert not MrdUpload.objects.exists()


@pytest.mark.django_db
def test_hostile_file_names_are_kept_short_and_shown_escaped(lab, sample):
    content = mrd_csv([_csv_row(sample.accession)])
    for name in (f"{corpus.XSS_IMG}.csv", "..\\..\\etc\\passwd.csv", "a\u202egpj.csv"):
        response = _send(lab, content, name=name)
        assert response.status_code == 302, name
        page = lab.get(reverse("mrd:upload")).content.decode()
        assert corpus.XSS_IMG not in page
    stored = set(MrdUpload.objects.values_list("filename", flat=True))
    assert all(len(n) <= 200 and "/" not in n for n in stored), stored


@pytest.mark.django_db
def test_a_file_whose_cells_look_like_formulas_commits_them_as_text(lab, sample):
    row = _csv_row(sample.accession, markers=corpus.FORMULA_HYPERLINK, comment="@SUM(1)")
    _send(lab, mrd_csv([row]))
    upload = MrdUpload.objects.get()
    lab.post(reverse("mrd:upload_commit", args=[upload.pk]))
    stored = MrdResult.objects.get(sample=sample)
    assert (stored.markers, stored.comment) == (corpus.FORMULA_HYPERLINK, "@SUM(1)")


@pytest.mark.django_db
def test_another_users_upload_cannot_be_previewed_or_committed(lab, sample):
    from django.test import Client

    from crf.models import Role
    from tests.factories import user_with_role

    client = Client()
    _send(lab, mrd_csv([_csv_row(sample.accession)]))
    upload = MrdUpload.objects.get()
    other = user_with_role(Role.CENTRAL_LAB, None, username="lab2")
    client.force_login(other)
    assert client.get(reverse("mrd:upload_preview", args=[upload.pk])).status_code == 404
    assert client.post(reverse("mrd:upload_commit", args=[upload.pk])).status_code == 404
    assert not MrdResult.objects.exists()
    assert re.fullmatch(r"[0-9a-f]{64}", upload.sha256)
