"""The ODM export's page counts its progress right (never more steps done than there are) and
lists what the XML holds: forms with their FormOIDs and records, not the CSV export's files."""

import re

import pytest
from django.urls import reverse

from crf.models import Role
from exports.models import StudyExport
from exports.tasks import run_export
from tests.factories import baseline_for, lab_panel_for, user_with_role

pytestmark = pytest.mark.verifies("UR-EXP-01")


@pytest.fixture(autouse=True)
def _export_root(settings, tmp_path):
    settings.EXPORT_ROOT = str(tmp_path / "exports")


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.mark.django_db
def test_odm_export_page_counts_its_parts_and_lists_forms(
    client, subject_a, investigator_a, django_capture_on_commit_callbacks
):
    baseline_for(subject_a, by=investigator_a)
    lab_panel_for(subject_a, by=investigator_a)
    manager = user_with_role(Role.DATA_MANAGER)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("exports:start"), {"format": "odm"})
    export = StudyExport.objects.get()
    queued = _text(client.get(response.url))
    planned = re.search(r"0 of (\d+) parts of one XML file", queued)
    assert planned, queued
    steps = int(planned.group(1))

    run_export(export.pk)
    export.refresh_from_db()
    assert export.status == StudyExport.Status.DONE
    # As many steps as the page said before the worker ran, every one of them done.
    assert (export.steps_done, export.steps_total) == (steps, steps)
    page = _text(client.get(response.url))
    assert f"100% ( {steps} of {steps} parts of one XML file" in page.replace("(", "( ")
    assert " files" not in page
    assert ".csv" not in page
    contents = page[page.index("Forms in the XML file") :]
    assert "Baselines F.BASELINE 1" in contents
    assert re.search(r"F\.LAB_VALUES 1\b", contents)


@pytest.mark.django_db
def test_csv_export_page_still_lists_its_files(
    client, subject_a, investigator_a, django_capture_on_commit_callbacks
):
    baseline_for(subject_a, by=investigator_a)
    manager = user_with_role(Role.DATA_MANAGER)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("exports:start"), {"format": "csv"})
    export = StudyExport.objects.get()
    run_export(export.pk)
    export.refresh_from_db()
    assert export.steps_done == export.steps_total
    page = _text(client.get(response.url))
    assert f"{export.steps_total} of {export.steps_total} files" in page
    assert "Files in the ZIP" in page and "baseline.csv 1" in page
