"""CSV upload: rows checked first; all or nothing; re-upload harmless; corrections need a reason."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mrd.models import MrdResult, MrdUpload
from mrd.services import sample_record
from mrd.upload import COLUMNS
from tests.factories import enrol

pytestmark = pytest.mark.verifies("UR-MRD-02")


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return out.getvalue().encode()


def _row(accession, **values):
    row = {
        "accession": accession,
        "method": "qpcr",
        "result": "quantifiable",
        "value": "1.2E-4",
        "sensitivity": "1E-5",
        "quantitative_range": "1E-4",
        "report_date": "2026-05-20",
    }
    row.update(values)
    return row


@pytest.fixture
def samples(site_a, investigator_a):
    made = []
    for _ in range(3):
        subject = enrol(site_a, by=investigator_a)
        made.append(
            sample_record(
                subject=subject,
                timepoint="W11",
                material="bone_marrow",
                sampled_on=datetime.date(2026, 5, 12),
                user=investigator_a,
            )  # fmt: skip
        )
    return made


def _upload(client, content: bytes, name="batch.csv"):
    response = client.post(reverse("mrd:upload"), {"file": SimpleUploadedFile(name, content)})
    return MrdUpload.objects.order_by("-id").first(), response


@pytest.mark.django_db
def test_template_has_every_column(client, central_lab):
    client.force_login(central_lab)
    response = client.get(reverse("mrd:upload_template"))
    header = response.content.decode().splitlines()[0]
    assert header.split(",") == COLUMNS
    assert response["Content-Disposition"].startswith("attachment")


@pytest.mark.django_db
def test_a_bad_row_in_the_middle_saves_nothing(client, samples, central_lab):
    client.force_login(central_lab)
    content = _csv(
        [
            _row(samples[0].accession),
            _row(samples[1].accession, value="-3E-4"),
            _row(samples[2].accession, result="maybe"),
        ]
    )
    upload, response = _upload(client, content)
    preview = client.get(reverse("mrd:upload_preview", args=[upload.pk]))
    page = preview.content.decode()
    rows = preview.context["preview"].rows
    assert [r.number for r in rows if r.errors] == [3, 4]
    assert rows[1].errors[0][0] == "value" and rows[2].errors[0][0] == "result"
    assert "nothing will be saved" in page
    client.post(reverse("mrd:upload_commit", args=[upload.pk]))
    assert not MrdResult.objects.exists()


@pytest.mark.django_db
def test_good_file_commits_and_the_same_file_again_changes_nothing(client, samples, central_lab):
    client.force_login(central_lab)
    content = _csv(
        [
            _row(samples[0].accession, value="1,2E-4"),
            _row(samples[1].accession, result="negative", value="", sensitivity="1E-4"),
            _row(samples[2].accession, result="pnq", value=""),
        ]
    )
    upload, _ = _upload(client, content)
    client.post(reverse("mrd:upload_commit", args=[upload.pk]))
    assert MrdResult.objects.count() == 3
    assert MrdResult.objects.get(sample=samples[0]).value == Decimal("0.00012")
    history_rows = sum(r.history.count() for r in MrdResult.objects.all())
    again, _ = _upload(client, content)
    response = client.post(reverse("mrd:upload_commit", args=[again.pk]), follow=True)
    assert "0 new, 0 corrected, 3 unchanged" in response.content.decode()
    assert MrdResult.objects.count() == 3
    assert sum(r.history.count() for r in MrdResult.objects.all()) == history_rows


@pytest.mark.verifies("UR-MRD-01")
@pytest.mark.django_db
def test_a_changed_row_is_a_correction_that_needs_a_reason(client, samples, central_lab):
    client.force_login(central_lab)
    first, _ = _upload(client, _csv([_row(samples[0].accession)]))
    client.post(reverse("mrd:upload_commit", args=[first.pk]))
    second, _ = _upload(client, _csv([_row(samples[0].accession, value="2.3E-4")]))
    preview = client.get(reverse("mrd:upload_preview", args=[second.pk])).context["preview"]
    assert preview.rows[0].action == "correction"
    assert preview.rows[0].errors[0][0] == "reason_for_change"
    third, _ = _upload(
        client,
        _csv([_row(samples[0].accession, value="2.3E-4", reason_for_change="re-quantified")]),
    )
    client.post(reverse("mrd:upload_commit", args=[third.pk]))
    result = MrdResult.objects.get()
    assert (result.value, result.version) == (Decimal("0.00023"), 2)
    assert result.history.first().history_change_reason.startswith("re-quantified")


@pytest.mark.django_db
def test_unknown_sample_and_missing_columns_are_named(client, samples, central_lab):
    client.force_login(central_lab)
    upload, _ = _upload(client, _csv([_row("9-99-W11")]))
    preview = client.get(reverse("mrd:upload_preview", args=[upload.pk])).context["preview"]
    assert preview.rows[0].errors == [("accession", "No sample '9-99-W11' awaits results here.")]
    broken, _ = _upload(client, b"accession;method\n1-01-W11;qpcr\n")
    preview = client.get(reverse("mrd:upload_preview", args=[broken.pk])).context["preview"]
    assert "Missing columns" in preview.errors[0]


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_only_the_central_lab_uploads(client, samples, investigator_a):
    client.force_login(investigator_a)
    response = client.post(
        reverse("mrd:upload"), {"file": SimpleUploadedFile("x.csv", _csv([_row("1-01-W11")]))}
    )
    assert response.status_code == 403
    assert not MrdUpload.objects.exists()
