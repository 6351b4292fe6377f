"""The blinatumomab infusion log: start, dose steps, interruptions, restarts, premedication, end.

Each write is checked against protocol/infusion.py (interruptions inside the infusion and not
overlapping, doses among the protocol's) before anything is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from alerts.marking import subject_changed
from audit.services import audited_save
from protocol import dosing, infusion, schedule

from ..access import Capability, user_can
from ..models import (
    BlinatumomabInfusion,
    Day11Assessment,
    InfusionDoseChange,
    InfusionInterruption,
    Premedication,
    Subject,
)


def _require_entry(user, subject: Subject) -> None:
    if not user_can(user, Capability.ENTER_CLINICAL_DATA, subject.site):
        raise PermissionDenied("Only the site's investigators enter clinical data.")


def start_plan(subject: Subject) -> list[dosing.DoseStep] | None:
    """The blinatumomab start plan (BD-1/BD-2) from the day-11 blasts and the subject's version."""
    day11 = Day11Assessment.objects.filter(subject=subject, entered_in_error=False).first()
    if day11 is None or subject.protocol_version_id is None:
        return None
    rule = schedule.BlinatumomabRule(subject.protocol_version.blinatumomab_rule)
    return dosing.blinatumomab_start_plan(rule, day11.marrow_blasts_percent)


def _local(moment: datetime | None) -> datetime | None:
    # The protocol's messages name times as the site reads them.
    return timezone.localtime(moment) if moment is not None else None


def course_of(record: BlinatumomabInfusion, **changes) -> infusion.InfusionCourse:
    """The protocol's view of one stored cycle, optionally with unsaved changes applied."""
    interruptions = changes.get("interruptions")
    if interruptions is None:
        interruptions = [
            infusion.InterruptionPeriod(_local(i.started_at), _local(i.ended_at), i.reason)
            for i in record.interruptions.all()
            if not i.entered_in_error
        ]
    doses = changes.get("dose_changes")
    if doses is None:
        doses = [
            infusion.DoseChange(_local(d.at), d.ug_per_day)
            for d in record.dose_changes.all()
            if not d.entered_in_error
        ]
    return infusion.InfusionCourse(
        start=_local(changes.get("start", record.started_at)),
        end=_local(changes.get("end", record.ended_at)),
        dose_changes=tuple(doses),
        interruptions=tuple(interruptions),
    )


def _raise(errors: list[tuple[int, str]], field: str) -> None:
    if errors:
        raise ValidationError({field: [message for _, message in errors]})


def _check(course: infusion.InfusionCourse, *, interruption_field="started_at", dose_field="at"):
    now = timezone.localtime()
    _raise(
        infusion.interruption_errors(course.start, course.end, course.interruptions, now),
        interruption_field,
    )
    _raise(
        infusion.dose_change_errors(course.start, course.end, course.dose_changes, now), dose_field
    )


def infusion_start(
    *, subject: Subject, started_at: datetime, ug_per_day: Decimal, user
) -> BlinatumomabInfusion:
    """Start a blinatumomab cycle: the first after the day-11 assessment, or a new cycle (BL-2)."""
    _require_entry(user, subject)
    if start_plan(subject) is None:
        raise ValidationError(
            "Record the day-11 marrow blasts first: they set the start dose (BD-1/BD-2)."
        )
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=subject.pk)
        running = BlinatumomabInfusion.objects.filter(
            subject=subject, ended_at__isnull=True, entered_in_error=False
        ).first()
        if running:
            raise ValidationError(
                f"Cycle {running.cycle} is still running: end it before starting a new cycle."
            )
        last = BlinatumomabInfusion.objects.filter(subject=subject).aggregate(m=Max("cycle"))["m"]
        record = BlinatumomabInfusion(subject=subject, cycle=(last or 0) + 1, started_at=started_at)
        start = _local(started_at)
        course = infusion.InfusionCourse(
            start=start, end=None, dose_changes=(infusion.DoseChange(start, ug_per_day),)
        )
        _check(course, dose_field="ug_per_day")
        record = audited_save(record, user=user, reason="infusion started")
        audited_save(
            InfusionDoseChange(
                infusion=record,
                kind=InfusionDoseChange.Kind.START,
                at=started_at,
                ug_per_day=ug_per_day,
            ),
            user=user,
            reason="infusion started",
        )
        subject_changed(subject)
    return record


def infusion_dose_change(
    *, record: BlinatumomabInfusion, at: datetime, ug_per_day: Decimal, kind: str, user
) -> InfusionDoseChange:
    """A step-up (or reduction) of the running infusion."""
    _require_entry(user, record.subject)
    course = course_of(record)
    proposed = course_of(
        record,
        dose_changes=sorted(
            [*course.dose_changes, infusion.DoseChange(_local(at), ug_per_day)],
            key=lambda d: d.at,
        ),
    )
    _check(proposed, dose_field="at")
    with transaction.atomic():
        change = audited_save(
            InfusionDoseChange(infusion=record, kind=kind, at=at, ug_per_day=ug_per_day),
            user=user,
            reason=f"dose {kind.replace('_', ' ')}",
        )
        subject_changed(record.subject)
    return change


