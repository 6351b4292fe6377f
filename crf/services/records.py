"""Saving a clinical record: access, hard and soft edit checks, audit, and what follows."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models, transaction

from alerts.marking import subject_changed
from audit.services import audited_save

from .. import editchecks
from ..access import Capability, user_can
from ..models import Day11Assessment, ResponseAssessment, TreatmentCourse, Visit


def record_save(
    record: models.Model,
    *,
    user,
    reason: str = "",
    expected_version: int | None = None,
    confirmed: frozenset[str] | set[str] = frozenset(),
):
    """Create or change one clinical record of a subject.

    Refuses users who may not enter data at the subject's site, runs the hard edit checks
    (ValidationError), then the soft ones (SoftChecksPending unless every warning is in
    `confirmed`), saves with history and reason, keeps the confirmations, and applies what the
    protocol makes follow from the record (see AFTER_SAVE).
    """
    subject = editchecks.subject_of(record)
    if not user_can(user, Capability.ENTER_CLINICAL_DATA, subject.site):
        raise PermissionDenied("Only the site's investigators enter clinical data.")
    editchecks.derive(record)
    editchecks.hard_check(record)
    warnings = editchecks.soft_check(record, set(confirmed))
    with transaction.atomic():
        saved = audited_save(record, user=user, reason=reason, expected_version=expected_version)
        if warnings:
            editchecks.confirmations_record(saved, warnings, user)
        follow_up = AFTER_SAVE.get(type(saved))
        if follow_up:
            follow_up(saved, user)
        subject_changed(subject)
    return saved


def _visit_done(subject, code: str, on, user) -> None:
    visit = Visit.objects.filter(subject=subject, code=code).first()
    if visit and visit.actual_date != on:
        visit.actual_date = on
        audited_save(visit, user=user, reason=f"assessment recorded on {on.isoformat()}")


def _after_day11(record, user) -> None:
    _visit_done(record.subject, "D11", record.assessed_on, user)


def _after_day40(record, user) -> None:
    _visit_done(record.subject, "D40", record.assessed_on, user)


def _after_course(record, user) -> None:
    from .treatment import course_plan_administrations, next_consolidation_plan

    course_plan_administrations(course=record, user=user)
    next_consolidation_plan(course=record, user=user)


AFTER_SAVE = {
    Day11Assessment: _after_day11,
    ResponseAssessment: _after_day40,
    TreatmentCourse: _after_course,
}
