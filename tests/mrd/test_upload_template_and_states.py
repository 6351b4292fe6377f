"""The upload template's example row cannot be a real sample and is refused if left in; a file
with errors leads back to the upload; each file's state says what happened to it."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mrd.models import MrdResult, MrdSample, MrdUpload

from .test_upload import _csv, _row

pytestmark = pytest.mark.verifies("UR-MRD-02")


def _upload(client, content: bytes, name="batch.csv"):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    response = client.post(reverse("mrd:upload"), {"file": file})
    return MrdUpload.objects.order_by("-id").first(), response


def _template(client) -> list[dict]:
    content = client.get(reverse("mrd:upload_template")).content.decode()
    return list(csv.DictReader(io.StringIO(content)))


@pytest.mark.django_db
def test_the_template_example_row_is_no_real_sample_and_is_refused_if_left_in(
    client, central_lab, w11_sample
):
    client.force_login(central_lab)
    (example,) = _template(client)
    assert example["accession"] == "EXAMPLE-DELETE-ME"
    assert not MrdSample.objects.filter(accession=example["accession"]).exists()
    assert example["accession"] != w11_sample.accession

    # The template as downloaded, with a real row added under the example.
    content = (
        client.get(reverse("mrd:upload_template")).content
        + _csv([_row(w11_sample.accession, result="negative", value="")]).split(b"\n", 1)[1]
    )
    received, _ = _upload(client, content)
    page = client.get(reverse("mrd:upload_preview", args=[received.pk])).content.decode()
    assert (
        "This is the template's example row (EXAMPLE-DELETE-ME): delete it and upload the file "
        "again." in page.replace("&#x27;", "'")
    )
    assert received.status == MrdUpload.Status.ERRORS
    assert "Save all rows" not in page
    assert not MrdResult.objects.exists()


@pytest.mark.django_db
def test_a_file_with_errors_is_named_so_and_leads_back_to_the_upload(
    client, central_lab, w11_sample
):
    client.force_login(central_lab)
    received, response = _upload(client, _csv([_row("NO-SUCH-SAMPLE")]), name="bad.csv")
    assert received.status == MrdUpload.Status.ERRORS
    page = client.get(response["Location"]).content.decode()
    assert "Checked — errors, nothing saved" in page
    assert f'id="back-to-upload" href="{reverse("mrd:upload")}">Back to the upload</a>' in page
    listing = client.get(reverse("mrd:upload")).content.decode()
    assert "bad.csv" in listing and "Checked — errors, nothing saved" in listing
    assert "Previewed" not in listing
    assert not MrdResult.objects.exists()


@pytest.mark.django_db
def test_a_good_file_is_ready_then_committed_or_cancelled(client, central_lab, w11_sample):
    client.force_login(central_lab)
    good = _csv([_row(w11_sample.accession, result="negative", value="")])
    first, _ = _upload(client, good, name="first.csv")
    assert first.status == MrdUpload.Status.READY
    page = client.get(reverse("mrd:upload_preview", args=[first.pk])).content.decode()
    assert "Checked — ready to commit" in page and "Cancel, save nothing" in page

    cancelled = client.post(reverse("mrd:upload_cancel", args=[first.pk]))
    assert cancelled["Location"] == reverse("mrd:upload")
    first.refresh_from_db()
    assert first.status == MrdUpload.Status.CANCELLED
    assert not MrdResult.objects.exists()
    refused = client.post(reverse("mrd:upload_commit", args=[first.pk]), follow=True)
    assert "This file was cancelled" in refused.content.decode()
    assert not MrdResult.objects.exists()

    second, _ = _upload(client, good, name="second.csv")
    client.post(reverse("mrd:upload_commit", args=[second.pk]))
    second.refresh_from_db()
    assert second.status == MrdUpload.Status.COMMITTED
    assert MrdResult.objects.count() == 1
    listing = client.get(reverse("mrd:upload")).content.decode()
    assert "Cancelled — nothing saved" in listing and "Committed" in listing
