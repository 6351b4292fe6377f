"""Hard edit checks refuse; soft ones save only once confirmed, and the confirmation is kept."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from crf.models import Baseline, Day11Assessment, EditCheckConfirmation, Visit
from tests.factories import baseline_for

pytestmark = pytest.mark.verifies("UR-REC-01")

BASELINE = {
    "sex": "F",
    "year_of_birth": "1985",
    "height_cm": "170",
    "weight_kg": "75",
    "diagnosis_date": "2026-02-25",
    "leukocytes": "5.9",
    "marrow_blasts_percent": "81",
    "immunophenotype": "B-II",
    "cd20_positive": "no",
    "karyotype": "normal",
    "cns_status": "CNS1",
    "igtr_target_available": "on",
}


def _url(subject, slug, pk=None):
    if pk:
        return reverse("crf:record_edit", args=[subject.study_id, slug, pk])
    return reverse("crf:record_new", args=[subject.study_id, slug])


@pytest.mark.verifies("UR-ENR-02")
@pytest.mark.django_db
def test_baseline_is_saved_with_its_bsa(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(_url(subject_a, "baseline"), BASELINE)
    assert response.status_code == 302
    baseline = Baseline.objects.get(subject=subject_a)
    assert (baseline.bsa_m2, baseline.bsa_formula) == (Decimal("1.88"), "Mosteller")
    page = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    assert "1.88 m²" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"year_of_birth": "2010"}, "year_of_birth", "18"),
        ({"year_of_birth": "2027"}, "year_of_birth", "after"),
        ({"diagnosis_date": "2026-03-05"}, "diagnosis_date", "must be on or after"),
        ({"diagnosis_date": "2099-01-01"}, "diagnosis_date", "is in the future"),
        ({"height_cm": "tall"}, "height_cm", 'Height: "tall" is not a number.'),
        ({"marrow_blasts_percent": "120"}, "marrow_blasts_percent", "less than or equal to 100"),
        ({"immunophenotype": "B-V"}, "immunophenotype", "Select a valid choice"),
        ({"diagnosis_date": "25.02.2026"}, "diagnosis_date", "YYYY-MM-DD"),
    ],
)
def test_baseline_hard_checks_refuse_and_save_nothing(
    client, subject_a, investigator_a, change, field, message
):
    client.force_login(investigator_a)
    response = client.post(_url(subject_a, "baseline"), {**BASELINE, **change})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors, response.context["form"].errors
    assert not Baseline.objects.filter(subject=subject_a).exists()


@pytest.mark.verifies("UR-REC-03")
@pytest.mark.django_db
def test_implausible_height_is_saved_only_after_confirmation(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    data = {**BASELINE, "height_cm": "135"}
    first = client.post(_url(subject_a, "baseline"), data)
    page = first.content.decode()
    assert first.status_code == 200
    assert "Please check" in page and "135" in page
    assert not Baseline.objects.filter(subject=subject_a).exists()
    codes = first.context["form"].data["warning_codes"]
    assert codes == "height_implausible"

    confirmed = client.post(
        _url(subject_a, "baseline"), {**data, "warning_codes": codes, "confirm_warnings": "on"}
    )
    assert confirmed.status_code == 302
    baseline = Baseline.objects.get(subject=subject_a)
    confirmation = EditCheckConfirmation.objects.get()
    assert (confirmation.check_code, confirmation.confirmed_by, confirmation.record) == (
        "height_implausible",
        investigator_a,
        baseline,
    )
    assert "135" in confirmation.message


@pytest.mark.verifies("UR-REC-03")
@pytest.mark.django_db
def test_confirmation_without_ticking_the_box_saves_nothing(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    data = {**BASELINE, "weight_kg": "230", "warning_codes": "weight_implausible"}
    response = client.post(_url(subject_a, "baseline"), data)
    assert response.status_code == 200
    assert not Baseline.objects.filter(subject=subject_a).exists()


@pytest.mark.verifies("UR-REC-04", "UR-AUD-01")
@pytest.mark.django_db
def test_baseline_correction_needs_a_reason_and_keeps_history(client, subject_a, investigator_a):
    baseline = baseline_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    url = _url(subject_a, "baseline", baseline.pk)
    data = {**BASELINE, "weight_kg": "76", "version": "1"}
    refused = client.post(url, data)
    assert refused.context["form"].errors["reason_for_change"] == ["This field is required."]
    client.post(url, {**data, "reason_for_change": "scale recalibrated"})
    baseline.refresh_from_db()
    assert (baseline.weight_kg, baseline.version) == (Decimal("76.0"), 2)
    assert baseline.history.first().history_change_reason == "scale recalibrated"


@pytest.mark.django_db
def test_dates_before_consent_are_refused(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(
        _url(subject_a, "day11"), {"assessed_on": "2026-02-20", "marrow_blasts_percent": "30"}
    )
    assert "before" in " ".join(response.context["form"].errors["assessed_on"])
    assert not Day11Assessment.objects.exists()


@pytest.mark.verifies("UR-REC-03", "UR-REC-05")
@pytest.mark.django_db
def test_day11_outside_window_needs_confirmation_and_marks_the_visit(
    client, subject_a, investigator_a
):
    client.force_login(investigator_a)
    # Day 11 is 2026-03-12, window +-3 days: 2026-03-16 is outside.
    data = {"assessed_on": "2026-03-16", "marrow_blasts_percent": "30"}
    warned = client.post(_url(subject_a, "day11"), data)
    assert "window" in warned.content.decode()
    assert not Day11Assessment.objects.exists()
    client.post(
        _url(subject_a, "day11"),
        {**data, "confirm_warnings": "on", "warning_codes": "visit_out_of_window"},
    )
    assert Day11Assessment.objects.get().marrow_blasts_percent == Decimal("30")
    visit = Visit.objects.get(subject=subject_a, code="D11")
    assert visit.actual_date == datetime.date(2026, 3, 16)
    assert EditCheckConfirmation.objects.get().check_code == "visit_out_of_window"


@pytest.mark.verifies("UR-REC-05")
@pytest.mark.django_db
def test_missed_visit_needs_a_reason(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    visit = Visit.objects.get(subject=subject_a, code="W11")
    url = _url(subject_a, "visit", visit.pk)
    refused = client.post(
        url, {"missed": "on", "missed_reason": "", "version": "1", "reason_for_change": "x"}
    )
    assert refused.context["form"].errors["missed_reason"] == ["A missed visit needs its reason."]
    client.post(
        url,
        {"missed": "on", "missed_reason": "patient in ICU", "version": "1",
         "reason_for_change": "visit did not take place"},
    )  # fmt: skip
    visit.refresh_from_db()
    assert (visit.missed, visit.missed_reason) == (True, "patient in ICU")


@pytest.mark.verifies("UR-REC-05")
@pytest.mark.django_db
def test_unscheduled_visit_is_added(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    client.post(
        _url(subject_a, "visit"), {"name": "fever", "actual_date": "2026-03-20", "notes": ""}
    )
    visit = Visit.objects.get(subject=subject_a, kind=Visit.Kind.UNSCHEDULED)
    assert (visit.code, visit.name) == ("U1", "fever")


@pytest.mark.django_db
def test_a_second_single_record_is_not_created(client, subject_a, investigator_a):
    baseline = baseline_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    response = client.get(_url(subject_a, "baseline"))
    assert response["Location"] == _url(subject_a, "baseline", baseline.pk)


@pytest.mark.verifies("UR-REC-05")
@pytest.mark.django_db
def test_visit_status_follows_the_window_and_the_data(subject_a):
    from crf.casebook import visit_status

    w11 = Visit.objects.get(subject=subject_a, code="W11")  # window 2026-05-04 .. 2026-05-24
    assert visit_status(w11, datetime.date(2026, 5, 3)) == "planned"
    assert visit_status(w11, datetime.date(2026, 5, 4)) == "due"
    assert visit_status(w11, datetime.date(2026, 5, 24)) == "due"
    assert visit_status(w11, datetime.date(2026, 5, 25)) == "overdue"
    w11.actual_date = datetime.date(2026, 5, 10)
    assert visit_status(w11, datetime.date(2026, 6, 1)) == "done"
    w11.actual_date, w11.missed = None, True
    assert visit_status(w11, datetime.date(2026, 6, 1)) == "missed"
