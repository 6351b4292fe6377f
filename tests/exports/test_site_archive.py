"""A site's close-out archive: only its own subjects, a manifest that matches, downloadable by
the site's investigators only, written for every site by a command."""

import csv
import hashlib
import io
import zipfile

import pypdf
import pytest
from defusedxml import ElementTree
from django.core.management import call_command
from django.urls import reverse

from crf.models import Role
from exports.archive import MANIFEST, site_archive_write
from exports.models import StudyExport
from exports.odm import NS
from exports.services import archive_record, export_run
from tests.exports.test_casebook_pdf import closeout_subject
from tests.factories import baseline_for, enrol, user_with_role

pytestmark = pytest.mark.verifies("UR-ARC-02")

BASIS = "Live data as of 2026-11-30 18:02 CET"


@pytest.fixture
def two_sites(site_a, site_b, subject_a, subject_b, investigator_a, investigator_b):
    closeout_subject(subject_a, site_a, edits=1)
    second = enrol(site_a, by=investigator_a)
    baseline_for(second, by=investigator_a)
    closeout_subject(subject_b, site_b, edits=1)
    return {subject_a.study_id, second.study_id}, {subject_b.study_id}


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.mark.django_db
def test_a_sites_archive_holds_its_own_subjects_only(tmp_path, two_sites, site_a):
    own, others = two_sites
    path = tmp_path / "archive.zip"
    written = site_archive_write(site_a, path, basis_label=BASIS)
    files = members(path.read_bytes())
    casebooks = {n for n in files if n.startswith("casebooks/")}
    assert casebooks == {f"casebooks/{study_id}.pdf" for study_id in own}
    for name in casebooks:
        text = pdf_text(files[name])
        assert f"Subject {name.removeprefix('casebooks/').removesuffix('.pdf')}" in text
        assert not any(other in text for other in others)
    with zipfile.ZipFile(io.BytesIO(files["data/site-1-csv.zip"])) as export:
        subjects = list(csv.DictReader(io.StringIO(export.read("subjects.csv").decode())))
        assert {row["study_id"] for row in subjects} == own
        for name in export.namelist():
            for row in csv.DictReader(io.StringIO(export.read(name).decode())):
                assert row.get("subject") in (None, "", *own), (name, row)
    root = ElementTree.fromstring(files["data/site-1-odm.xml"])
    keys = {e.get("SubjectKey") for e in root.iter(f"{{{NS}}}SubjectData")}
    assert keys == own
    assert written.counts["data/site-1-csv.zip"] > 0


@pytest.mark.django_db
def test_the_manifest_lists_every_file_with_its_sha256(tmp_path, two_sites, site_a):
    path = tmp_path / "archive.zip"
    written = site_archive_write(site_a, path, basis_label=BASIS)
    files = members(path.read_bytes())
    manifest = files.pop(MANIFEST)
    assert hashlib.sha256(manifest).hexdigest() == written.manifest_sha256
    listed = {}
    for line in manifest.decode().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert listed.keys() == files.keys()
    for name, data in files.items():
        assert hashlib.sha256(data).hexdigest() == listed[name], name


@pytest.mark.django_db
def test_only_the_sites_investigators_may_ask_for_or_download_its_archive(
    client, settings, tmp_path, two_sites, site_a, investigator_a, investigator_b
):
    settings.EXPORT_ROOT = str(tmp_path)
    manager = user_with_role(Role.DATA_MANAGER)
    for outsider in (investigator_b, manager):
        client.force_login(outsider)
        assert client.post(reverse("exports:archive_start"), {"site": 1}).status_code == 403
    assert not StudyExport.objects.exists()
    export = export_run(archive_record(site_a, user=investigator_a))
    assert export.status == "done" and export.manifest_sha256
    for outsider in (investigator_b, manager):
        client.force_login(outsider)
        assert client.get(reverse("exports:detail", args=[export.pk])).status_code == 404
        assert client.get(reverse("exports:download", args=[export.pk])).status_code == 404
        assert (
            f'href="/exports/{export.pk}/"'
            not in client.get(reverse("exports:list")).content.decode()
        )
    client.force_login(investigator_a)
    page = client.get(reverse("exports:detail", args=[export.pk])).content.decode()
    assert export.manifest_sha256 in page and export.sha256 in page
    download = client.get(reverse("exports:download", args=[export.pk]))
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == export.sha256
    assert hashlib.sha256(members(data)[MANIFEST]).hexdigest() == export.manifest_sha256


@pytest.mark.django_db
@pytest.mark.verifies("UR-ARC-01")
def test_a_casebook_is_for_those_who_may_see_its_subject(client, site_a, subject_a, investigator_b):
    client.force_login(investigator_b)
    response = client.post(reverse("exports:casebook_start", args=[subject_a.study_id]))
    assert response.status_code == 404
    client.force_login(user_with_role(Role.SPONSOR))
    response = client.post(reverse("exports:casebook_start", args=[subject_a.study_id]))
    assert response.status_code == 404
    assert not StudyExport.objects.exists()
    client.force_login(user_with_role(Role.MONITOR, site_a))
    response = client.post(reverse("exports:casebook_start", args=[subject_a.study_id]))
    export = StudyExport.objects.get()
    assert response.url == reverse("exports:detail", args=[export.pk])
    assert (export.format, export.subject, export.site) == ("casebook", subject_a, site_a)


@pytest.mark.django_db
def test_the_command_writes_every_sites_archive(tmp_path, settings, two_sites):
    settings.EXPORT_ROOT = str(tmp_path / "root")
    out = io.StringIO()
    call_command("write_site_archives", out=str(tmp_path / "out"), stdout=out)
    archives = sorted((tmp_path / "out").glob("*.zip"))
    assert [a.name.split("-archive-")[0] for a in archives] == [
        "blinacell-site-1",
        "blinacell-site-2",
    ]
    for archive, export in zip(archives, StudyExport.objects.order_by("site__number"), strict=True):
        assert export.requested_by is None and export.status == "done"
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == export.sha256
        manifest = members(archive.read_bytes())[MANIFEST]
        assert hashlib.sha256(manifest).hexdigest() == export.manifest_sha256
        assert export.manifest_sha256 in out.getvalue()


@pytest.mark.django_db
@pytest.mark.verifies("UR-ARC-01")
def test_the_subject_page_leads_to_the_casebook_request(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    url = reverse("exports:casebook_start", args=[subject_a.study_id])
    assert (
        url in client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    )
    page = client.get(url).content.decode()
    assert "Write the PDF casebook" in page and not StudyExport.objects.exists()
