"""Table 2 with grade 5 (rules §8, Table 2) wherever it is shown: the AE summary page, the
report's section and its JSON, and the study_report command."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from crf.models import Role
from tests.exports.conftest import reports_computed  # noqa: F401 - the fixture
from tests.factories import day11_for, enrol, infusion_started_for, serious_ae_for, user_with_role

pytestmark = pytest.mark.verifies("UR-REP-01")

INFECTION = "Infection"


def _fatal(subject, by, term="Sepsis"):
    return serious_ae_for(subject, by=by, term=term, grade=5, outcome="fatal", criterion_death=True)


@pytest.fixture
def table2(site_a, investigator_a):
    """Three treated patients: the first with a grade 4 and a grade 5 sepsis, the second with a
    grade 3 lung infection and a grade 5 sepsis, the third with grade 5 sepsis only."""
    subjects = []
    for _ in range(3):
        subject = enrol(site_a, by=investigator_a)
        day11_for(subject, by=investigator_a)
        infusion_started_for(subject, by=investigator_a)
        subjects.append(subject)
    first, second, third = subjects
    serious_ae_for(first, by=investigator_a, term="Sepsis", grade=4)
    _fatal(first, investigator_a)
    serious_ae_for(second, by=investigator_a, term="Lung infection", grade=3)
    _fatal(second, investigator_a)
    _fatal(third, investigator_a)
    return subjects


# label -> (any grade, grade 3-4, grade 5)
EXPECTED = {INFECTION: (3, 2, 3), "Lung infection": (1, 1, 0), "Sepsis": (3, 1, 3)}


@pytest.mark.django_db
@pytest.mark.parametrize("period", ["infusion", "study"])
def test_ae_summary_page_has_the_grade_5_column(client, table2, period):
    client.force_login(user_with_role(Role.DATA_MANAGER, None))
    response = client.get(reverse("safety:ae_summary"), {"period": period})
    rows = {r.label: (r.any_grade, r.severe, r.fatal) for r in response.context["rows"]}
    assert rows == EXPECTED
    page = response.content.decode()
    assert "<th>Grade 5, N (%)</th>" in page
    # Sepsis: all 3 (100), grade 3-4: 1 (33), grade 5: 3 (100)
    assert "Sepsis</td><td>3 (100)</td><td>1 (33)</td><td>3 (100)</td>" in page
    assert "Lung infection</td><td>1 (33)</td><td>1 (33)</td><td>-</td>" in page


@pytest.mark.django_db
@pytest.mark.usefixtures("reports_computed")  # the pages read the stored report
def test_report_section_and_json_have_grade_5(client, table2):
    client.force_login(user_with_role(Role.DATA_MANAGER, None))
    section = client.get(
        reverse("exports:report_section", args=["adverse-events"]), {"period": "study"}
    ).content.decode()
    assert "<th>Grade 5, N (%)</th>" in section
    assert "Sepsis</td><td>3 (100)</td><td>1 (33)</td><td>3 (100)</td>" in section
    data = client.get(reverse("exports:report_json"), {"period": "study"}).json()
    rows = {r["label"]: r for r in data["adverse_events"]["rows"]}
    infection = rows[INFECTION]
    assert (infection["any_grade"], infection["grade_3_4"], infection["grade_5"]) == (3, 2, 3)
    assert (infection["grade_3_4_percent"], infection["grade_5_percent"]) == (67, 100)
    assert set(infection) == {
        "label", "category", "verbatim_term", "any_grade", "any_grade_percent", "grade_1_2",
        "grade_3_4", "grade_3_4_percent", "grade_5", "grade_5_percent",
        "in_publication_footnote_rows",
    }  # fmt: skip


@pytest.mark.django_db
def test_study_report_command_has_grade_5(table2, capsys):
    call_command("study_report", "--period", "study")
    out = capsys.readouterr().out
    assert "any grade / grade 3-4 / grade 5" in out
    assert "  Infection: 3 (100) / 2 (67) / 3 (100)" in out
    assert "    Lung infection: 1 (33) / 1 (33) / 0 (0)" in out
    call_command("study_report", "--json", "--period", "study")
    data = json.loads(capsys.readouterr().out)
    sepsis = [r for r in data["adverse_events"]["rows"] if r["label"] == "Sepsis"][0]
    assert (sepsis["grade_3_4"], sepsis["grade_5"]) == (1, 3)
