"""The export through the real path: a browser request, Redis, a Celery worker process."""

import io
import zipfile

import pytest
from django.urls import reverse

from crf.models import Role
from exports.models import StudyExport
from tests.alerts.worker import Worker, wait_for
from tests.factories import baseline_for, user_with_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.verifies("UR-EXP-01")]


def test_an_export_requested_in_the_browser_is_written_by_the_worker(
    client, settings, tmp_path, subject_a, investigator_a
):
    settings.EXPORT_ROOT = str(tmp_path)
    baseline_for(subject_a, by=investigator_a)
    worker = Worker(EXPORT_ROOT=str(tmp_path)).start()
    try:
        client.force_login(user_with_role(Role.DATA_MANAGER))
        response = client.post(reverse("exports:start"), {"format": "csv"})
        export = StudyExport.objects.get()
        assert response.url == reverse("exports:detail", args=[export.pk])
        done = wait_for(
            lambda: StudyExport.objects.filter(pk=export.pk, status="done").first(), timeout=60
        )
    finally:
        worker.stop()
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert done.sha256 in page and "Complete" in page
    download = client.get(reverse("exports:download", args=[export.pk]))
    data = b"".join(download.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert subject_a.study_id in archive.read("subjects.csv").decode()


@pytest.mark.verifies("UR-ARC-01", "UR-ARC-02")
def test_a_site_archive_asked_for_by_its_investigator_is_written_by_the_worker(
    client, settings, tmp_path, site_a, subject_a, subject_b, investigator_a
):
    import hashlib

    import pypdf

    settings.EXPORT_ROOT = str(tmp_path)
    baseline_for(subject_a, by=investigator_a)
    worker = Worker(EXPORT_ROOT=str(tmp_path)).start()
    try:
        client.force_login(investigator_a)
        response = client.post(reverse("exports:archive_start"), {"site": site_a.number})
        export = StudyExport.objects.get()
        assert response.url == reverse("exports:detail", args=[export.pk])
        done = wait_for(
            lambda: StudyExport.objects.filter(pk=export.pk, status="done").first(), timeout=120
        )
    finally:
        worker.stop()
    assert done.steps_done == done.steps_total > 3
    assert done.basis_label.startswith("Live data as of ")
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert done.manifest_sha256 in page and done.basis_label in page
    download = client.get(reverse("exports:download", args=[export.pk]))
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == done.sha256
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert hashlib.sha256(archive.read("MANIFEST.sha256")).hexdigest() == done.manifest_sha256
        pdf = pypdf.PdfReader(io.BytesIO(archive.read(f"casebooks/{subject_a.study_id}.pdf")))
        assert done.basis_label in pdf.pages[0].extract_text()
        assert [n for n in archive.namelist() if n.startswith("casebooks/")] == [
            f"casebooks/{subject_a.study_id}.pdf"
        ]