def infusion_interrupt(
    *, record: BlinatumomabInfusion, started_at: datetime, reason: str, reason_other: str, user
) -> InfusionInterruption:
    _require_entry(user, record.subject)
    if reason == InfusionInterruption.Reason.OTHER and not reason_other.strip():
        raise ValidationError({"reason_other": "Describe the other reason."})
    course = course_of(record)
    proposed = course_of(
        record,
        interruptions=sorted(
            [*course.interruptions, infusion.InterruptionPeriod(_local(started_at), None, reason)],
            key=lambda i: i.start,
        ),
    )
    _check(proposed)
    with transaction.atomic():
        interruption = audited_save(
            InfusionInterruption(
                infusion=record, started_at=started_at, reason=reason, reason_other=reason_other
            ),
            user=user,
            reason="infusion interrupted",
        )
        subject_changed(record.subject)
    return interruption


def infusion_restart(
    *, interruption: InfusionInterruption, restarted_at: datetime, ug_per_day: Decimal, user
) -> InfusionInterruption:
    """End an interruption: the infusion runs again from `restarted_at` at `ug_per_day` (BL-4)."""
    record = interruption.infusion
    _require_entry(user, record.subject)
    if interruption.ended_at is not None:
        raise ValidationError("This interruption has already ended.")
    course = course_of(record)
    restart = _local(restarted_at)
    interruptions = [
        infusion.InterruptionPeriod(i.start, restart, i.reason)
        if i.start == _local(interruption.started_at)
        else i
        for i in course.interruptions
    ]
    doses = sorted(
        [*course.dose_changes, infusion.DoseChange(restart, ug_per_day)], key=lambda d: d.at
    )
    proposed = course_of(record, interruptions=interruptions, dose_changes=doses)
    _check(proposed, interruption_field="restarted_at", dose_field="ug_per_day")
    with transaction.atomic():
        interruption.ended_at = restarted_at
        audited_save(interruption, user=user, reason="infusion restarted")
        audited_save(
            InfusionDoseChange(
                infusion=record,
                kind=InfusionDoseChange.Kind.RESTART,
                at=restarted_at,
                ug_per_day=ug_per_day,
            ),
            user=user,
            reason="infusion restarted",
        )
        subject_changed(record.subject)
    return interruption


def premedication_record(
    *,
    record: BlinatumomabInfusion,
    given_at: datetime,
    dexamethasone_mg: Decimal,
    before: str,
    user,
) -> Premedication:
    _require_entry(user, record.subject)
    return audited_save(
        Premedication(
            infusion=record, given_at=given_at, dexamethasone_mg=dexamethasone_mg, before=before
        ),
        user=user,
        reason="premedication recorded",
    )


def infusion_end(
    *,
    record: BlinatumomabInfusion,
    ended_at: datetime,
    end_reason: str,
    discontinuation_reason: str,
    user,
) -> BlinatumomabInfusion:
    _require_entry(user, record.subject)
    if record.ended_at is not None:
        raise ValidationError("This cycle has already ended.")
    if ended_at <= record.started_at:
        raise ValidationError({"ended_at": "The infusion must end after it started."})
    if (
        end_reason == BlinatumomabInfusion.EndReason.DISCONTINUED
        and not discontinuation_reason.strip()
    ):
        raise ValidationError({"discontinuation_reason": "Give the reason for discontinuation."})
    _check(course_of(record, end=ended_at), interruption_field="ended_at", dose_field="ended_at")
    record.ended_at = ended_at
    record.end_reason = end_reason
    record.discontinuation_reason = discontinuation_reason
    with transaction.atomic():
        ended = audited_save(record, user=user, reason=f"infusion ended: {end_reason}")
        subject_changed(record.subject)
    return ended


@dataclass(frozen=True)
class CycleSummary:
    record: BlinatumomabInfusion
    days_given: Decimal
    days_planned: int
    current_dose: Decimal | None


@dataclass(frozen=True)
class InfusionSummary:
    plan: list[dosing.DoseStep] | None
    cycles: list[CycleSummary]
    current: BlinatumomabInfusion | None
    next_step: infusion.NextStep | None


def infusion_summary(subject: Subject, now: datetime | None = None) -> InfusionSummary:
    """What the infusion page shows: days given per cycle against the 28 planned, the current
    cycle and what the protocol expects next."""
    now = timezone.localtime(now) if now else timezone.localtime()
    plan = start_plan(subject)
    records = list(
        BlinatumomabInfusion.objects.filter(subject=subject, entered_in_error=False)
        .prefetch_related("dose_changes", "interruptions", "premedications")
        .order_by("cycle")
    )
    cycles = []
    for record in records:
        course = course_of(record)
        cycles.append(
            CycleSummary(
                record=record,
                days_given=infusion.infusion_days_given(course, now),
                days_planned=schedule.INFUSION_DAYS_PER_CYCLE,
                current_dose=infusion.current_dose(course, now),
            )
        )
    current = records[-1] if records else None
    next_step = None
    if plan is not None and current is not None:
        settings = subject.protocol_version.settings
        next_step = infusion.expected_next_step(course_of(current), plan, now, settings)
    return InfusionSummary(plan=plan, cycles=cycles, current=current, next_step=next_step)
