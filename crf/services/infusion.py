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
from .records import ENTRY_REFUSED, record_save


def _require_entry(user, subject: Subject) -> None:
    if not user_can(user, Capability.ENTER_CLINICAL_DATA, subject.site):
        raise PermissionDenied(ENTRY_REFUSED)


def start_plan(subject: Subject) -> list[dosing.DoseStep] | None:
    """The blinatumomab start plan (BD-1/BD-2) from the day-11 blasts and the subject's version."""
    day11 = Day11Assessment.objects.filter(subject=subject, entered_in_error=False).first()
    if day11 is None or subject.protocol_version_id is None:
        return None
    rule = schedule.BlinatumomabRule(subject.protocol_version.blinatumomab_rule)
    return dosing.blinatumomab_start_plan(rule, day11.marrow_blasts_percent)


def local(moment: datetime | None) -> datetime | None:
    # The protocol's messages name times as the site reads them.
    return timezone.localtime(moment) if moment is not None else None


def course_of(
    record: BlinatumomabInfusion, exclude_pk: int | None = None
) -> infusion.InfusionCourse:
    """The protocol's view of one stored cycle (without the entry `exclude_pk`, which a check
    replaces by its unsaved version)."""
    interruptions = [
        infusion.InterruptionPeriod(local(i.started_at), local(i.ended_at), i.reason)
        for i in record.interruptions.all()
        if not i.entered_in_error and (exclude_pk is None or i.pk != exclude_pk)
    ]
    doses = [
        infusion.DoseChange(local(d.at), d.ug_per_day)
        for d in record.dose_changes.all()
        if not d.entered_in_error and (exclude_pk is None or d.pk != exclude_pk)
    ]
    return infusion.InfusionCourse(
        start=local(record.started_at),
        end=local(record.ended_at),
        dose_changes=tuple(sorted(doses, key=lambda d: d.at)),
        interruptions=tuple(sorted(interruptions, key=lambda i: i.start)),
    )


def _save(record, *, user, reason: str, fields: dict[str, str] | None = None):
    """record_save, with the checks' messages put on the action form's own fields."""
    try:
        return record_save(record, user=user, reason=reason)
    except ValidationError as invalid:
        if not fields or not hasattr(invalid, "error_dict"):
            raise
        renamed: dict[str, list[str]] = {}
        for field, messages in invalid.message_dict.items():
            renamed.setdefault(fields.get(field, field), []).extend(messages)
        raise ValidationError(renamed) from None


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
        record = _save(record, user=user, reason="infusion started")
        start = InfusionDoseChange(
            infusion=record,
            kind=InfusionDoseChange.Kind.START,
            at=started_at,
            ug_per_day=ug_per_day,
        )
        _save(start, user=user, reason="infusion started", fields={"at": "ug_per_day"})
    return record


def infusion_dose_change(
    *, record: BlinatumomabInfusion, at: datetime, ug_per_day: Decimal, kind: str, user
) -> InfusionDoseChange:
    """A step-up (or reduction) of the running infusion."""
    _require_entry(user, record.subject)
    change = InfusionDoseChange(infusion=record, kind=kind, at=at, ug_per_day=ug_per_day)
    return _save(change, user=user, reason=f"dose {kind.replace('_', ' ')}")


def infusion_interrupt(
    *, record: BlinatumomabInfusion, started_at: datetime, reason: str, reason_other: str, user
) -> InfusionInterruption:
    _require_entry(user, record.subject)
    interruption = InfusionInterruption(
        infusion=record, started_at=started_at, reason=reason, reason_other=reason_other
    )
    return _save(interruption, user=user, reason="infusion interrupted")


def infusion_restart(
    *, interruption: InfusionInterruption, restarted_at: datetime, ug_per_day: Decimal, user
) -> InfusionInterruption:
    """End an interruption: the infusion runs again from `restarted_at` at `ug_per_day` (BL-4)."""
    record = interruption.infusion
    _require_entry(user, record.subject)
    if interruption.ended_at is not None:
        raise ValidationError("This interruption has already ended.")
    with transaction.atomic():
        interruption.ended_at = restarted_at
        _save(
            interruption,
            user=user,
            reason="infusion restarted",
            fields={"started_at": "restarted_at", "ended_at": "restarted_at"},
        )
        restart = InfusionDoseChange(
            infusion=record,
            kind=InfusionDoseChange.Kind.RESTART,
            at=restarted_at,
            ug_per_day=ug_per_day,
        )
        _save(restart, user=user, reason="infusion restarted", fields={"at": "ug_per_day"})
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
    premedication = Premedication(
        infusion=record, given_at=given_at, dexamethasone_mg=dexamethasone_mg, before=before
    )
    return _save(premedication, user=user, reason="premedication recorded")


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
    with transaction.atomic():
        # A cycle may end while interrupted (discontinued, or continued as a new cycle after
        # more than 7 days off: BL-2, BL-3): the interruption lasted until the end; no restart.
        for interruption in record.interruptions.filter(
            ended_at__isnull=True, entered_in_error=False
        ):
            if ended_at > interruption.started_at:
                interruption.ended_at = ended_at
                _save(
                    interruption,
                    user=user,
                    reason=f"interruption closed by the end of cycle {record.cycle}",
                    fields={"started_at": "ended_at", "ended_at": "ended_at"},
                )
        record.ended_at = ended_at
        record.end_reason = end_reason
        record.discontinuation_reason = discontinuation_reason
        return _save(record, user=user, reason=f"infusion ended: {end_reason}")


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
