"""Edit checks of the case report forms: which protocol/ rule applies to which crf record.

Hard checks refuse the save (ValidationError naming the field). Soft checks are saved only after
the investigator confirms them; the confirmation is kept as an EditCheckConfirmation. The rules
themselves live in protocol/ (checks.py, dosing.py, schedule.py, infusion.py); this module only
applies them to records and registers them with the write pipeline (crf.services.records), so
that every route that saves (forms, infusion actions, uploads, the import) runs the same checks.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from audit.services import audited_save
from protocol import checks, dosing, infusion, schedule
from protocol.participation import subject_status

from .models import (
    Baseline,
    BlinatumomabInfusion,
    Day11Assessment,
    Death,
    DrugAdministration,
    EndOfStudy,
    InfusionDoseChange,
    InfusionInterruption,
    ResponseAssessment,
    Subject,
    TreatmentCourse,
    Visit,
)
from .records import subject_of
from .services import infusion as infusion_services
from .services.enrolment import visit_done
from .services.records import common_errors_register, record_rules_register
from .services.treatment import course_plan_administrations, next_consolidation_plan

# Dates that legitimately precede informed consent.
DATES_BEFORE_CONSENT_ALLOWED = {"diagnosis_date"}


def _consent_date(subject: Subject) -> date | None:
    return subject.screening.consent_date if subject.screening_id else None


def _local_date(value) -> date:
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


def dates_after_consent(record: models.Model) -> dict[str, str]:
    """Every record: no date before informed consent (the diagnosis excepted)."""
    consent = _consent_date(subject_of(record))
    if consent is None:
        return {}
    errors = {}
    for field in record._meta.concrete_fields:
        if field.name in DATES_BEFORE_CONSENT_ALLOWED:
            continue
        if not isinstance(field, models.DateField):  # DateTimeField is a DateField too
            continue
        value = getattr(record, field.attname)
        if value is None:
            continue
        message = checks.dates_order_error(
            consent, _local_date(value), "informed consent", str(field.verbose_name)
        )
        if message:
            errors[field.name] = message
    return errors


# --- Hard checks, per record type ----------------------------------------------------------


def _baseline_errors(record: Baseline) -> dict[str, str]:
    errors = {}
    consent = _consent_date(record.subject)
    if consent and record.year_of_birth:
        message = checks.birth_year_error(
            record.year_of_birth, consent
        ) or checks.not_adult_at_consent_error(record.year_of_birth, consent)
        if message:
            errors["year_of_birth"] = message
    if record.diagnosis_date:
        message = checks.dates_order_error(
            record.diagnosis_date, record.subject.day1_date, "diagnosis", "study day 1"
        )
        if message:
            errors["diagnosis_date"] = message
    return errors


def _administration_errors(record: DrugAdministration) -> dict[str, str]:
    errors = {}
    if record.administered_dose is None:
        return errors
    if record.dose_unit == schedule.Unit.MG.value or record.dose_unit == "mg":
        cap = dosing.dose_cap_error(schedule.Drug(record.drug), record.administered_dose)
        if cap:
            errors["administered_dose"] = cap
    settings = _protocol_settings(record.course.subject)
    deviation = dosing.dose_deviation(
        record.calculated_dose, record.administered_dose, settings.dose_tolerance_percent
    )
    if deviation.is_deviation and not record.deviation_reason.strip():
        errors["deviation_reason"] = (
            f"The dose given ({record.administered_dose} {record.dose_unit}) is "
            f"{deviation.difference_percent:.1f}% away from the calculated "
            f"{record.calculated_dose} {record.dose_unit} (tolerance "
            f"{settings.dose_tolerance_percent}%): give the reason for the deviation."
        )
    return errors


# --- Derived values computed before saving ------------------------------------------------


def bsa_derive(record: Baseline | TreatmentCourse) -> None:
    """The body surface area from height and weight (Mosteller, with the formula's name)."""
    # A zero or negative measurement has no BSA: refuse it on its field, not with a 500.
    not_positive = {
        name: f"The {name.split('_')[0]} must be above zero."
        for name in ("height_cm", "weight_kg")
        if getattr(record, name) is not None and getattr(record, name) <= 0
    }
    if not_positive:
        raise ValidationError(not_positive)
    if record.height_cm is None or record.weight_kg is None:
        return  # the field validation names the missing measurement
    bsa = dosing.body_surface_area(record.height_cm, record.weight_kg)
    record.bsa_m2 = bsa.m2
    record.bsa_formula = bsa.formula.value


# --- Soft checks ---------------------------------------------------------------------------


def _measurement_warnings(record) -> list[checks.SoftWarning]:
    found = [checks.height_warning(record.height_cm), checks.weight_warning(record.weight_kg)]
    return [w for w in found if w]


def _course_warnings(record: TreatmentCourse) -> list[checks.SoftWarning]:
    found = _measurement_warnings(record)
    baseline = Baseline.objects.filter(subject=record.subject).first()
    if baseline:
        change = checks.weight_change_warning(baseline.weight_kg, record.weight_kg)
        if change:
            found.append(change)
    return found


def _visit_window_warning(subject: Subject, code: str, on: date | None):
    if on is None:
        return []
    visit = Visit.objects.filter(subject=subject, code=code).first()
    protocol_codes = {v.code.value for v in schedule.VISITS}
    if visit is None or visit.window_start is None or visit.code not in protocol_codes:
        return []
    planned = planned_visit_of(visit)
    warning = checks.visit_window_warning(planned, on)
    return [warning] if warning else []


def planned_visit_of(visit: Visit) -> schedule.PlannedVisit:
    """The protocol's view of a stored visit (for windows and status)."""
    definition = next(v for v in schedule.VISITS if v.code == visit.code)
    return schedule.PlannedVisit(
        definition,
        visit.planned_date,
        visit.planned_date,
        visit.window_start,
        visit.window_end,
    )


def _protocol_settings(subject: Subject) -> schedule.ProtocolSettings:
    if subject.protocol_version_id:
        return subject.protocol_version.settings
    return schedule.DEFAULT_SETTINGS


# --- The infusion log: each entry against its cycle (BL-1 ... BL-4, BD-1/BD-2 doses) ---------


def _messages(errors: list[tuple[int, str]]) -> str:
    return " ".join(message for _, message in errors)


def _interruption_errors(record: InfusionInterruption) -> dict[str, str]:
    if record.reason == InfusionInterruption.Reason.OTHER and not record.reason_other.strip():
        return {"reason_other": "Describe the other reason."}
    course = infusion_services.course_of(record.infusion)
    others = infusion_services.course_of(record.infusion, exclude_pk=record.pk)
    period = infusion.InterruptionPeriod(
        infusion_services.local(record.started_at),
        infusion_services.local(record.ended_at),
        record.reason,
    )
    periods = sorted([*others.interruptions, period], key=lambda i: i.start)
    found = infusion.interruption_errors(course.start, course.end, periods, timezone.localtime())
    return {"started_at": _messages(found)} if found else {}


def _dose_change_errors(record: InfusionDoseChange) -> dict[str, str]:
    course = infusion_services.course_of(record.infusion, exclude_pk=record.pk)
    change = infusion.DoseChange(infusion_services.local(record.at), record.ug_per_day)
    changes = sorted([*course.dose_changes, change], key=lambda d: d.at)
    found = infusion.dose_change_errors(course.start, course.end, changes, timezone.localtime())
    return {"at": _messages(found)} if found else {}


def _cycle_errors(record: BlinatumomabInfusion) -> dict[str, str]:
    if record.ended_at is not None and record.ended_at <= record.started_at:
        return {"ended_at": "The infusion must end after it started."}
    if (
        record.end_reason == BlinatumomabInfusion.EndReason.DISCONTINUED
        and not record.discontinuation_reason.strip()
    ):
        return {"discontinuation_reason": "Give the reason for discontinuation."}
    if record.pk is None or record.ended_at is None:
        return {}
    course = infusion_services.course_of(record)
    now = timezone.localtime()
    found = infusion.interruption_errors(course.start, course.end, course.interruptions, now)
    found += infusion.dose_change_errors(course.start, course.end, course.dose_changes, now)
    return {"ended_at": _messages(found)} if found else {}


# --- What follows a save -------------------------------------------------------------------


def _after_course(record: TreatmentCourse, user) -> None:
    course_plan_administrations(course=record, user=user)
    next_consolidation_plan(course=record, user=user)


def subject_status_update(subject: Subject, user) -> bool:
    """The subject's status follows its end-of-study and death records; True if it changed."""
    end = EndOfStudy.objects.filter(subject=subject, entered_in_error=False).first()
    died = Death.objects.filter(subject=subject, entered_in_error=False).exists()
    status = subject_status(end.reason if end else None, died).value
    stored = Subject.objects.get(pk=subject.pk)  # the stored version, for the audit
    if stored.status == status:
        return False
    stored.status = status
    audited_save(stored, user=user, reason=f"status from the records: {status}")
    subject.status, subject.version = status, stored.version
    return True


def _window(code):
    def warnings(record):
        return _visit_window_warning(record.subject, code, record.assessed_on)

    return warnings


def _visit_warnings(visit: Visit) -> list[checks.SoftWarning]:
    if visit.kind != Visit.Kind.ASSESSMENT:
        return []
    return _visit_window_warning(visit.subject, visit.code, visit.actual_date)


def register() -> None:
    """Register crf's records with the write pipeline (called from CrfConfig.ready)."""
    common_errors_register(dates_after_consent)
    record_rules_register(
        Baseline,
        derive=bsa_derive,
        hard_checks=_baseline_errors,
        soft_checks=_measurement_warnings,
    )
    record_rules_register(
        TreatmentCourse, derive=bsa_derive, soft_checks=_course_warnings, after_save=_after_course
    )
    record_rules_register(DrugAdministration, hard_checks=_administration_errors)
    record_rules_register(Visit, soft_checks=_visit_warnings)
    record_rules_register(
        Day11Assessment,
        soft_checks=_window(schedule.VisitCode.DAY_11),
        after_save=lambda r, user: visit_done(r.subject, "D11", r.assessed_on, user),
    )
    record_rules_register(
        ResponseAssessment,
        soft_checks=_window(schedule.VisitCode.DAY_40),
        after_save=lambda r, user: visit_done(r.subject, "D40", r.assessed_on, user),
    )
    record_rules_register(BlinatumomabInfusion, hard_checks=_cycle_errors)
    record_rules_register(InfusionInterruption, hard_checks=_interruption_errors)
    record_rules_register(InfusionDoseChange, hard_checks=_dose_change_errors)
    for model in (EndOfStudy, Death):
        record_rules_register(
            model, after_save=lambda r, user: subject_status_update(r.subject, user)
        )
    # Treatment after induction: MR-4, MR-5 blinatumomab as given; salvage therapy.
    from . import after_induction
    from .models import MrdTriggeredBlinatumomab, SalvageTherapy

    record_rules_register(
        MrdTriggeredBlinatumomab,
        hard_checks=after_induction.mrd_triggered_blinatumomab_errors,
        soft_checks=after_induction.mrd_triggered_blinatumomab_warnings,
    )
    record_rules_register(SalvageTherapy, hard_checks=after_induction.salvage_therapy_errors)
