"""The upload's preview: checked once when the file arrives and kept, shown a page of rows at a
time with the rows in error first, and a stated row limit per file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mrd.models import MrdUpload
from mrd.upload import COLUMNS, MAX_ROWS

from .test_upload import _csv, _row

pytestmark = pytest.mark.verifies("UR-MRD-02")


def _upload(client, content: bytes):
    file = SimpleUploadedFile("batch.csv", content, content_type="text/csv")
    return client.post(reverse("mrd:upload"), {"file": file})


@pytest.mark.verifies("UR-OPS-03")
@pytest.mark.django_db
def test_a_long_file_is_shown_a_page_at_a_time_with_its_errors_first(
    client, central_lab, w11_sample, django_assert_max_num_queries
):
    client.force_login(central_lab)
    rows = [_row("NO-SUCH-SAMPLE", method="qpcr") for _ in range(149)]
    rows.insert(120, _row(w11_sample.accession, result="negative"))  # its value is an error too
    received = _upload(client, _csv(rows))
    upload = MrdUpload.objects.get()
    assert received["Location"] == reverse("mrd:upload_preview", args=[upload.pk])
    assert len(upload.preview["rows"]) == 150  # checked once, when the file arrived
    with django_assert_max_num_queries(12):  # read back, not checked again per request
        first = client.get(received["Location"]).content.decode()
    assert "150 rows" in first and "Page 1 of 2" in first
    assert "At most 10000 rows per file" in first
    assert first.count('<tr class="table-danger">') == 100
    assert "Checked — errors, nothing saved" in client.get(reverse("mrd:upload")).content.decode()


@pytest.mark.django_db
def test_a_file_above_the_row_limit_is_refused_whole(client, central_lab, w11_sample):
    client.force_login(central_lab)
    line = ",".join(_row(w11_sample.accession).get(c, "") for c in COLUMNS)
    content = (",".join(COLUMNS) + "\n" + (line + "\n") * (MAX_ROWS + 1)).encode()
    page = client.get(_upload(client, content)["Location"]).content.decode()
    assert f"more than {MAX_ROWS:,} rows" in page
    assert "Save all rows" not in page
