"""A report of a small group shows counts only: a median of one patient is that patient's age,
a month of enrolment is a date, a survival curve is a follow-up to the day."""

import pytest
from django.urls import reverse

from crf.models import Role
from tests.factories import baseline_for, enrol, user_with_role

# The pages read the stored report: each test has it computed first.
pytestmark = [pytest.mark.usefixtures("reports_computed"), pytest.mark.verifies("UR-REP-01")]


@pytest.fixture
def one_patient_site(site_a, site_b, investigator_a, investigator_b):
    baseline_for(enrol(site_a, by=investigator_a), by=investigator_a)  # site 1: one patient
    for _ in range(5):  # site 2: five patients, at the limit
        baseline_for(enrol(site_b, by=investigator_b), by=investigator_b)
    return site_a


@pytest.fixture
def sponsor_client(client, db):
    client.force_login(user_with_role(Role.SPONSOR, None, username="sponsor"))
    return client


@pytest.mark.django_db
def test_a_site_with_one_patient_shows_counts_only(sponsor_client, one_patient_site):
    page = sponsor_client.get(reverse("exports:report"), {"site": 1}).content.decode()
    assert 'id="counts-only"' in page and "Fewer than 5 patients" in page
    assert "41 (41–41)" not in page and "(41" not in page  # the one patient's age
    assert 'id="survival-withheld"' in page and 'id="plot-os"' not in page
    data = sponsor_client.get(reverse("exports:report_json"), {"site": 1}).json()
    assert data["counts_only"].startswith("Fewer than 5 patients")
    age = next(r for r in data["table_1"]["rows"] if r["label"] == "Age (years)")
    assert age["value"] == {"withheld": True}
    assert data["table_1"]["total_evaluable"] == 1  # counts stay
    assert data["enrolment"]["sites"][0]["first_month"] is None
    assert data["enrolment"]["months"] == []
    assert data["survival"] == {"withheld": True}
    for plot in ("os", "efs", "cir", "enrolment"):
        url = reverse("exports:report_plot", args=[plot, "svg"])
        assert sponsor_client.get(url, {"site": 1}).status_code == 404
    assert sponsor_client.get(reverse("exports:report_plot", args=["flow", "svg"]),
                              {"site": 1}).status_code == 200  # fmt: skip


@pytest.mark.django_db
def test_five_patients_show_everything(sponsor_client, one_patient_site, settings):
    data = sponsor_client.get(reverse("exports:report_json"), {"site": 2}).json()
    assert "counts_only" not in data
    age = next(r for r in data["table_1"]["rows"] if r["label"] == "Age (years)")
    assert age["value"]["median"] == 41
    settings.REPORT_SMALL_GROUP_PATIENTS = 10  # the installation's own limit
    data = sponsor_client.get(reverse("exports:report_json"), {"site": 2}).json()
    assert data["counts_only"].startswith("Fewer than 10 patients")
