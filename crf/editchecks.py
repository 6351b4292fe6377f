"""Edit checks of the case report forms: which protocol/ rule applies to which record.

Hard checks refuse the save (ValidationError naming the field). Soft checks are saved only after
the investigator confirms them; the confirmation is kept as an EditCheckConfirmation. The rules
themselves live in protocol/ (checks.py, dosing.py, schedule.py); this module only applies them
to records, so that every route that saves (forms, uploads, commands) runs the same checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from protocol import checks, dosing, schedule

from .models import (
    Baseline,
    Day11Assessment,
    DrugAdministration,
    EditCheckConfirmation,
    ResponseAssessment,
    Subject,
    TreatmentCourse,
    Visit,
)

# Dates that legitimately precede informed consent.
DATES_BEFORE_CONSENT_ALLOWED = {"diagnosis_date"}


class SoftChecksPending(Exception):
    """Soft edit checks that the user has not yet confirmed."""

    def __init__(self, warnings: list[checks.SoftWarning]):
        self.warnings = warnings
        super().__init__("; ".join(w.message for w in warnings))


# The parent through which a record belongs to its subject, for records without a subject field.
_PARENTS = ("course", "infusion", "panel", "adverse_event", "sample")


def subject_of(record: models.Model) -> Subject:
    if isinstance(record, Subject):
        return record
    if hasattr(record, "subject"):
        return record.subject
    for parent in _PARENTS:
        if hasattr(record, parent):
            return subject_of(getattr(record, parent))
    raise TypeError(f"{type(record).__name__} does not belong to a subject")


def _consent_date(subject: Subject) -> date | None:
    return subject.screening.consent_date if subject.screening_id else None


def _local_date(value) -> date:
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


def _dates_after_consent(record: models.Model, subject: Subject) -> dict[str, str]:
    consent = _consent_date(subject)
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


HARD_CHECKS: dict[type, Callable[[models.Model], dict[str, str]]] = {
    Baseline: _baseline_errors,
    DrugAdministration: _administration_errors,
}


def hard_check(record: models.Model) -> None:
    """Raise ValidationError (field -> message) if the record breaks a hard edit check."""
    subject = subject_of(record)
    errors = _dates_after_consent(record, subject)
    specific = HARD_CHECKS.get(type(record))
    if specific:
        for field, message in specific(record).items():
            errors.setdefault(field, message)
    if errors:
        raise ValidationError(errors)


# --- Derived values computed before saving ------------------------------------------------


def derive(record: models.Model) -> None:
    """Fill the values the eCRF computes (BSA from height and weight)."""
    if isinstance(record, Baseline | TreatmentCourse):
        # A zero or negative measurement has no BSA: refuse it on its field, not with a 500.
        not_positive = {
            name: f"The {name.split('_')[0]} must be above zero."
            for name in ("height_cm", "weight_kg")
            if getattr(record, name) is not None and getattr(record, name) <= 0
        }
        if not_positive:
            raise ValidationError(not_positive)
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


SOFT_CHECKS: dict[type, Callable[[models.Model], list[checks.SoftWarning]]] = {
    Baseline: _measurement_warnings,
    TreatmentCourse: _course_warnings,
    Visit: lambda v: (
        _visit_window_warning(v.subject, v.code, v.actual_date)
        if v.kind == Visit.Kind.ASSESSMENT
        else []
    ),
    Day11Assessment: lambda r: _visit_window_warning(
        r.subject, schedule.VisitCode.DAY_11, r.assessed_on
    ),
    ResponseAssessment: lambda r: _visit_window_warning(
        r.subject, schedule.VisitCode.DAY_40, r.assessed_on
    ),
}


def soft_check(record: models.Model, confirmed: set[str]) -> list[checks.SoftWarning]:
    """The record's soft warnings; raise SoftChecksPending if any is not in `confirmed`."""
    specific = SOFT_CHECKS.get(type(record))
    warnings = specific(record) if specific else []
    pending = [w for w in warnings if w.code not in confirmed]
    if pending:
        raise SoftChecksPending(warnings)
    return warnings


def confirmations_record(record, warnings: list[checks.SoftWarning], user) -> None:
    """Keep the investigator's confirmation of each soft warning with the record, and open an
    automatic query on it for the monitor."""
    from monitoring.queries import query_from_edit_check  # monitoring depends on crf

    content_type = ContentType.objects.get_for_model(record)
    confirmations = EditCheckConfirmation.objects.bulk_create(
        EditCheckConfirmation(
            content_type=content_type,
            object_id=record.pk,
            subject=subject_of(record),
            check_code=warning.code,
            message=warning.message,
            confirmed_by=user,
            record_version=record.version,
        )
        for warning in warnings
    )
    for confirmation in confirmations:  # the monitor reviews each override as a query
        query_from_edit_check(confirmation=confirmation)


def _protocol_settings(subject: Subject) -> schedule.ProtocolSettings:
    if subject.protocol_version_id:
        return subject.protocol_version.settings
    return schedule.DEFAULT_SETTINGS
