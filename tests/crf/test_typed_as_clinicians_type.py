"""Data entry as clinicians type and read: numbers typed as text (a decimal comma is a decimal
point, anything else refused naming the field and the text, nothing saved), the unit beside every
number, dates as YYYY-MM-DD and times with the site's zone, and the first date of a planned visit
saved without a reason for change."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from alerts.forms import AlertFilterForm, DecisionForm
from crf import forms as crf_forms
from crf.forms.common import site_time_zone_text
from crf.forms.numbers import MrdValueField
from crf.models import (
    Baseline,
    BlinatumomabInfusion,
    DrugAdministration,
    Premedication,
    TreatmentCourse,
    Visit,
)
from mrd.forms import MrdResultForm
from mrd.models import MrdResult
from safety.forms import AdverseEventForm, SaeFollowUpForm
from safety.models import AdverseEvent
from tests.crf.test_record_forms import BASELINE
from tests.factories import (
    baseline_for,
    course_for,
    day11_for,
    infusion_started_for,
)

pytestmark = pytest.mark.verifies("UR-REC-02")

NOT_A_NUMBER = "is not a number. Type digits with at most one decimal point or comma"


def _record_url(subject, slug, pk=None):
    if pk:
        return reverse("crf:record_edit", args=[subject.study_id, slug, pk])
    return reverse("crf:record_new", args=[subject.study_id, slug])


def _errors(response, field):
    return " ".join(response.context["form"].errors.get(field, []))


# --- Numbers -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_decimal_comma_in_leukocytes_is_saved_as_the_number_typed(
    client, subject_a, investigator_a
):
    client.force_login(investigator_a)
    response = client.post(_record_url(subject_a, "baseline"), {**BASELINE, "leukocytes": "12,4"})
    assert response.status_code == 302
    assert Baseline.objects.get(subject=subject_a).leukocytes == Decimal("12.4")  # not 124


@pytest.mark.django_db
def test_letters_in_the_weight_are_refused_naming_weight_and_the_text_and_nothing_is_saved(
    client, subject_a, investigator_a
):
    client.force_login(investigator_a)
    response = client.post(_record_url(subject_a, "baseline"), {**BASELINE, "weight_kg": "6x4"})
    assert response.status_code == 200
    assert _errors(response, "weight_kg").startswith(f'Weight: "6x4" {NOT_A_NUMBER}')
    page = response.content.decode()
    assert "Weight: &quot;6x4&quot; is not a number" in page
    # The message is shown: the group of the input and its unit is marked invalid, so the
    # feedback after it is displayed.
    assert "input-group input-group-number is-invalid" in page
    assert 'value="6x4"' in page  # what was typed stays to be corrected
    assert not Baseline.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["12,4,1", "1.234,5", "1 234", "1e3", "12 kg"])
def test_two_separators_thousands_and_letters_are_refused(client, subject_a, investigator_a, typed):
    client.force_login(investigator_a)
    response = client.post(_record_url(subject_a, "baseline"), {**BASELINE, "leukocytes": typed})
    assert f'"{typed}" {NOT_A_NUMBER}' in _errors(response, "leukocytes")
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_a_weight_with_a_comma_in_a_treatment_course(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(
        _record_url(subject_a, "course"),
        {"phase": "pre_induction", "start_date": "2026-03-02", "height_cm": "170",
         "weight_kg": "74,5"},
    )  # fmt: skip
    assert response.status_code == 302
    assert TreatmentCourse.objects.get().weight_kg == Decimal("74.5")


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.django_db
def test_an_ice_score_with_a_letter_is_refused_and_no_event_saved(
    client, subject_a, investigator_a
):
    client.force_login(investigator_a)
    response = client.post(
        reverse("safety:adverse_event_new", args=[subject_a.study_id]),
        {
            "term": "Encephalopathy",
            "verbatim": "confused",
            "onset_date": "2026-03-15",
            "grade": "2",
            "relationship_blinatumomab": "probable",
            "relationship_chemotherapy": "unlikely",
            "action_blinatumomab": "interrupted",
            "outcome": "recovered",
            "ice_orientation": "4x",
            "ice_naming": "3",
            "ice_commands": "1",
            "ice_writing": "1",
            "ice_attention": "1",
        },
    )
    assert response.status_code == 200
    label = response.context["form"].fields["ice_orientation"].label
    assert _errors(response, "ice_orientation") == (
        f'{label}: "4x" is not a whole number. Type digits only, for example 7.'
    )
    assert not AdverseEvent.objects.exists()


@pytest.mark.django_db
def test_premedication_dexamethasone_with_a_decimal_comma(client, subject_a, investigator_a):
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    url = reverse("crf:infusion_action", args=[subject_a.study_id, "premedication"])
    data = {"premedication-given_at": "2026-03-13 08:30", "premedication-before": "start"}
    refused = client.post(url, {**data, "premedication-dexamethasone_mg": "2O"})  # a letter O
    assert "Dexamethasone: &quot;2O&quot; is not a number." in refused.content.decode()
    assert not Premedication.objects.exists()
    client.post(url, {**data, "premedication-dexamethasone_mg": "20,5"})
    assert Premedication.objects.get().dexamethasone_mg == Decimal("20.5")


# --- MRD values as the laboratory writes them ------------------------------------------------


MRD_RESULT = {
    "method": "qpcr",
    "markers": "IGH VDJ",
    "result_class": "quantifiable",
    "sensitivity": "1E-5",
    "quantitative_range": "1E-4",
    "report_date": "2026-05-20",
    "not_evaluable_reason": "",
    "comment": "",
}


@pytest.mark.verifies("UR-MRD-01")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("1e-4", Decimal("0.0001")),
        ("1E-4", Decimal("0.0001")),
        ("0,0001", Decimal("0.0001")),
        ("0.0001", Decimal("0.0001")),
        ("1,2E-4", Decimal("0.00012")),
        ("2.5e-3", Decimal("0.0025")),
        ("1.2 x 10^-4", Decimal("0.00012")),
    ],
)
def test_an_mrd_value_as_the_laboratory_types_it(client, w11_sample, central_lab, typed, stored):
    client.force_login(central_lab)
    url = reverse("mrd:result", args=[w11_sample.accession, "qpcr"])
    response = client.post(url, {**MRD_RESULT, "value": typed})
    assert response.status_code == 302, response.context["form"].errors
    assert MrdResult.objects.get().value == stored


@pytest.mark.verifies("UR-MRD-01")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1.000", "ambiguous"),  # thousands or decimals? never silently one of them
        ("1e-4x", "is not a number"),
        ("0.01%", "not a percentage"),
    ],
)
def test_an_mrd_value_that_is_not_one_is_refused_naming_the_field_and_the_text(
    client, w11_sample, central_lab, typed, says
):
    client.force_login(central_lab)
    url = reverse("mrd:result", args=[w11_sample.accession, "qpcr"])
    response = client.post(url, {**MRD_RESULT, "value": typed})
    message = _errors(response, "value")
    assert message.startswith("Value: ") and typed in message and says in message
    assert not MrdResult.objects.exists()


@pytest.mark.verifies("UR-MRD-01")
@pytest.mark.django_db
def test_an_mrd_result_read_back_unchanged_is_not_a_change(client, w11_sample, central_lab):
    client.force_login(central_lab)
    url = reverse("mrd:result", args=[w11_sample.accession, "qpcr"])
    client.post(url, {**MRD_RESULT, "value": "1,2E-4"})
    result = MrdResult.objects.get()
    page = client.get(url).content.decode()
    assert 'value="1.2E-4"' in page and "fraction of cells" in page
    again = client.post(
        url, {**MRD_RESULT, "value": "1.2E-4", "version": "1", "reason_for_change": "x"}
    )
    assert "No value was changed" in again.content.decode()
    result.refresh_from_db()
    assert result.version == 1


# --- Every number input: text, the keyboard of its kind, its unit beside ----------------------

# Numbers that have no unit: a year, a count of cycles, a site's number.
UNITLESS = {"year_of_birth", "cycles", "blinatumomab_cycles", "site"}


def _every_form(subject, user):
    course = course_for(subject, by=user)
    administration = DrugAdministration.objects.filter(course=course).first()
    return [
        crf_forms.BaselineForm(),
        crf_forms.Day11Form(),
        crf_forms.TreatmentCourseForm(),
        crf_forms.AdministrationForm(instance=administration),
        crf_forms.IntrathecalForm(),
        crf_forms.MrdTriggeredBlinatumomabForm(),
        crf_forms.PremedicationForm(),
        crf_forms.InfusionStartForm(),
        crf_forms.VisitForm(),
        AdverseEventForm(subject=subject),
        SaeFollowUpForm(),
        MrdResultForm(),
        DecisionForm(),
        AlertFilterForm(),
    ]


@pytest.mark.django_db
def test_every_number_input_is_text_with_its_keyboard_and_its_unit(subject_a, investigator_a):
    units = {}
    for form in _every_form(subject_a, investigator_a):
        for bound in form:
            field = bound.field
            if not isinstance(field, forms.DecimalField | forms.IntegerField | MrdValueField):
                continue
            if field.widget.is_hidden:
                continue
            html = str(bound)
            where = f"{type(form).__name__}.{bound.name}"
            assert 'type="text"' in html and 'type="number"' not in html, where
            keyboard = {forms.DecimalField: "decimal", forms.IntegerField: "numeric"}
            expected = next((v for k, v in keyboard.items() if isinstance(field, k)), "text")
            assert f'inputmode="{expected}"' in html, where
            unit = field.widget.unit
            if bound.name in UNITLESS:
                assert not unit, where
                continue
            assert unit, f"{where} has no unit beside it"
            assert f'<span class="input-group-text" id="{bound.auto_id}-unit">{unit}</span>' in html
            assert f"({unit})" not in str(bound.label), f"{where}: the label repeats the unit"
            units[where] = unit
    assert {
        "BaselineForm.height_cm": "cm",
        "BaselineForm.weight_kg": "kg",
        "BaselineForm.leukocytes": "×10⁹/L",
        "BaselineForm.marrow_blasts_percent": "%",
        "Day11Form.marrow_blasts_percent": "%",
        "TreatmentCourseForm.weight_kg": "kg",
        "AdministrationForm.administered_dose": DrugAdministration.objects.first().dose_unit,
        "IntrathecalForm.cytarabine_mg": "mg",
        "MrdTriggeredBlinatumomabForm.dose_ug_per_day": "µg/day",
        "MrdTriggeredBlinatumomabForm.mrd_after_value": "fraction of cells",
        "PremedicationForm.dexamethasone_mg": "mg",
        "AdverseEventForm.ice_orientation": "of 4 points",
        "AdverseEventForm.ice_naming": "of 3 points",
        "AdverseEventForm.ice_attention": "of 1 point",
        "MrdResultForm.value": "fraction of cells",
    }.items() <= units.items()


# --- Dates and times -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_date_input_is_iso_text_not_the_browsers_locale(client, subject_a, investigator_a):
    baseline = baseline_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    page = client.get(_record_url(subject_a, "baseline", baseline.pk)).content.decode()
    assert 'type="date"' not in page
    assert 'name="diagnosis_date" value="2026-02-25"' in page
    html = str(crf_forms.BaselineForm(instance=baseline)["diagnosis_date"])
    assert 'type="text"' in html and 'placeholder="YYYY-MM-DD"' in html
    refused = client.post(
        _record_url(subject_a, "baseline", baseline.pk),
        {**BASELINE, "diagnosis_date": "02/25/2026", "version": "1", "reason_for_change": "x"},
    )
    assert "YYYY-MM-DD" in _errors(refused, "diagnosis_date")


def test_the_site_time_zone_is_named_with_its_winter_and_summer_abbreviations():
    assert site_time_zone_text(2026) == "Prague time (CET/CEST)"


@pytest.mark.django_db
def test_a_date_time_input_shows_the_site_time_zone_and_reads_local_time(
    client, subject_a, investigator_a
):
    day11_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    page = client.get(reverse("crf:infusion", args=[subject_a.study_id])).content.decode()
    assert 'type="datetime-local"' not in page
    assert (
        '<span class="input-group-text" id="id_start-started_at-zone">Prague time (CET/CEST)</span>'
    ) in page
    assert 'aria-describedby="id_start-started_at-zone"' in page
    assert 'placeholder="YYYY-MM-DD HH:MM"' in page
    # As shown (space) and as a browser's own input would send it (T): local time, CET in March.
    for typed in ("2026-03-13 09:00", "2026-03-13T09:00"):
        form = crf_forms.InfusionStartForm({"started_at": typed, "ug_per_day": "9"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["started_at"] == datetime.datetime(
            2026, 3, 13, 8, 0, tzinfo=datetime.UTC
        )
    summer = crf_forms.InfusionStartForm({"started_at": "2026-07-01 09:00", "ug_per_day": "9"})
    assert summer.is_valid()
    assert summer.cleaned_data["started_at"].astimezone(datetime.UTC).hour == 7  # CEST
    # A stored time reads back in local time, in the form's own notation.
    stored = timezone.make_aware(datetime.datetime(2026, 3, 13, 9, 0))
    shown = str(crf_forms.InfusionStartForm(initial={"started_at": stored})["started_at"])
    assert 'value="2026-03-13 09:00"' in shown


@pytest.mark.verifies("UR-DOS-02")
@pytest.mark.django_db
def test_an_infusion_start_typed_as_shown_is_saved(client, subject_a, investigator_a):
    day11_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    client.post(
        reverse("crf:infusion_action", args=[subject_a.study_id, "start"]),
        {"start-started_at": "2026-03-13 09:00", "start-ug_per_day": "9"},
    )
    started = BlinatumomabInfusion.objects.get().started_at
    assert started == datetime.datetime(2026, 3, 13, 8, 0, tzinfo=datetime.UTC)


# --- The first date of a planned visit ----------------------------------------------------------


@pytest.mark.verifies("UR-REC-04", "UR-AUD-01")
@pytest.mark.django_db
def test_the_first_date_of_a_planned_visit_needs_no_reason_a_later_change_does(
    client, subject_a, investigator_a
):
    visit = Visit.objects.get(subject=subject_a, code="W11")  # planned, no date yet
    url = _record_url(subject_a, "visit", visit.pk)
    client.force_login(investigator_a)
    page = client.get(url).content.decode()
    assert "Not needed: this is the first entry" in page
    assert '<h1 class="h3 mb-3">Enter ' in page  # entering the visit, not correcting it

    first = {"actual_date": "2026-05-10", "missed_reason": "", "notes": "", "version": "1"}
    response = client.post(url, first)
    assert response.status_code == 302, response.context["form"].errors
    visit.refresh_from_db()
    assert visit.actual_date == datetime.date(2026, 5, 10)
    # The audit trail records the entry, with the standard reason naming what was entered.
    history = visit.history.order_by("-history_id").first()
    label = crf_forms.VisitForm().fields["actual_date"].label
    assert history.history_change_reason == f"First entry of the planned record's data: {label}"
    assert history.history_user == investigator_a

    # A later change of the date is a change: it needs its reason.
    second = {**first, "actual_date": "2026-05-11", "version": "2"}
    refused = client.post(url, second)
    assert refused.context["form"].errors["reason_for_change"] == ["This field is required."]
    visit.refresh_from_db()
    assert (visit.actual_date, visit.version) == (datetime.date(2026, 5, 10), 2)
    client.post(url, {**second, "reason_for_change": "date copied from the wrong visit"})
    visit.refresh_from_db()
    assert visit.actual_date == datetime.date(2026, 5, 11)
    assert visit.history.order_by("-history_id").first().history_change_reason == (
        "date copied from the wrong visit"
    )


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_a_reason_given_at_the_first_entry_is_kept(client, subject_a, investigator_a):
    visit = Visit.objects.get(subject=subject_a, code="W11")
    client.force_login(investigator_a)
    client.post(
        _record_url(subject_a, "visit", visit.pk),
        {"actual_date": "2026-05-10", "notes": "", "version": "1",
         "reason_for_change": "entered from the outpatient letter"},
    )  # fmt: skip
    visit.refresh_from_db()
    assert visit.history.order_by("-history_id").first().history_change_reason == (
        "entered from the outpatient letter"
    )


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_a_planned_visit_first_recorded_as_missed_needs_no_reason_either(
    client, subject_a, investigator_a
):
    visit = Visit.objects.get(subject=subject_a, code="W11")
    client.force_login(investigator_a)
    response = client.post(
        _record_url(subject_a, "visit", visit.pk),
        {"missed": "on", "missed_reason": "patient in ICU", "notes": "", "version": "1"},
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.missed, visit.missed_reason) == (True, "patient in ICU")
    assert (
        visit.history.order_by("-history_id")
        .first()
        .history_change_reason.startswith("First entry of the planned record's data: ")
    )
