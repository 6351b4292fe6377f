"""Treatment after induction as given: MRD-triggered blinatumomab courses (MR-4, MR-5) and salvage
therapies, entered on the generic record form through the write pipeline, shown in the casebook
and on its timeline."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crf.casebook import FORMS, casebook_of
from crf.models import EditCheckConfirmation, MrdTriggeredBlinatumomab, Role, SalvageTherapy
from crf.services import record_save
from tests.factories import user_with_role

pytestmark = pytest.mark.verifies("UR-REC-01")

# subject_a: consent 2026-02-27, study day 1 on 2026-03-02.
COURSE = {
    "start_date": "2026-07-06",
    "end_date": "2026-08-30",
    "cycles": "2",
    "dose_ug_per_day": "28",
    "cd19_reconfirmed": "True",
    "cd19_date": "2026-07-01",
    "mrd_after_class": "quantifiable",
    "mrd_after_value": "1,2E-4",
    "comment": "referred after W18 MRD 3E-4",
}
SALVAGE = {
    "start_date": "2026-06-01",
    "end_date": "2026-07-20",
    "regimen": "inotuzumab",
    "regimen_other": "",
    "indication": "relapse",
    "outcome": "CR",
    "comment": "",
}


def _url(subject, slug, pk=None):
    if pk:
        return reverse("crf:record_edit", args=[subject.study_id, slug, pk])
    return reverse("crf:record_new", args=[subject.study_id, slug])


def _errors(response, field) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


def test_both_forms_are_in_the_after_induction_section():
    assert FORMS["mrd-blinatumomab"].model is MrdTriggeredBlinatumomab
    assert FORMS["salvage-therapy"].model is SalvageTherapy
    assert {FORMS["mrd-blinatumomab"].section, FORMS["salvage-therapy"].section} == {
        "After induction"
    }
    assert FORMS["mrd-blinatumomab"].many and FORMS["salvage-therapy"].many


@pytest.mark.verifies("MR-4", "UR-AUD-01")
@pytest.mark.django_db
def test_a_course_is_entered_with_its_history(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    page = client.get(_url(subject_a, "mrd-blinatumomab")).content.decode()
    assert 'value="28' in page  # the target dose is offered (rules §3)
    response = client.post(_url(subject_a, "mrd-blinatumomab"), COURSE)
    assert response.status_code == 302, response.context["form"].errors
    course = MrdTriggeredBlinatumomab.objects.get(subject=subject_a)
    assert (course.cycles, course.dose_ug_per_day, course.cd19_reconfirmed) == (
        2, Decimal("28.0"), True,
    )  # fmt: skip
    assert course.mrd_after_value == Decimal("0.00012")  # typed as labs write it, kept exact
    assert course.mrd_after_text == "quantifiable 1.2E-4"
    (row,) = course.history.all()
    assert (row.history_type, row.history_user, row.version) == ("+", investigator_a, 1)
    assert course.created_by == investigator_a
    assert (
        str(course) == "MRD-triggered blinatumomab 2026-07-06 to 2026-08-30: 2 cycles at 28 µg/day"
    )
    assert course.get_absolute_url() == _url(subject_a, "mrd-blinatumomab", course.pk)


@pytest.mark.verifies("UR-REC-04", "UR-AUD-01")
@pytest.mark.django_db
def test_a_course_correction_needs_a_reason_and_keeps_history(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    client.post(_url(subject_a, "mrd-blinatumomab"), {**COURSE, "end_date": ""})
    course = MrdTriggeredBlinatumomab.objects.get()
    assert course.end_date is None  # running
    url = _url(subject_a, "mrd-blinatumomab", course.pk)
    assert 'value="1.2E-4"' in client.get(url).content.decode()  # shown as labs write it
    data = {**COURSE, "version": "1"}
    refused = client.post(url, data)
    assert _errors(refused, "reason_for_change") == "This field is required."
    client.post(url, {**data, "reason_for_change": "course completed"})
    course.refresh_from_db()
    assert (course.end_date, course.version) == (datetime.date(2026, 8, 30), 2)
    assert course.history.first().history_change_reason == "course completed"
    unchanged = client.post(url, {**COURSE, "version": "2", "reason_for_change": "none"})
    assert "No value was changed" in unchanged.content.decode()  # 1,2E-4 is the saved value


@pytest.mark.verifies("MR-4")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"end_date": "2026-07-01"}, "end_date", "before the start date (2026-07-06)"),
        ({"cycles": "3"}, "cycles", "given for 1 or 2 cycles (MR-4)"),
        ({"cycles": "0"}, "cycles", "given for 1 or 2 cycles (MR-4)"),
        ({"dose_ug_per_day": "0"}, "dose_ug_per_day", "is not above zero"),
        ({"dose_ug_per_day": "-9"}, "dose_ug_per_day", "is not above zero"),
        ({"cd19_date": ""}, "cd19_date", "Give the date on which CD19"),
        ({"cd19_reconfirmed": ""}, "cd19_reconfirmed", "Answer yes or no."),
        ({"mrd_after_value": ""}, "mrd_after_value", "needs its MRD value"),
        ({"mrd_after_class": "negative"}, "mrd_after_value", "A negative result has no value"),
        ({"mrd_after_class": ""}, "mrd_after_class", "Choose the result class"),
        ({"mrd_after_value": "<1E-4"}, "mrd_after_value", "is a limit, not a value"),
        ({"mrd_after_value": "NaN"}, "mrd_after_value", "is not a number"),
        ({"start_date": "2026-02-20"}, "start_date", "before informed consent"),
        ({"end_date": "2099-01-01"}, "end_date", "is in the future"),
        ({"start_date": "06/07/2026"}, "start_date", "YYYY-MM-DD"),
    ],
)
def test_course_hard_checks_refuse_with_the_field_and_save_nothing(
    client, subject_a, investigator_a, change, field, message
):
    client.force_login(investigator_a)
    response = client.post(_url(subject_a, "mrd-blinatumomab"), {**COURSE, **change})
    assert response.status_code == 200
    assert message in _errors(response, field), response.context["form"].errors
    assert not MrdTriggeredBlinatumomab.objects.exists()
    assert not MrdTriggeredBlinatumomab.history.exists()


@pytest.mark.django_db
def test_every_route_gets_the_same_refusal(subject_a, investigator_a):
    """The pipeline itself refuses (an import, a service), with the form's message."""
    course = MrdTriggeredBlinatumomab(
        subject=subject_a,
        start_date=datetime.date(2026, 7, 6),
        end_date=datetime.date(2026, 7, 1),
        cycles=3,
        dose_ug_per_day=Decimal(28),
        cd19_reconfirmed=True,
        cd19_date=datetime.date(2026, 7, 1),
    )
    with pytest.raises(ValidationError) as refused:
        record_save(course, user=investigator_a)
    assert set(refused.value.message_dict) == {"end_date", "cycles"}
    assert not MrdTriggeredBlinatumomab.objects.exists()


