"""Treatment courses: protocol drugs pre-filled with doses from the current BSA; dose checks."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from crf.models import DrugAdministration, IntrathecalAdministration, Visit
from crf.services.treatment import intrathecal_count
from tests.factories import baseline_for, course_for

pytestmark = pytest.mark.verifies("UR-DOS-01")


def _rows(course):
    return {(a.drug, a.protocol_day): a for a in course.administrations.all()}


@pytest.mark.django_db
def test_pre_induction_is_prefilled_with_doses_from_the_bsa(subject_a, investigator_a):
    course = course_for(subject_a, by=investigator_a)  # 170 cm, 75 kg -> 1.88 m2
    rows = _rows(course)
    assert course.bsa_m2 == Decimal("1.88")
    assert len(rows) == 7 + 3 + 1 + 2  # DEX d1-7, CY d3-5, VCR d6, DAU d6-7
    assert rows[("DEX", 1)].calculated_dose == Decimal("18.80")  # 10 mg/m2
    assert rows[("CY", 3)].calculated_dose == Decimal("376.00")  # 200 mg/m2
    assert rows[("VCR", 6)].calculated_dose == Decimal("2.00")  # flat 2 mg, not scaled
    assert rows[("DAU", 7)].calculated_dose == Decimal("84.60")  # 45 mg/m2
    assert all(a.administered_dose is None for a in rows.values())


@pytest.mark.django_db
def test_course_page_lists_the_protocol_drugs(client, subject_a, investigator_a):
    course = course_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    page = client.get(reverse("crf:course", args=[subject_a.study_id, course.pk])).content
    page = page.decode()
    assert "BSA <strong>1.88 m²</strong>" in page
    assert "84.60 mg" in page and "not entered" in page


def _administer(client, subject, row, dose, **extra):
    data = {"administered_dose": dose, "administered_on": "2026-03-07", "version": row.version}
    data.update(extra)
    return client.post(reverse("crf:administration", args=[subject.study_id, row.pk]), data)


@pytest.mark.django_db
def test_vincristine_above_2_mg_is_refused(client, subject_a, investigator_a):
    course = course_for(subject_a, by=investigator_a)
    row = _rows(course)[("VCR", 6)]
    client.force_login(investigator_a)
    response = _administer(client, subject_a, row, "2.5", deviation_reason="ordered")
    assert "2 mg" in " ".join(response.context["form"].errors["administered_dose"])
    row.refresh_from_db()
    assert row.administered_dose is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("dose", "needs_reason"),
    [("84.60", False), ("93.06", False), ("93.07", True), ("76.00", True)],
)
def test_dose_deviation_over_10_percent_needs_a_reason(
    client, subject_a, investigator_a, dose, needs_reason
):
    course = course_for(subject_a, by=investigator_a)
    row = _rows(course)[("DAU", 6)]  # calculated 84.60 mg
    client.force_login(investigator_a)
    response = _administer(client, subject_a, row, dose)
    row.refresh_from_db()
    if needs_reason:
        assert "give the reason for the deviation" in " ".join(
            response.context["form"].errors["deviation_reason"]
        )
        assert row.administered_dose is None
        _administer(client, subject_a, row, dose, deviation_reason="cardiac function")
        row.refresh_from_db()
    assert row.administered_dose == Decimal(dose)
    assert row.history.first().history_user == investigator_a


@pytest.mark.verifies("UR-REC-03")
@pytest.mark.django_db
def test_weight_change_over_10_percent_since_baseline_needs_confirmation(
    client, subject_a, investigator_a
):
    baseline_for(subject_a, by=investigator_a)  # 75 kg
    client.force_login(investigator_a)
    data = {
        "phase": "induction_2",
        "start_date": "2026-04-20",
        "height_cm": "170",
        "weight_kg": "66",
    }
    url = reverse("crf:record_new", args=[subject_a.study_id, "course"])
    warned = client.post(url, data)
    assert "weight" in warned.content.decode().lower()
    assert not subject_a.courses.exists()
    client.post(url, {**data, "confirm_warnings": "on", "warning_codes": "weight_change"})
    course = subject_a.courses.get()
    assert course.bsa_m2 == Decimal("1.77")


@pytest.mark.verifies("UR-REC-05")
@pytest.mark.django_db
def test_consolidation_cycles_are_planned_as_the_previous_is_entered(subject_a, investigator_a):
    baseline_for(subject_a, by=investigator_a, cd20_positive="yes")
    course_for(
        subject_a, by=investigator_a, phase="induction_2", start_date=datetime.date(2026, 4, 20)
    )
    c1 = Visit.objects.get(subject=subject_a, code="C1")
    assert c1.planned_date == datetime.date(2026, 5, 18)  # + 28 days (protocol setting)
    course = course_for(
        subject_a, by=investigator_a, phase="consolidation_1", start_date=datetime.date(2026, 5, 20)
    )
    c1.refresh_from_db()
    assert c1.actual_date == datetime.date(2026, 5, 20)
    assert Visit.objects.get(subject=subject_a, code="C2").planned_date == datetime.date(
        2026, 6, 17
    )
    drugs = {a.drug for a in course.administrations.all()}
    assert "RIT" in drugs  # CD20-positive: rituximab on day 0 of every cycle
    rit = course.administrations.get(drug="RIT")
    assert (rit.protocol_day, rit.calculated_dose) == (0, Decimal("705.00"))  # 375 x 1.88


@pytest.mark.django_db
def test_intrathecal_administrations_count_against_nine(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    url = reverse("crf:record_new", args=[subject_a.study_id, "intrathecal"])
    client.post(
        url,
        {"administered_on": "2026-03-03", "phase": "pre_induction", "cytarabine_mg": "40",
         "dexamethasone_mg": "4", "methotrexate_mg": "15"},
    )  # fmt: skip
    assert IntrathecalAdministration.objects.count() == 1
    assert intrathecal_count(subject_a) == (1, 9)
    page = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    assert "Intrathecal administrations: 1 of 9 planned." in page


@pytest.mark.django_db
def test_no_administration_saved_when_the_course_is_refused(subject_a, investigator_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        course_for(subject_a, by=investigator_a, start_date=datetime.date(2026, 2, 1))
    assert DrugAdministration.objects.count() == 0
