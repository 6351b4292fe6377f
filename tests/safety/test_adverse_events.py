"""Adverse events: CTCAE terms and grades, seriousness, CRS by ASTCT, SAE clocks, Table 2."""

import datetime
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from crf.models import Role
from safety.models import AdverseEvent, AdverseEventLabLink, CtcaeTerm
from tests.factories import (
    day11_for,
    enrol,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-SAF-01")

BASE = {
    "term": "Alanine aminotransferase increased (10001551)",
    "verbatim": "ALT up",
    "onset_date": "2026-03-15",
    "end_date": "",
    "grade": "3",
    "relationship_blinatumomab": "probable",
    "relationship_chemotherapy": "unlikely",
    "action_blinatumomab": "interrupted",
    "outcome": "recovered",
}


def _post(client, subject, data, pk=None):
    if pk:
        url = reverse("safety:adverse_event", args=[subject.study_id, pk])
    else:
        url = reverse("safety:adverse_event_new", args=[subject.study_id])
    return client.post(url, data)


@pytest.mark.django_db
def test_adverse_event_is_recorded_with_its_grading_system(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    code = CtcaeTerm.objects.get(term="Alanine aminotransferase increased").meddra_code
    response = _post(
        client, subject_a, {**BASE, "term": f"Alanine aminotransferase increased ({code})"}
    )
    assert response.status_code == 302
    event = AdverseEvent.objects.get()
    assert (event.term.meddra_code, event.grade, event.grading_system) == (code, 3, "CTCAE 5.0")
    assert event.history.get().history_user == investigator_a


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"term": "Febrile neutropenia", "grade": "2"}, "grade", "has no grade 2"),
        ({"grade": "5"}, "grade", "has no grade 5"),
        ({"serious": "on"}, "serious", "at least one seriousness criterion"),
        ({"end_date": "2026-03-10"}, "end_date", "on or after"),
        ({"term": "Sepsis", "grade": "5", "outcome": "recovered"}, "outcome", "fatal"),
        ({"term": "no such term"}, "term", "not a CTCAE v5.0 term"),
        ({"onset_date": "2026-02-01"}, "onset_date", "before"),
        ({"serious": "on", "criterion_hospitalisation": "on"}, "awareness_at", "aware"),
    ],
)
def test_adverse_event_refusals(client, subject_a, investigator_a, change, field, message):
    client.force_login(investigator_a)
    response = _post(client, subject_a, {**BASE, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert not AdverseEvent.objects.exists()


@pytest.mark.django_db
def test_crs_grade_is_derived_and_a_different_grade_needs_a_reason(
    client, subject_a, investigator_a
):
    client.force_login(investigator_a)
    crs = {
        **BASE,
        "term": "Cytokine release syndrome",
        "crs_fever": "true",
        "crs_hypotension": "one_vasopressor",
        "crs_oxygen": "low_flow",
        "grade": "2",
    }
    refused = _post(client, subject_a, crs)
    assert "ASTCT 2019 grade 3" in " ".join(refused.context["form"].errors["grade_justification"])
    _post(client, subject_a, {**crs, "grade": "3"})
    event = AdverseEvent.objects.get()
    assert (event.grade, event.grading_system) == (3, "ASTCT 2019")


@pytest.mark.django_db
def test_icans_grade_is_derived_from_the_ice_score(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    neuro = {
        **BASE,
        "term": "Encephalopathy",
        "grade": "2",
        "ice_orientation": "2",
        "ice_naming": "2",
        "ice_commands": "1",
        "ice_writing": "0",
        "ice_attention": "0",
    }  # ICE 5 -> ICANS grade 2
    assert _post(client, subject_a, neuro).status_code == 302
    assert AdverseEvent.objects.get().grading_system == "ASTCT 2019"


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_links_to_lab_values_are_audited(client, subject_a, investigator_a):
    value = lab_panel_for(subject_a, by=investigator_a).values.get()
    client.force_login(investigator_a)
    _post(client, subject_a, {**BASE, "lab_values": [value.pk]})
    link = AdverseEventLabLink.objects.get()
    assert link.lab_value == value
    assert link.history.get().history_user == investigator_a


@pytest.mark.verifies("SA-1")
@pytest.mark.django_db
def test_sae_clock_on_the_dashboard(client, subject_a, investigator_a):
    aware = timezone.now() - datetime.timedelta(hours=25)
    serious_ae_for(
        subject_a, by=investigator_a, awareness_at=aware, onset_date=datetime.date(2026, 3, 15)
    )
    client.force_login(investigator_a)
    page = client.get(reverse("home")).content.decode()
    assert "reports due within 24 hours" in page and "overdue" in page


@pytest.mark.verifies("SA-2")
@pytest.mark.django_db
def test_susar_due_dates_for_the_sponsor(client, subject_a, investigator_a):
    serious_ae_for(
        subject_a, by=investigator_a, susar=True, criterion_death=False,
        sponsor_awareness_date=datetime.date(2026, 3, 16),
    )  # fmt: skip
    client.force_login(user_with_role(Role.SPONSOR, None))
    page = client.get(reverse("safety:sae")).content.decode()
    assert "2026-03-31" in page  # 15 days: not fatal or life-threatening


@pytest.mark.verifies("UR-REP-01")
@pytest.mark.django_db
def test_ae_summary_counts_a_subject_once_per_term_at_the_worst_grade(
    client, site_a, investigator_a
):
    subjects = []
    for _ in range(3):
        subject = enrol(site_a, by=investigator_a)
        day11_for(subject, by=investigator_a)
        infusion_started_for(subject, by=investigator_a)
        subjects.append(subject)
    first, second, _third = subjects
    serious_ae_for(
        first, by=investigator_a, grade=2, serious=False, criterion_hospitalisation=False
    )
    serious_ae_for(first, by=investigator_a, grade=3)
    serious_ae_for(
        second, by=investigator_a, grade=1, serious=False, criterion_hospitalisation=False
    )
    client.force_login(user_with_role(Role.DATA_MANAGER, None))
    response = client.get(reverse("safety:ae_summary"))
    rows = {r.label: r for r in response.context["rows"]}
    alt = rows["ALT increased"]  # the publication's label of Alanine aminotransferase increased
    assert (alt.any_grade, alt.severe, response.context["treated"]) == (2, 1, 3)
    assert "2 (67)" in response.content.decode()


@pytest.mark.django_db
def test_import_ctcae_loads_the_full_nci_list(tmp_path):
    reference = (
        Path(__file__).resolve().parents[3] / "shared" / "reference" / "ctcae-v5.0-terms.json"
    )
    if not reference.exists():
        pytest.skip(f"the NCI reference list is not at {reference}")
    call_command("import_ctcae", str(reference))
    assert CtcaeTerm.objects.count() == len(json.loads(reference.read_text())["terms"])
    neutropenia = CtcaeTerm.objects.get(term="Febrile neutropenia")
    assert neutropenia.grade_set == {3, 4, 5}


@pytest.mark.django_db
def test_import_ctcae_with_a_bad_row_saves_nothing(tmp_path):
    before = CtcaeTerm.objects.count()
    bad = tmp_path / "terms.csv"
    bad.write_text(
        "id,MedDRA SOC,CTCAE Term,Grade 1,Grade 2,Grade 3,Grade 4,Grade 5\n"
        "99999901,Investigations,New term,a,b,c,-,-\n"
        "not-a-code,Investigations,Broken,a,-,-,-,-\n"
    )
    with pytest.raises(CommandError) as refusal:
        call_command("import_ctcae", str(bad))
    assert "row 2" in str(refusal.value)
    assert CtcaeTerm.objects.count() == before
