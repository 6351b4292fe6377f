"""Lab panels: values converted to one unit, graded by CTCAE v5.0, offered as AEs when abnormal."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from safety.models import LabValue, SiteLabRange
from safety.services import LabEntry, lab_panel_record, unreported_lab_abnormalities
from tests.factories import lab_panel_for, serious_ae_for

pytestmark = pytest.mark.verifies("UR-LAB-01")


def _panel_post(client, subject, **values):
    data = {"sampled_at": "2026-03-14T08:00", "local_lab": "IHBT"}
    data.update(values)
    return client.post(reverse("safety:labs", args=[subject.study_id]), data)


@pytest.mark.django_db
def test_alt_six_times_uln_is_grade_3(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    _panel_post(client, subject_a, alt_value="240", alt_unit="U/L", alt_uln="40")
    value = LabValue.objects.get()
    assert (value.grade, value.grading_system) == (3, "CTCAE 5.0")
    page = client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    assert "grade 3" in page and "Not yet reported as AE" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("entry", "standard", "grade"),
    [
        (LabEntry("alt", Decimal(2), "µkat/L", uln=Decimal("0.5")), Decimal(120), 2),  # 4 x ULN
        (LabEntry("bilirubin", Decimal(1), "mg/dL", uln=Decimal("1.2")), Decimal("17.104"), 0),
        (LabEntry("platelets", Decimal(75000), "/mm3", lln=Decimal(150000)), Decimal(75), 1),
        (LabEntry("haemoglobin", Decimal("7.5"), "g/dL", lln=Decimal(12)), Decimal(75), 3),
    ],
)
def test_units_are_converted_before_grading(subject_a, investigator_a, entry, standard, grade):
    panel = lab_panel_record(
        subject=subject_a,
        sampled_at=datetime.datetime(2026, 3, 14, 8, tzinfo=datetime.UTC),
        local_lab="IHBT",
        entries=[entry],
        user=investigator_a,
    )
    value = panel.values.get()
    assert (value.standard_value, value.grade) == (standard, grade)


@pytest.mark.django_db
def test_phosphate_is_not_graded_from_a_number(subject_a, investigator_a):
    panel = lab_panel_record(
        subject=subject_a,
        sampled_at=datetime.datetime(2026, 3, 14, 8, tzinfo=datetime.UTC),
        local_lab="IHBT",
        entries=[LabEntry("phosphate", Decimal("0.5"), "mmol/L", lln=Decimal("0.8"))],
        user=investigator_a,
    )
    value = panel.values.get()
    assert value.grade is None and "investigator" in value.grade_note


@pytest.mark.django_db
def test_baseline_abnormal_grades_against_the_baseline(subject_a, investigator_a):
    # Before study day 1 (2026-03-02): ALT 80 with ULN 40 = abnormal baseline.
    lab_panel_for(subject_a, by=investigator_a, alt="80", days=-3)
    # On treatment ALT 100: 2.5 x ULN would be grade 1, but 1.25 x baseline is grade 0.
    panel = lab_panel_for(subject_a, by=investigator_a, alt="100", days=13)
    assert panel.values.get().grade == 0


@pytest.mark.django_db
def test_wrong_unit_refused_and_panel_not_saved(subject_a, investigator_a):
    with pytest.raises(ValidationError) as refusal:
        lab_panel_record(
            subject=subject_a,
            sampled_at=datetime.datetime(2026, 3, 14, 8, tzinfo=datetime.UTC),
            local_lab="IHBT",
            entries=[
                LabEntry("ast", Decimal(50), "U/L", uln=Decimal(40)),
                LabEntry("alt", Decimal(50), "mg/dL", uln=Decimal(40)),
            ],
            user=investigator_a,
        )
    assert "ALT" in str(refusal.value) and "U/L" in str(refusal.value)
    assert not LabValue.objects.exists()


@pytest.mark.django_db
def test_panel_form_needs_a_value_and_takes_site_ranges(client, subject_a, investigator_a):
    from audit.services import audited_save

    audited_save(
        SiteLabRange(site=subject_a.site, test="alt", unit="µkat/L", uln=Decimal("0.6")),
        user=investigator_a,
    )
    client.force_login(investigator_a)
    page = client.get(reverse("safety:labs", args=[subject_a.study_id]))
    form = page.context["form"]
    assert (form["alt_unit"].initial, form["alt_uln"].initial) == ("µkat/L", Decimal("0.6"))
    empty = _panel_post(client, subject_a)
    assert "Enter at least one value." in empty.content.decode()


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.django_db
def test_reported_abnormality_leaves_the_list(subject_a, investigator_a):
    lab_panel_for(subject_a, by=investigator_a)  # ALT 250, grade 3, on day 14
    assert len(unreported_lab_abnormalities(subject_a)) == 1
    serious_ae_for(subject_a, by=investigator_a)  # ALT increased from day 14
    assert unreported_lab_abnormalities(subject_a) == []


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.django_db
def test_report_as_ae_prefills_term_date_grade_and_link(client, subject_a, investigator_a):
    panel = lab_panel_for(subject_a, by=investigator_a)
    value = panel.values.get()
    client.force_login(investigator_a)
    url = reverse("safety:adverse_event_new", args=[subject_a.study_id]) + f"?lab={value.pk}"
    form = client.get(url).context["form"]
    assert form.initial["term"].term == "Alanine aminotransferase increased"
    assert form.initial["grade"] == 3
    assert form.initial["onset_date"] == datetime.date(2026, 3, 15)
    assert form.initial["lab_values"] == [value.pk]


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_lab_value_correction_regrades_with_a_reason(client, subject_a, investigator_a):
    value = lab_panel_for(subject_a, by=investigator_a).values.get()
    client.force_login(investigator_a)
    url = reverse("safety:lab_value", args=[subject_a.study_id, value.pk])
    client.post(
        url,
        {"value": "90", "unit": "U/L", "uln": "40", "version": "1", "reason_for_change": "typo"},
    )
    value.refresh_from_db()
    assert (value.value, value.grade, value.version) == (Decimal(90), 1, 2)
    assert value.history.first().history_change_reason == "typo"