@pytest.mark.verifies("MR-4", "UR-REC-03")
@pytest.mark.django_db
def test_cd19_not_reconfirmed_is_saved_only_once_confirmed(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    data = {**COURSE, "cd19_reconfirmed": "False", "cd19_date": ""}
    warned = client.post(_url(subject_a, "mrd-blinatumomab"), data)
    assert warned.status_code == 200
    assert "CD19 expression was not reconfirmed" in warned.content.decode()
    assert not MrdTriggeredBlinatumomab.objects.exists()
    codes = warned.context["form"].data["warning_codes"]
    assert codes == "cd19_not_reconfirmed"
    confirmed = client.post(
        _url(subject_a, "mrd-blinatumomab"),
        {**data, "warning_codes": codes, "confirm_warnings": "on"},
    )
    assert confirmed.status_code == 302
    course = MrdTriggeredBlinatumomab.objects.get()
    confirmation = EditCheckConfirmation.objects.get()
    assert (confirmation.check_code, confirmation.record) == ("cd19_not_reconfirmed", course)


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_a_salvage_therapy_is_entered_with_its_history(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(_url(subject_a, "salvage-therapy"), SALVAGE)
    assert response.status_code == 302, response.context["form"].errors
    therapy = SalvageTherapy.objects.get(subject=subject_a)
    assert (therapy.regimen, therapy.indication, therapy.outcome) == ("inotuzumab", "relapse", "CR")
    assert therapy.history.get().history_type == "+"
    assert str(therapy) == "Salvage therapy 2026-06-01: Inotuzumab ozogamicin (Relapse)"
    url = _url(subject_a, "salvage-therapy", therapy.pk)
    changed = {**SALVAGE, "outcome": "no_response", "version": "1"}
    client.post(url, {**changed, "reason_for_change": "response reassessed"})
    therapy.refresh_from_db()
    assert (therapy.outcome, therapy.version) == ("no_response", 2)
    assert therapy.history.first().history_change_reason == "response reassessed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"end_date": "2026-05-01"}, "end_date", "before the start date (2026-06-01)"),
        ({"regimen": "other"}, "regimen_other", "Name the other regimen."),
        ({"regimen": "radiotherapy"}, "regimen", "Select a valid choice"),
        ({"indication": ""}, "indication", "This field is required."),
        ({"outcome": "PR"}, "outcome", "Select a valid choice"),
        ({"start_date": "2026-02-01"}, "start_date", "before informed consent"),
        ({"start_date": "2099-01-01"}, "start_date", "is in the future"),
    ],
)
def test_salvage_hard_checks_refuse_with_the_field_and_save_nothing(
    client, subject_a, investigator_a, change, field, message
):
    client.force_login(investigator_a)
    response = client.post(_url(subject_a, "salvage-therapy"), {**SALVAGE, **change})
    assert response.status_code == 200
    assert message in _errors(response, field), response.context["form"].errors
    assert not SalvageTherapy.objects.exists()


