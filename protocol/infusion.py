"""The blinatumomab infusion log: days given, edit checks, and what the protocol expects next.

Source: rules §3 (BD-1, BD-2, BL-1 .. BL-5). One `InfusionCourse` is one cycle of
continuous infusion. Its dose is recorded as `DoseChange`s: the start dose is a change at the
start, and a restart at 9 ug/day is a change at the end of the interruption.

Interruptions that touch or overlap are one stretch of time off the infusion for the
arithmetic here (an interruption ending when the next starts is not an overlap error, but the
pump was still off in between).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from protocol.clock import after, span
from protocol.dosing import (
    BL4_STEP_UP_NOT_BEFORE,
    PREMEDICATION_INTERRUPTION,
    DoseStep,
    expected_dose_on_infusion_day,
    premedication_expected_before_restart,
)
from protocol.schedule import (
    BLINATUMOMAB_REDUCED_DOSE,
    BLINATUMOMAB_TARGET_DOSE,
    DEFAULT_SETTINGS,
    INFUSION_DAYS_PER_CYCLE,
    NEW_CYCLE_AFTER_INTERRUPTION,
    InterruptionOutcome,
    ProtocolSettings,
    interruption_outcome,
)

PROTOCOL_DOSES = (BLINATUMOMAB_REDUCED_DOSE, BLINATUMOMAB_TARGET_DOSE)  # rules §3: 9 or 28
ONE_DAY = timedelta(days=1)
CYCLE_LENGTH = INFUSION_DAYS_PER_CYCLE * ONE_DAY  # BL-1: 28 infusion days
DAYS_GIVEN_STEP = ONE_DAY / 10  # eCRF: infusion days given are shown rounded down to 0.1 day


# --- The infusion log ------------------------------------------------------------------------


@dataclass(frozen=True)
class InterruptionPeriod:
    """Time the infusion was stopped; `end` None = still interrupted."""

    start: datetime
    end: datetime | None
    reason: str = ""

    def duration(self, now: datetime) -> timedelta:
        """Length of the interruption (up to `now` while open); never negative."""
        end = self.end if self.end is not None else now
        return max(span(self.start, end), timedelta(0))


@dataclass(frozen=True)
class DoseChange:
    """From `at` on, the infusion runs at `ug_per_day` (the start dose is a change too)."""

    at: datetime
    ug_per_day: Decimal


@dataclass(frozen=True)
class InfusionCourse:
    """One blinatumomab cycle; `end` None = running, or interrupted now."""

    start: datetime
    end: datetime | None
    dose_changes: tuple[DoseChange, ...] = ()
    interruptions: tuple[InterruptionPeriod, ...] = ()


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _ug(dose: Decimal) -> str:
    return f"{dose:f} µg/day"


def _length(span: timedelta) -> str:
    """'2 days 3 h 5 min' for messages."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def _days(span: timedelta) -> Decimal:
    """A span in days, rounded down to 0.1 day."""
    return Decimal(max(span, timedelta(0)) // DAYS_GIVEN_STEP).scaleb(-1)


# --- Timeline of one course ------------------------------------------------------------------


@dataclass(frozen=True)
class _Timeline:
    """The course as seen at `now`: time off the infusion, restarts and time infused."""

    stop: datetime  # end of counted time: the infusion end, or now
    off: tuple[tuple[datetime, datetime], ...]  # merged time off the infusion, within start..stop
    interrupted_since: datetime | None  # start of the stretch off the infusion covering now
    restarts: tuple[tuple[datetime, datetime], ...]  # stretches off after which it ran again
    infused: timedelta


def _timeline(course: InfusionCourse, now: datetime) -> _Timeline:
    stop = min(course.end, now) if course.end is not None else now
    stop = max(stop, course.start)
    clipped = []
    for period in course.interruptions:
        start = max(period.start, course.start)
        end = min(period.end if period.end is not None else stop, stop)
        if end > start:
            clipped.append((start, end))
    off: list[tuple[datetime, datetime]] = []
    for start, end in sorted(clipped):
        if off and start <= off[-1][1]:
            off[-1] = (off[-1][0], max(off[-1][1], end))
        else:
            off.append((start, end))

    running = course.end is None or course.end > now
    covering = [
        p
        for p in course.interruptions
        if course.start <= p.start <= now and (p.end is None or p.end > now)
    ]
    interrupted_since = None
    if running and covering and now >= course.start:
        interrupted_since = off[-1][0] if off and off[-1][1] == stop else now
    restarts = tuple(
        (start, end)
        for start, end in off
        if end < stop or (end == now and running and interrupted_since is None)
    )
    infused = span(course.start, stop) - sum((span(start, end) for start, end in off), timedelta(0))
    return _Timeline(stop, tuple(off), interrupted_since, restarts, infused)


def _moment_infused(course: InfusionCourse, amount: timedelta, now: datetime) -> datetime | None:
    """When `amount` of infusion time is (or will be, if it keeps running) reached."""
    timeline = _timeline(course, now)
    remaining, cursor = amount, course.start
    for start, end in (*timeline.off, (timeline.stop, timeline.stop)):
        if span(cursor, start) >= remaining:
            return after(cursor, remaining)
        remaining -= span(cursor, start)
        cursor = end
    if course.end is None and timeline.interrupted_since is None:
        return after(timeline.stop, remaining)  # projected: running from now on, no break
    return None


def infusion_days_given(course: InfusionCourse, now: datetime) -> Decimal:
    """Infusion days actually given (BL-1), rounded down to 0.1 day.

    Start to end (or now while the course runs), minus interruption time within the course;
    overlapping interruptions are counted once. 10 days running with a 2-day interruption
    gives 8.0.
    """
    if now <= course.start:
        return _days(timedelta(0))
    return _days(_timeline(course, now).infused)


def infusion_day_at(course: InfusionCourse, at: datetime) -> int:
    """Infusion day (1-based, counting infusion time only) that the course is on at `at`."""
    infused = _timeline(course, at).infused if at > course.start else timedelta(0)
    return infused // ONE_DAY + 1


def current_dose(course: InfusionCourse, at: datetime) -> Decimal | None:
    """Dose running at `at`: None before the start, from the end on, while interrupted, or if
    no dose has been recorded yet (the start dose is a `DoseChange` at the start)."""
    if at < course.start or (course.end is not None and at >= course.end):
        return None
    for period in course.interruptions:
        if period.start <= at and (period.end is None or at < period.end):
            return None
    recorded = [change for change in course.dose_changes if change.at <= at]
    if not recorded:
        return None
    return max(recorded, key=lambda change: change.at).ug_per_day


# --- Hard edit checks ------------------------------------------------------------------------


def interruption_errors(
    course_start: datetime,
    course_end: datetime | None,
    interruptions: Sequence[InterruptionPeriod],
    now: datetime,
) -> list[tuple[int, str]]:
    """Hard edit checks on the interruptions of one course: (index, message) pairs.

    An interruption must lie within the infusion, end on or after its start, not start or end
    in the future, and not overlap another (one may start exactly when the previous ends);
    only one may be open. Overlaps and a second open interruption are reported on the later one.
    """
    errors: list[tuple[int, str]] = []
    for index, period in enumerate(interruptions):
        start, end = period.start, period.end
        problems = []
        if end is not None and end < start:
            problems.append(
                f"ends before it starts ({_when(end)}); the end must be on or after the start."
            )
        if start < course_start:
            problems.append(
                f"starts before the infusion start ({_when(course_start)}); it must start on "
                "or after the infusion start."
            )
        if start > now:
            problems.append(
                f"starts in the future (now {_when(now)}); enter only interruptions that have "
                "started."
            )
        if end is not None and end > now:
            problems.append(
                f"ends in the future ({_when(end)}, now {_when(now)}); leave the end empty "
                "until the infusion restarts."
            )
        if course_end is not None and start > course_end:
            problems.append(
                f"starts after the infusion end ({_when(course_end)}); it must lie within the "
                "infusion."
            )
        elif course_end is not None and end is None:
            problems.append(
                f"is still open, but the infusion ended at {_when(course_end)}; enter its end, "
                "at or before the infusion end."
            )
        elif course_end is not None and end is not None and end > course_end:
            problems.append(
                f"ends at {_when(end)}, after the infusion end ({_when(course_end)}); it must "
                "end at or before the infusion end."
            )
        errors.extend((index, f"The interruption from {_when(start)} {p}") for p in problems)
    errors.extend(_overlap_errors(interruptions))
    return sorted(errors, key=lambda error: error[0])


def _overlap_errors(interruptions: Sequence[InterruptionPeriod]) -> list[tuple[int, str]]:
    """Overlaps and extra open interruptions, reported on the later interruption."""
    order = sorted(
        (i for i, p in enumerate(interruptions) if p.end is None or p.end >= p.start),
        key=lambda i: (interruptions[i].start, i),
    )
    errors: list[tuple[int, str]] = []
    first_open: InterruptionPeriod | None = None
    for position, index in enumerate(order):
        later = interruptions[index]
        label = f"The interruption from {_when(later.start)}"
        if later.end is None and first_open is not None:
            errors.append(
                (
                    index,
                    f"{label} is open while the interruption from {_when(first_open.start)} is "
                    "open too; only one interruption can be open: enter the end of the earlier "
                    "one.",
                )
            )
        elif later.end is None:
            first_open = later
        for earlier in (interruptions[i] for i in order[:position]):
            if earlier.end is None and later.end is None:
                continue  # reported above as a second open interruption
            if earlier.end is None or later.start < earlier.end:
                until = "still open" if earlier.end is None else f"to {_when(earlier.end)}"
                errors.append(
                    (
                        index,
                        f"{label} overlaps the interruption from {_when(earlier.start)} "
                        f"({until}); interruptions must not overlap: the next may start when "
                        "the previous ends.",
                    )
                )
    return errors


def dose_change_errors(
    course_start: datetime,
    course_end: datetime | None,
    dose_changes: Sequence[DoseChange],
    now: datetime,
) -> list[tuple[int, str]]:
    """Hard edit checks on the dose changes of one course: (index, message) pairs.

    A change must lie within the infusion (start .. end, or now while it runs), and its dose
    must be a protocol dose: 9 or 28 ug/day (BD-1, BD-2, BL-4). Above 28 is above the cap.
    """
    allowed = " or ".join(_ug(dose) for dose in PROTOCOL_DOSES)
    errors: list[tuple[int, str]] = []
    seen: set[datetime] = set()
    for index, change in enumerate(dose_changes):
        at, dose = change.at, change.ug_per_day
        problems = []
        if at < course_start:
            problems.append(
                f"is before the infusion start ({_when(course_start)}); it must be within the "
                "infusion."
            )
        elif course_end is not None and at > course_end:
            problems.append(
                f"is after the infusion end ({_when(course_end)}); it must be within the infusion."
            )
        elif at > now:
            problems.append(f"is in the future (now {_when(now)}); enter it once it is made.")
        if dose > BLINATUMOMAB_TARGET_DOSE:
            problems.append(
                f"sets {_ug(dose)}, above the maximum of {_ug(BLINATUMOMAB_TARGET_DOSE)} "
                f"(rules §3); enter {allowed}."
            )
        elif dose not in PROTOCOL_DOSES:
            problems.append(
                f"sets {_ug(dose)}, which is not a protocol dose (BD-1, BD-2, BL-4); "
                f"enter {allowed}."
            )
        if at in seen:
            problems.append("repeats another dose change at the same moment; keep one.")
        seen.add(at)
        errors.extend((index, f"The dose change at {_when(at)} {p}") for p in problems)
    return errors


# --- Doses the protocol allows ---------------------------------------------------------------


def _first_target_day(plan: list[DoseStep]) -> int | None:
    days = [step.first_infusion_day for step in plan if step.ug_per_day == BLINATUMOMAB_TARGET_DOSE]
    return min(days) if days else None


def allowed_doses_at(
    course: InfusionCourse, plan: list[DoseStep], at: datetime
) -> tuple[Decimal, ...]:
    """Doses the protocol allows at `at` (AL-DOSE compares the running dose with these).

    The start plan (BD-1/BD-2) for that infusion day, except that after a restart BL-4 allows
    only 9 ug/day for 7 days, and from then on 9 or 28 ug/day (the step-up waits while the
    adverse reaction recurs), never 28 before the plan's step-up day.
    """
    day = min(infusion_day_at(course, at), INFUSION_DAYS_PER_CYCLE)
    planned = expected_dose_on_infusion_day(plan, day)
    restarts = _timeline(course, at).restarts if at > course.start else ()
    if restarts and at < after(restarts[-1][1], BL4_STEP_UP_NOT_BEFORE):
        return (BLINATUMOMAB_REDUCED_DOSE,)
    if planned == BLINATUMOMAB_REDUCED_DOSE or not restarts:
        return (planned,)
    return PROTOCOL_DOSES


# --- What the protocol expects next ----------------------------------------------------------


class NextStepKind(StrEnum):
    NOT_STARTED = "not_started"  # start at the plan's dose, with premedication (BL-5)
    CONTINUE = "continue"  # running at the expected dose
    STEP_UP = "step_up"  # 9 -> 28 ug/day (BD-1/BD-2 plan, or BL-4 after a restart)
    REDUCE_DOSE = "reduce_dose"  # running above the dose the protocol allows now
    RESTART = "restart"  # interrupted <= 7 days: restart in the same cycle (BL-1, BL-4)
    NEW_CYCLE = "new_cycle"  # interrupted > 7 days: new cycle (BL-2)
    DISCONTINUE = "discontinue"  # interrupted > 14 days (protocol setting): stop (BL-3)
    END_INFUSION = "end_infusion"  # 28 infusion days given: the cycle is complete
    ENDED = "ended"  # the infusion has ended: nothing further in this cycle


@dataclass(frozen=True)
class NextStep:
    """What the protocol expects next; `due` is when (or the deadline), `rule` its rule ID."""

    kind: NextStepKind
    message: str
    due: datetime | None = None
    rule: str = ""


PREMEDICATION = "dexamethasone premedication expected"


def expected_next_step(
    course: InfusionCourse,
    plan: list[DoseStep],
    now: datetime,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> NextStep:
    """What the protocol expects next for this course at `now` (rules §3).

    In order: ended; not started (BL-5); 28 infusion days given: end the infusion (even if
    interrupted now); interrupted now: restart at 9 ug/day within 7 days (BL-1, BL-4, BL-5),
    new cycle after more than 7 (BL-2), discontinue after more than 14 (BL-3, protocol
    setting); restarted in the same course after more than 7 or 14 days (BL-2, BL-3); running
    above the allowed dose; step-up to 28 ug/day due by the plan (BD-1/BD-2) or no earlier
    than 7 days after a restart (BL-4);
    otherwise continue. A course with no dose recorded is taken to run at the plan's start dose.
    """
    if not plan:
        raise ValueError("the start plan has no dose steps")
    if course.end is not None:
        given = infusion_days_given(course, course.end)
        return NextStep(
            NextStepKind.ENDED,
            f"Infusion ended at {_when(course.end)} after {given} of {INFUSION_DAYS_PER_CYCLE} "
            "infusion days; nothing further in this cycle.",
        )
    if now < course.start:
        return NextStep(
            NextStepKind.NOT_STARTED,
            f"Start blinatumomab at {_ug(plan[0].ug_per_day)} at {_when(course.start)}; "
            f"{PREMEDICATION} before the start (BL-5).",
            due=course.start,
            rule="BL-5",
        )
    timeline = _timeline(course, now)
    given = _days(timeline.infused)
    if timeline.infused >= CYCLE_LENGTH:
        return NextStep(
            NextStepKind.END_INFUSION,
            f"{INFUSION_DAYS_PER_CYCLE} infusion days given: end the infusion; the cycle is "
            "complete (BL-1).",
            due=_moment_infused(course, CYCLE_LENGTH, now),
            rule="BL-1",
        )
    if timeline.interrupted_since is not None:
        return _while_interrupted(timeline.interrupted_since, given, now, settings)
    late_restart = _restart_after_long_interruption(timeline, settings)
    if late_restart is not None:
        return late_restart
    dose = current_dose(course, now)
    if dose is None:
        dose = plan[0].ug_per_day
    allowed = allowed_doses_at(course, plan, now)
    if dose > max(allowed):
        return _reduce_dose(course, timeline, dose, allowed, now)
    if dose < BLINATUMOMAB_TARGET_DOSE:
        step_up = _step_up(course, plan, timeline, now)
        if step_up is not None:
            return step_up
    end = _moment_infused(course, CYCLE_LENGTH, now)
    return NextStep(
        NextStepKind.CONTINUE,
        f"Continue at {_ug(dose)}: {given} of {INFUSION_DAYS_PER_CYCLE} infusion days given; "
        f"the cycle is complete at {_when(end) if end else 'the end of the cycle'} if not "
        "interrupted (BL-1).",
        due=end,
        rule="BL-1",
    )


def _while_interrupted(
    since: datetime, given: Decimal, now: datetime, settings: ProtocolSettings
) -> NextStep:
    """BL-1/BL-2/BL-3 by the length of the interruption so far; BL-4/BL-5 for the restart."""
    length = now - since
    discontinue_after = timedelta(days=settings.interruption_discontinue_days)
    so_far = f"since {_when(since)} ({_length(length)}"
    outcome = interruption_outcome(length, settings)
    if outcome == InterruptionOutcome.DISCONTINUE:
        return NextStep(
            NextStepKind.DISCONTINUE,
            f"Discontinue blinatumomab (BL-3): interrupted {so_far}, more than "
            f"{settings.interruption_discontinue_days} days); record the discontinuation.",
            due=after(since, discontinue_after),
            rule="BL-3",
        )
    if outcome == InterruptionOutcome.NEW_CYCLE:
        return NextStep(
            NextStepKind.NEW_CYCLE,
            f"Start a new cycle of {INFUSION_DAYS_PER_CYCLE} infusion days at "
            f"{_ug(BLINATUMOMAB_REDUCED_DOSE)} (BL-2, BL-4); {PREMEDICATION} (BL-5). "
            f"Interrupted {so_far}, more than {NEW_CYCLE_AFTER_INTERRUPTION.days} days); "
            f"discontinue if not restarted by {_when(after(since, discontinue_after))} (BL-3).",
            due=after(since, discontinue_after),
            rule="BL-2",
        )
    if premedication_expected_before_restart(length):
        premedication = f"{PREMEDICATION} (BL-5)"
    else:
        premedication = (
            f"{PREMEDICATION} if the restart is at or after "
            f"{_when(after(since, PREMEDICATION_INTERRUPTION))} (BL-5)"
        )
    deadline = after(since, NEW_CYCLE_AFTER_INTERRUPTION)
    return NextStep(
        NextStepKind.RESTART,
        f"Restart at {_ug(BLINATUMOMAB_REDUCED_DOSE)} (BL-4); {premedication}. "
        f"Interrupted {so_far}); restart by {_when(deadline)} to continue this cycle (BL-1): "
        f"{Decimal(INFUSION_DAYS_PER_CYCLE) - given} infusion days remain.",
        due=deadline,
        rule="BL-4",
    )


def _restart_after_long_interruption(
    timeline: _Timeline, settings: ProtocolSettings
) -> NextStep | None:
    """BL-2/BL-3: the infusion ran again in this course after more than 7 (or 14) days off."""
    for start, end in reversed(timeline.restarts):
        outcome = interruption_outcome(span(start, end), settings)
        off = (
            f"after an interruption of {_length(span(start, end))} ({_when(start)} to {_when(end)})"
        )
        if outcome == InterruptionOutcome.DISCONTINUE:
            return NextStep(
                NextStepKind.DISCONTINUE,
                f"Discontinue blinatumomab (BL-3): the infusion was restarted {off}, more than "
                f"{settings.interruption_discontinue_days} days; record the discontinuation.",
                due=end,
                rule="BL-3",
            )
        if outcome == InterruptionOutcome.NEW_CYCLE:
            return NextStep(
                NextStepKind.NEW_CYCLE,
                f"Record a new cycle (BL-2): the infusion was restarted in the same cycle {off}, "
                f"more than {NEW_CYCLE_AFTER_INTERRUPTION.days} days; end this course at the "
                "restart and record the restart as a new cycle.",
                due=end,
                rule="BL-2",
            )
    return None


def _reduce_dose(
    course: InfusionCourse,
    timeline: _Timeline,
    dose: Decimal,
    allowed: tuple[Decimal, ...],
    now: datetime,
) -> NextStep:
    expected = " or ".join(_ug(d) for d in allowed)
    if timeline.restarts:
        restart = timeline.restarts[-1][1]
        if now < after(restart, BL4_STEP_UP_NOT_BEFORE):
            return NextStep(
                NextStepKind.REDUCE_DOSE,
                f"Reduce to {expected} (BL-4): running at {_ug(dose)}, but after the restart at "
                f"{_when(restart)} the dose stays at {expected} until "
                f"{_when(after(restart, BL4_STEP_UP_NOT_BEFORE))}; or document the deviation.",
                rule="BL-4",
            )
    return NextStep(
        NextStepKind.REDUCE_DOSE,
        f"Reduce to {expected} (BD-1/BD-2): running at {_ug(dose)} on infusion day "
        f"{infusion_day_at(course, now)}, above the start plan; or document the deviation.",
        rule="BD-1/BD-2",
    )


def _step_up(
    course: InfusionCourse, plan: list[DoseStep], timeline: _Timeline, now: datetime
) -> NextStep | None:
    """Step-up to 28 ug/day: by the plan (BD-1/BD-2), not before 7 days after a restart (BL-4)."""
    candidates: list[tuple[datetime, str, str]] = []
    target_day = _first_target_day(plan)
    if target_day is not None:
        moment = _moment_infused(course, (target_day - 1) * ONE_DAY, now)
        if moment is not None:
            rule = "BD-1" if target_day == 1 else "BD-1/BD-2"
            candidates.append((moment, rule, f"infusion day {target_day}, {rule}"))
    if timeline.restarts:
        restart = timeline.restarts[-1][1]
        candidates.append(
            (
                after(restart, BL4_STEP_UP_NOT_BEFORE),
                "BL-4",
                f"{BL4_STEP_UP_NOT_BEFORE.days} days after the restart at {_when(restart)}, "
                "BL-4, if the adverse reaction has not recurred",
            )
        )
    if not candidates:
        return None
    due, rule, why = max(candidates, key=lambda candidate: candidate[0])
    target = _ug(BLINATUMOMAB_TARGET_DOSE)
    if due <= now:
        when = f"now: due since {_when(due)}"
    elif rule == "BL-4":
        when = f"no earlier than {_when(due)}"
    else:
        when = f"at {_when(due)}"
    return NextStep(
        NextStepKind.STEP_UP,
        f"Step up to {target} {when} ({why}); {PREMEDICATION} before the step-up (BL-5).",
        due=due,
        rule=rule,
    )