@pytest.mark.verifies("UR-REC-05")
@pytest.mark.django_db
def test_an_other_regimen_is_named_in_the_casebook(subject_a, investigator_a):
    therapy = record_save(
        SalvageTherapy(
            subject=subject_a,
            start_date=datetime.date(2026, 6, 1),
            regimen="other",
            regimen_other="hyper-CVAD",
            indication="refractory",
        ),
        user=investigator_a,
    )
    assert str(therapy) == "Salvage therapy 2026-06-01: hyper-CVAD (Refractory after induction)"


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_only_the_site_investigators_enter_them(client, subject_a):
    client.force_login(user_with_role(Role.MONITOR, subject_a.site))
    response = client.post(_url(subject_a, "salvage-therapy"), SALVAGE)
    assert response.status_code in (403, 404)
    assert not SalvageTherapy.objects.exists()


def _save_both(subject, investigator):
    course = record_save(
        MrdTriggeredBlinatumomab(
            subject=subject,
            start_date=datetime.date(2026, 7, 6),
            end_date=datetime.date(2026, 8, 30),
            cycles=2,
            dose_ug_per_day=Decimal(28),
            cd19_reconfirmed=True,
            cd19_date=datetime.date(2026, 7, 1),
            mrd_after_class="negative",
        ),
        user=investigator,
    )
    therapy = record_save(
        SalvageTherapy(
            subject=subject,
            start_date=datetime.date(2026, 10, 1),
            regimen="car_t",
            indication="relapse",
        ),
        user=investigator,
    )
    return course, therapy


@pytest.mark.verifies("UR-REC-05")
@pytest.mark.django_db
def test_the_casebook_lists_them_and_draws_them_on_the_timeline(client, subject_a, investigator_a):
    course, therapy = _save_both(subject_a, investigator_a)
    client.force_login(investigator_a)
    page = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    assert "After induction" in page
    assert "MRD-triggered blinatumomab 2026-07-06 to 2026-08-30: 2 cycles" in page
    assert "Salvage therapy 2026-10-01: CAR-T cell therapy (Relapse)" in page
    assert _url(subject_a, "mrd-blinatumomab", course.pk) in page
    assert _url(subject_a, "salvage-therapy", therapy.pk) in page
    assert 'class="therapy therapy-mrd-blinatumomab"' in page
    assert 'data-label="Blinatumomab (2 cycles)"' in page
    # day 1 is 2026-03-02: the course runs on study days 127-182; CAR-T from day 214, running
    assert 'data-first-day="127" data-last-day="182"' in page
    assert 'data-label="CAR-T cell therapy (relapse)" data-first-day="214"' in page


@pytest.mark.verifies("UR-REC-05")
@pytest.mark.django_db
def test_records_entered_in_error_are_not_drawn(subject_a, investigator_a):
    from audit.services import audited_save

    course, therapy = _save_both(subject_a, investigator_a)
    for record in (course, therapy):
        record.entered_in_error = True
        audited_save(record, user=investigator_a, reason="wrong patient")
    casebook = casebook_of(subject_a, today=datetime.date(2026, 11, 30))
    assert all(not entry.records for entry in casebook.sections["After induction"])
    assert "therapy" not in casebook.timeline_svg
