"""The alerts the rules engine raises (AL-HEP .. AL-VISIT-OVERDUE): pure functions of one
subject's facts, one `AlertRule` per alert in the registry `ALERT_RULES`. The rules themselves
are written in docs/protocol-rules.md; the IDs here are its IDs.

`evaluate(facts, now)` runs every rule and returns its findings; the caller reconciles them
with the stored alerts by `Finding.key` = (rule, triggering record). A finding exists while
its condition holds and is not cleared: an alert that the data clears simply stops being
found. Time enters only through `now`.

Decisions taken where the protocol rules leave room:
- "While the infusion runs" (TX-HEP): within a cycle's start .. end (end excluded) and not
  within an interruption (start included, end excluded), as infusion.current_dose reads it.
  An adverse event has an onset date only: it falls during the infusion if the infusion ran at
  any moment of that date.
- AL-HEP "an interruption covers the lab": an interruption of that cycle starting at or after
  the sample time (an interruption already running at the sample means the infusion did not
  run, so no alert), or the end of that cycle (the infusion was stopped).
- AL-HEP-RESTART: the latest ALT and AST are <= grade 1 with at least one sampled after the
  interruption start; a test not measured since counts by its latest earlier value, and a test
  never measured is not required (a panel with ALT only may release the restart).
- AL-CRS, AL-NEU clear by an interruption of that cycle starting on or after the onset date,
  or by the end of the cycle (discontinuation); TX-NEU "more than 7 days to resolve" is read
  from the event's onset to its end (or to today while it goes on).
- AL-DOSE: the first cycle follows BD-1/BD-2, every later cycle (BL-2) restarts at 9 ug/day
  for 7 infusion days (BL-4). "Corrected" = a later dose change of that cycle to another dose
  that the protocol allows at its time. Without the day-11 blasts BD-1 cannot be judged: no
  AL-DOSE for the first cycle until they are entered.
- AL-INT-LONG clears by a later cycle started at or after the interruption, or by the end of
  its cycle as discontinued or new_cycle.
- AL-MOL-RELAPSE (MR-5) wins over AL-MRD-TRIGGER (MR-4) for the same result; MR-5 does not need
  the day-40 CR (the earlier MRD negativity implies it). Results that mrd.result_errors refuses
  are skipped (the form refuses them).
- Severity: URGENT where the alert table says so; INFO for data and laboratory tasks (AL-W11-NGS,
  AL-W11-MISSING, AL-VISIT-OVERDUE); WARNING for the other treatment decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from types import MappingProxyType

from protocol.clock import after, span
from protocol.ctcae import AMINOTRANSFERASE_BY_ULN, BILIRUBIN_BY_ULN, LabTest
from protocol.dosing import DoseStep, blinatumomab_start_plan
from protocol.facts import (
    REFRACTORY_RESPONSE,
    AeCategory,
    AeFact,
    CycleEndReason,
    CycleFact,
    DecisionFact,
    DecisionKind,
    DoseChangeFact,
    DoseChangeKind,
    InterruptionFact,
    InterruptionReason,
    LabFact,
    MrdFact,
    SubjectFacts,
    VisitFact,
)
from protocol.infusion import (
    DoseChange,
    InfusionCourse,
    InterruptionPeriod,
    allowed_doses_at,
    current_dose,
    infusion_day_at,
)
from protocol.mrd import (
    MRD_THRESHOLD,
    Method,
    MrdResult,
    Timepoint,
    format_mrd,
    is_haematological_cr,
    is_mrd_negativity,
    mr4_triggered,
    mr5_molecular_relapse,
    result_errors,
    w11_ngs_retest_due,
)
from protocol.safety import SITE_REPORT_WINDOW, site_report_due, site_report_overdue
from protocol.schedule import (
    BLINATUMOMAB_REDUCED_DOSE,
    DEFAULT_SETTINGS,
    INFUSION_DAYS_PER_CYCLE,
    NEW_CYCLE_AFTER_INTERRUPTION,
    WEEK_18,
    BlinatumomabRule,
    InterruptionOutcome,
    VisitCode,
    interruption_outcome,
    study_day,
)

__all__ = [  # the facts are defined in protocol/facts.py and used from here
    "ALERT_RULES",
    "Actor",
    "AeCategory",
    "AeFact",
    "AlertRule",
    "CycleEndReason",
    "CycleFact",
    "DecisionFact",
    "DecisionKind",
    "DoseChangeFact",
    "DoseChangeKind",
    "Finding",
    "InterruptionFact",
    "InterruptionReason",
    "LabFact",
    "MrdFact",
    "Severity",
    "SubjectFacts",
    "VisitFact",
    "evaluate",
]

# --- Thresholds of TX-HEP, TX-CRS, TX-NEU not written elsewhere --------------------------------

TX_INTERRUPT_GRADE = 3  # TX-HEP, TX-CRS, TX-NEU: grade >= 3 during infusion -> stop
TX_DISCONTINUE_GRADE = 4  # TX-CRS, TX-NEU: grade 4 -> discontinue; TX-HEP: consider
TX_RECOVERED_MAX_GRADE = 1  # TX-HEP, TX-NEU: restart once back to <= grade 1
# TX-HEP: ALT/AST > 5 x ULN, bilirubin > 3 x ULN: the tops of CTCAE grade 2 (the grading table)
TX_HEP_AMINOTRANSFERASE_TIMES_ULN = AMINOTRANSFERASE_BY_ULN.grade_2_to
TX_HEP_BILIRUBIN_TIMES_ULN = BILIRUBIN_BY_ULN.grade_2_to
TX_NEU_MAX_SEIZURES = 1  # TX-NEU: more than one seizure -> discontinue
TX_NEU_RECOVERY_DAYS = 3  # TX-NEU: interrupt until <= grade 1 for at least 3 days
TX_NEU_RESOLUTION = timedelta(days=7)  # TX-NEU: > 7 days to resolve -> discontinue
# BL-2, BL-4: a new cycle restarts at 9 ug/day and steps up to 28 after 7 days, the
# shape of the BD-2 plan
NEW_CYCLE_PLAN = tuple(blinatumomab_start_plan(BlinatumomabRule.BD_2))

ONE_DAY = timedelta(days=1)
_TX_HEP_TESTS = {
    LabTest.ALT: TX_HEP_AMINOTRANSFERASE_TIMES_ULN,
    LabTest.AST: TX_HEP_AMINOTRANSFERASE_TIMES_ULN,
    LabTest.BILIRUBIN: TX_HEP_BILIRUBIN_TIMES_ULN,
}


# --- Findings --------------------------------------------------------------------------------


class Severity(StrEnum):
    URGENT = "urgent"
    WARNING = "warning"
    INFO = "info"


class Actor(StrEnum):
    """Who must act: the roles of the app (the sponsor acts as sponsor safety)."""

    INVESTIGATOR = "investigator"
    MONITOR = "monitor"
    DATA_MANAGER = "data_manager"
    CENTRAL_LAB = "central_lab"
    SPONSOR_SAFETY = "sponsor"


@dataclass(frozen=True)
class Finding:
    """One alert condition that holds now, for the record that triggered it."""

    rule: str
    severity: Severity
    message: str
    record: str
    actors: frozenset[Actor]
    clears_when: str
    reference: str

    @property
    def key(self) -> tuple[str, str]:
        """The stable key (rule, triggering record) the caller reconciles alerts by."""
        return (self.rule, self.record)


def _finding(rule: str, record: str, message: str, reference: str) -> Finding:
    """A finding of the alert `rule`, with its severity, actors and clearing from the registry."""
    alert = ALERT_RULES[rule]
    return Finding(
        rule, alert.severity, message, record, alert.actors, alert.clears_when, reference
    )


# --- Small helpers ---------------------------------------------------------------------------


def _decided(facts: SubjectFacts, kind: DecisionKind, about: str | None = None) -> bool:
    """A decision of `kind` is documented (about the record `about`, when given)."""
    return any(d.kind == kind and (about is None or d.about == about) for d in facts.decisions)


def _when(moment: datetime) -> str:
    """'2026-03-14 10:00 CET': the site's wall clock with its zone (facts come in local time)."""
    zone = moment.strftime("%Z") if moment.tzinfo is not None else ""
    return f"{moment:%Y-%m-%d %H:%M}" + (f" {zone}" if zone else "")


def _ug(dose: Decimal) -> str:
    return f"{dose.normalize():f} µg/day"


def _day(facts: SubjectFacts, on: date) -> str:
    return f"{on.isoformat()}, study day {study_day(facts.day1, on)}"


def _duration(span: timedelta) -> str:
    """'7 days 1 min', '8 days 2 h' for messages."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} day" + ("s" if days != 1 else "")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes or not parts else []
    return " ".join(parts)


def _ratio(times_uln: Decimal, threshold: Decimal) -> str:
    """'6.0', '5.01': cut to 2 decimals, but never shown at the threshold when above it."""
    cut = times_uln.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    shown = times_uln if cut <= threshold < times_uln else cut
    text = f"{shown.normalize():f}"
    return text if "." in text else f"{text}.0"


def _timepoint(value: str) -> Timepoint | None:
    try:
        return Timepoint(value)
    except ValueError:
        return None


# --- The infusion ----------------------------------------------------------------------------


def _course(cycle: CycleFact) -> InfusionCourse:
    return InfusionCourse(
        start=cycle.start,
        end=cycle.end,
        dose_changes=tuple(DoseChange(c.at, c.ug_per_day) for c in cycle.dose_changes),
        interruptions=tuple(
            InterruptionPeriod(i.start, i.end, i.reason) for i in cycle.interruptions
        ),
    )


def _runs_at(cycle: CycleFact, at: datetime) -> bool:
    """The infusion runs at `at`: within start .. end and not interrupted (as current_dose)."""
    if at < cycle.start or (cycle.end is not None and at >= cycle.end):
        return False
    return not any(i.start <= at and (i.end is None or at < i.end) for i in cycle.interruptions)


def _running_spans(
    cycle: CycleFact, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches of start .. end during which the infusion of `cycle` ran."""
    low = max(start, cycle.start)
    high = end if cycle.end is None else min(end, cycle.end)
    spans = [(low, high)] if low < high else []
    for interruption in cycle.interruptions:
        off_end = high if interruption.end is None else interruption.end
        if off_end <= interruption.start:
            continue
        spans = [
            piece
            for s, e in spans
            for piece in ((s, min(e, interruption.start)), (max(s, off_end), e))
            if piece[0] < piece[1]
        ]
    return spans


@dataclass(frozen=True)
class _OnsetInfusion:
    """The cycle whose infusion ran on an adverse event's onset date."""

    cycle: CycleFact
    day_start: datetime
    spans: tuple[tuple[datetime, datetime], ...]

    def doses(self) -> set[Decimal]:
        """The doses that ran on the onset date."""
        course = _course(self.cycle)
        doses = {current_dose(course, start) for start, _ in self.spans}
        for change in self.cycle.dose_changes:
            if any(start < change.at < end for start, end in self.spans):
                doses.add(change.ug_per_day)
        return {dose for dose in doses if dose is not None}

    def deadline(self) -> datetime:
        """The end of the time in which stopping the infusion answers the event."""
        return _response_deadline(self.cycle, self.day_start.date())

    def stopped(self) -> bool:
        """The infusion was stopped on the onset date or the next (an interruption, or the end
        of the cycle): TX-CRS/TX-NEU answered (a later stop for another reason is not)."""
        return _answered(self.cycle, self.day_start, self.deadline())


def _infusion_on(facts: SubjectFacts, onset: date) -> _OnsetInfusion | None:
    """The latest cycle whose infusion ran at some moment of the date `onset`."""
    found = None
    for cycle in sorted(facts.cycles, key=lambda c: (c.start, c.cycle, c.record)):
        day_start = datetime.combine(onset, time.min, tzinfo=cycle.start.tzinfo)
        spans = _running_spans(cycle, day_start, day_start + ONE_DAY)
        if spans:
            found = _OnsetInfusion(cycle, day_start, tuple(spans))
    return found


# --- Answering a toxicity during the infusion (TX-HEP, TX-CRS, TX-NEU) --------------------------

# Reading of AL-HEP/AL-CRS/AL-NEU "an interruption covers the lab date" (docs, section 9): the
# infusion must be stopped on the day of the sample (or onset) or the next, the time a result
# takes to reach the ward. A later interruption for another reason, or the end of the cycle
# weeks later, does not answer it: a toxicity nobody answered is a deviation to be explained.
TX_RESPONSE_DAYS = 1
LATE_ENTRY = ONE_DAY  # a record entered this long after the fact says so in the finding


def _midnight(on: date, tzinfo) -> datetime:
    return datetime.combine(on, time.min, tzinfo=tzinfo)


def _response_deadline(cycle: CycleFact, on: date) -> datetime:
    """The end of the time in which an interruption answers a toxicity of the date `on`."""
    return _midnight(on + timedelta(days=1 + TX_RESPONSE_DAYS), cycle.start.tzinfo)


def _answered(cycle: CycleFact, since: datetime, deadline: datetime) -> bool:
    """The infusion of `cycle` was stopped between `since` and `deadline`: an interruption
    started, or the cycle ended (discontinued, or continued as a new cycle)."""
    if cycle.end is not None and since <= cycle.end < deadline:
        return True
    return any(since <= i.start < deadline for i in cycle.interruptions)


def _late(entered_at: datetime | None, happened: datetime) -> str:
    """' (entered 9 days after the sample)' when a record came in after the fact."""
    if entered_at is None or span(happened, entered_at) < LATE_ENTRY:
        return ""
    days = span(happened, entered_at).days
    return f" (entered {days} day{'s' if days != 1 else ''} after the fact)"


def _unanswered(what: str, deadline: datetime) -> str:
    return (
        f"no interruption followed it by {_when(deadline)}: {what}. Record the interruption if "
        "the infusion was stopped, or why it continued (a deviation to be justified)."
    )


# --- AL-HEP, AL-HEP-RESTART (TX-HEP) ---------------------------------------------------------


def tx_hep_met(lab: LabFact) -> bool:
    """TX-HEP: ALT/AST grade >= 3 or > 5 x ULN, or total bilirubin > 3 x ULN.

    5.0 x ULN exactly is grade 2 and does not meet it.
    """
    try:
        test = LabTest(lab.test)
    except ValueError:
        return False
    if test not in _TX_HEP_TESTS:
        return False
    above = lab.times_uln is not None and lab.times_uln > _TX_HEP_TESTS[test]
    # TX-HEP: the grade criterion is for ALT/AST; bilirubin counts by its ULN
    graded = test != LabTest.BILIRUBIN and lab.grade is not None and lab.grade >= TX_INTERRUPT_GRADE
    return above or graded


def al_hep(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-HEP: TX-HEP met by a lab sampled while the infusion runs.

    Clears when the infusion of that cycle was stopped on the sample's day (from the sample on)
    or the next (an interruption, or the end of the cycle), or by a "hep_justification"
    decision about the lab. However late the lab is entered: unanswered, it is a deviation.
    """
    findings = []
    for lab in facts.labs:
        if not tx_hep_met(lab):
            continue
        cycle = next((c for c in facts.cycles if _runs_at(c, lab.sampled_at)), None)
        if cycle is None or _decided(facts, DecisionKind.HEP_JUSTIFICATION, lab.record):
            continue
        deadline = _response_deadline(cycle, lab.sampled_at.date())
        if _answered(cycle, lab.sampled_at, deadline):
            continue  # AL-HEP: an interruption covers the lab date
        test = LabTest(lab.test)
        value = test.label
        if lab.times_uln is not None:
            value += f" {_ratio(lab.times_uln, _TX_HEP_TESTS[test])} × ULN"
        if lab.grade is not None:
            value += f" (grade {lab.grade})"
        action = "interrupt blinatumomab (TX-HEP)"
        if lab.grade is not None and lab.grade >= TX_DISCONTINUE_GRADE:
            action = (
                f"interrupt blinatumomab and consider permanent discontinuation (TX-HEP: grade "
                f"{lab.grade})"
            )
        head = (
            f"{value} on {_day(facts, lab.sampled_at.date())}, during the blinatumomab infusion "
            f"(cycle {cycle.cycle}){_late(lab.entered_at, lab.sampled_at)}: "
        )
        if now < deadline:
            message = head + f"{action}, or record why the infusion continues."
        else:
            message = head + _unanswered(f"TX-HEP asked to {action}", deadline)
        findings.append(_finding("AL-HEP", lab.record, message, "TX-HEP, AL-HEP"))
    return findings


def _latest_lab(labs: Iterable[LabFact], test: LabTest, after: datetime | None) -> LabFact | None:
    """The latest `test` value (sampled after `after`, when given); ties: the last given."""
    candidates = [
        (lab.sampled_at, i, lab)
        for i, lab in enumerate(labs)
        if lab.test == test and (after is None or lab.sampled_at > after)
    ]
    return max(candidates, key=lambda c: c[:2])[2] if candidates else None


def tx_hep_recovered(labs: Iterable[LabFact], since: datetime) -> list[LabFact] | None:
    """TX-HEP: ALT/AST back to <= grade 1 since `since`: the latest ALT and AST
    values, or None while they are not.

    At least one of them must be sampled after `since`; a test not measured since then counts
    by its latest earlier value (a grade 3 AST not re-measured keeps the infusion stopped),
    and a test never measured is not required. A value without a grade is not recovered.
    """
    labs = tuple(labs)
    tests = (LabTest.ALT, LabTest.AST)
    if all(_latest_lab(labs, test, since) is None for test in tests):
        return None
    latest = [_latest_lab(labs, test, since) or _latest_lab(labs, test, None) for test in tests]
    known = [lab for lab in latest if lab is not None]
    if all(lab.grade is not None and lab.grade <= TX_RECOVERED_MAX_GRADE for lab in known):
        return known
    return None


def al_hep_restart(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-HEP-RESTART: interrupted for TX-HEP (reason hepatic, still open) and ALT/AST are
    back to <= grade 1 (tx_hep_recovered): restart at 9 ug/day (BL-4). Clears when the
    interruption ends (restart recorded)."""
    findings = []
    for cycle in facts.cycles:
        if cycle.end is not None:
            continue
        for interruption in cycle.interruptions:
            if interruption.reason != InterruptionReason.HEPATIC or interruption.end is not None:
                continue
            latest = tx_hep_recovered(facts.labs, interruption.start)
            if latest is None:
                continue
            values = " and ".join(
                f"{LabTest(lab.test).label} grade {lab.grade} on {lab.sampled_at:%Y-%m-%d}"
                for lab in latest
            )
            continue_by = after(interruption.start, NEW_CYCLE_AFTER_INTERRUPTION)
            message = (
                f"{values}: back to grade {TX_RECOVERED_MAX_GRADE} or less since the hepatic "
                f"interruption from {_when(interruption.start)}. Restart blinatumomab at "
                f"{_ug(BLINATUMOMAB_REDUCED_DOSE)} with dexamethasone premedication (TX-HEP, "
                f"BL-4, BL-5), by {_when(continue_by)} to continue cycle {cycle.cycle} (BL-1), "
                "and record the restart."
            )
            findings.append(
                _finding(
                    "AL-HEP-RESTART",
                    interruption.record,
                    message,
                    "TX-HEP, BL-4, AL-HEP-RESTART",
                )
            )
    return findings


# --- AL-CRS, AL-NEU (TX-CRS, TX-NEU) ---------------------------------------------------------


def al_crs(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-CRS: CRS grade >= 3 with onset during the infusion (TX-CRS): grade 3 interrupt,
    grade 4 discontinue permanently. Clears by an interruption, or the end of the cycle, on
    the onset date or the next (_OnsetInfusion.stopped)."""
    findings = []
    for ae in facts.aes:
        if ae.category != AeCategory.CRS or ae.grade < TX_INTERRUPT_GRADE:
            continue
        infusion = _infusion_on(facts, ae.onset)
        if infusion is None or infusion.stopped():
            continue
        if ae.grade >= TX_DISCONTINUE_GRADE:
            action = f"discontinue blinatumomab permanently (TX-CRS: grade {ae.grade})"
        else:
            action = (
                "interrupt blinatumomab and give dexamethasone; restart at "
                f"{_ug(BLINATUMOMAB_REDUCED_DOSE)} when resolved (TX-CRS, BL-4)"
            )
        message = _onset_message(
            f"Cytokine release syndrome grade {ae.grade}, onset {_day(facts, ae.onset)}, during "
            f"the blinatumomab infusion (cycle {infusion.cycle.cycle})",
            ae, infusion, action, "TX-CRS", now,
        )  # fmt: skip
        findings.append(_finding("AL-CRS", ae.record, message, "TX-CRS, AL-CRS"))
    return findings


def _onset_message(
    head: str, ae: AeFact, infusion: _OnsetInfusion, action: str, rule: str, now: datetime
) -> str:
    """The action while it can still be taken; once the time to stop the infusion has passed,
    the deviation to answer (entered late or not)."""
    late = _late(ae.entered_at, infusion.day_start)
    deadline = infusion.deadline()
    if now < deadline:
        return f"{head}{late}: {action}."
    return f"{head}{late}: " + _unanswered(f"{rule} asked to {action}", deadline)


def tx_neu_discontinue_reasons(ae: AeFact, doses: set[Decimal], today: date) -> list[str]:
    """TX-NEU: why a grade >= 3 neurological event means permanent discontinuation:
    grade 4, more than one seizure, at 9 ug/day, or more than 7 days to resolve."""
    reasons = []
    if ae.grade >= TX_DISCONTINUE_GRADE:
        reasons.append(f"grade {ae.grade}")
    if ae.seizure_count > TX_NEU_MAX_SEIZURES:
        reasons.append(f"{ae.seizure_count} seizures")
    if BLINATUMOMAB_REDUCED_DOSE in doses:
        reasons.append(f"it began while blinatumomab ran at {_ug(BLINATUMOMAB_REDUCED_DOSE)}")
    lasted = (ae.end if ae.end is not None else today) - ae.onset
    if lasted > TX_NEU_RESOLUTION:
        resolved = "resolved" if ae.end is not None else "not resolved"
        reasons.append(f"{resolved} after more than {TX_NEU_RESOLUTION.days} days")
    return reasons


def al_neu(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-NEU: neurological event grade >= 3 with onset during the infusion (TX-NEU).

    Clears by an interruption, or the end of the cycle, on the onset date or the next.
    """
    findings = []
    for ae in facts.aes:
        if ae.category != AeCategory.NEUROLOGICAL or ae.grade < TX_INTERRUPT_GRADE:
            continue
        infusion = _infusion_on(facts, ae.onset)
        if infusion is None or infusion.stopped():
            continue
        reasons = tx_neu_discontinue_reasons(ae, infusion.doses(), now.date())
        if reasons:
            action = f"discontinue blinatumomab permanently (TX-NEU: {'; '.join(reasons)})"
        else:
            action = (
                f"interrupt blinatumomab until grade {TX_RECOVERED_MAX_GRADE} or less for at "
                f"least {TX_NEU_RECOVERY_DAYS} days, then restart at "
                f"{_ug(BLINATUMOMAB_REDUCED_DOSE)} (TX-NEU, BL-4)"
            )
        message = _onset_message(
            f"Neurological event grade {ae.grade}, onset {_day(facts, ae.onset)}, during the "
            f"blinatumomab infusion (cycle {infusion.cycle.cycle})",
            ae, infusion, action, "TX-NEU", now,
        )  # fmt: skip
        findings.append(_finding("AL-NEU", ae.record, message, "TX-NEU, AL-NEU"))
    return findings


# --- AL-DOSE (BD-1, BD-2, BL-4) --------------------------------------------------------------


def dose_plan(facts: SubjectFacts, cycle: CycleFact) -> list[DoseStep] | None:
    """The plan a cycle's doses are judged by: BD-1/BD-2 for cycle 1 (None when BD-1 lacks the
    day-11 blasts), and a restart at 9 ug/day for a new cycle (BL-2, BL-4)."""
    if cycle.cycle != 1:
        return list(NEW_CYCLE_PLAN)
    try:
        return blinatumomab_start_plan(
            BlinatumomabRule(facts.blinatumomab_rule), facts.day11_blasts
        )
    except ValueError:
        return None


def al_dose(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-DOSE: a dose change to a dose that infusion.allowed_doses_at does not allow then.

    Clears by a "dose_deviation_reason" decision about it, or a later dose change of that cycle
    to another dose that is allowed at its time (corrected).
    """
    findings = []
    for cycle in facts.cycles:
        plan = dose_plan(facts, cycle)
        if plan is None:
            continue
        course = _course(cycle)
        for change in cycle.dose_changes:
            if cycle.end is not None and change.at >= cycle.end:
                continue  # never ran in this cycle (a restart recorded at the cycle's end)
            expected = allowed_doses_at(course, plan, change.at)
            if change.ug_per_day in expected:
                continue
            corrected = any(
                later.at > change.at
                and later.ug_per_day != change.ug_per_day
                and later.ug_per_day in allowed_doses_at(course, plan, later.at)
                for later in cycle.dose_changes
            )
            if corrected or _decided(facts, DecisionKind.DOSE_DEVIATION_REASON, change.record):
                continue
            findings.append(_dose_finding(facts, cycle, course, change, expected))
    return findings


def _dose_finding(
    facts: SubjectFacts,
    cycle: CycleFact,
    course: InfusionCourse,
    change: DoseChangeFact,
    expected: tuple[Decimal, ...],
) -> Finding:
    restarts = [i.end for i in cycle.interruptions if i.end is not None and i.end <= change.at]
    if restarts:
        rule, why = "BL-4", f"BL-4 after the restart at {_when(max(restarts))}"
    elif cycle.cycle != 1:
        rule, why = "BL-2, BL-4", f"BL-4: a new cycle restarts at {_ug(BLINATUMOMAB_REDUCED_DOSE)}"
    else:
        rule, why = facts.blinatumomab_rule, f"the {facts.blinatumomab_rule} start plan"
    day = min(infusion_day_at(course, change.at), INFUSION_DAYS_PER_CYCLE)
    kind = str(change.kind).replace("_", "-") or "dose change"
    message = (
        f"Blinatumomab {_ug(change.ug_per_day)} from {_when(change.at)} ({kind}; cycle "
        f"{cycle.cycle}, infusion day {day}, study day {study_day(facts.day1, change.at.date())}): "
        f"the protocol allows {' or '.join(_ug(d) for d in expected)} then ({why}); correct the "
        "dose or record the reason for the deviation."
    )
    return _finding("AL-DOSE", change.record, message, f"{rule}, AL-DOSE")


# --- AL-INT-LONG (BL-2, BL-3) ----------------------------------------------------------------


def al_int_long(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-INT-LONG: an interruption of more than 7 days so far (BL-2: new cycle) or more than
    the protocol setting (BL-3: discontinue), one finding per interruption.

    Clears by a later cycle started at or after it, or the end of its cycle as discontinued
    or new_cycle.
    """
    findings = []
    for cycle in facts.cycles:
        ended = cycle.end is not None and cycle.end_reason in (
            CycleEndReason.DISCONTINUED,
            CycleEndReason.NEW_CYCLE,
        )
        for interruption in cycle.interruptions:
            length = InterruptionPeriod(interruption.start, interruption.end).duration(now)
            outcome = interruption_outcome(length, facts.settings)
            if outcome == InterruptionOutcome.CONTINUE_CYCLE or ended:
                continue
            if any(
                c.record != cycle.record and c.start >= interruption.start for c in facts.cycles
            ):
                continue
            findings.append(_int_long_finding(facts, cycle, interruption, length, outcome))
    return findings


def _int_long_finding(
    facts: SubjectFacts,
    cycle: CycleFact,
    interruption: InterruptionFact,
    length: timedelta,
    outcome: InterruptionOutcome,
) -> Finding:
    limit = facts.settings.interruption_discontinue_days
    if interruption.end is None:
        what = f"Blinatumomab interrupted since {_when(interruption.start)}"
    else:
        what = (
            f"Blinatumomab was interrupted from {_when(interruption.start)} to "
            f"{_when(interruption.end)}"
        )
    what += (
        f" ({interruption.reason or 'no reason given'}, cycle {cycle.cycle}): {_duration(length)}"
    )
    if outcome == InterruptionOutcome.DISCONTINUE:
        rule = "BL-3"
        action = (
            f"more than {limit} days: discontinue blinatumomab (BL-3) and record the "
            "discontinuation."
        )
    elif interruption.end is None:
        rule = "BL-2"
        action = (
            f"more than {NEW_CYCLE_AFTER_INTERRUPTION.days} days: the restart is a new cycle of "
            f"{INFUSION_DAYS_PER_CYCLE} infusion days at {_ug(BLINATUMOMAB_REDUCED_DOSE)} (BL-2, "
            f"BL-4); discontinue if not restarted by "
            f"{_when(after(interruption.start, timedelta(days=limit)))} (BL-3)."
        )
    else:
        rule = "BL-2"
        action = (
            f"more than {NEW_CYCLE_AFTER_INTERRUPTION.days} days: record the restart as a new "
            f"cycle (BL-2): end cycle {cycle.cycle} with reason new cycle."
        )
    return _finding("AL-INT-LONG", interruption.record, f"{what}, {action}", f"{rule}, AL-INT-LONG")


# --- AL-MRD-TRIGGER, AL-MOL-RELAPSE (MR-4, MR-5) ----------------------------------------------


def _mrd_results(facts: SubjectFacts) -> list[tuple[MrdFact, MrdResult]]:
    """Results in sampling order, carrying the fact's timepoint and study day; results the form
    would refuse are left out."""
    ordered = sorted(enumerate(facts.mrd), key=lambda pair: (pair[1].study_day, pair[0]))
    results = []
    for _, fact in ordered:
        result = replace(
            fact.result, timepoint=_timepoint(fact.timepoint), study_day=fact.study_day
        )
        if not result_errors(result):
            results.append((fact, result))
    return results


def _mrd_value(fact: MrdFact, result: MrdResult) -> str:
    shown = format_mrd(result.value) if result.value is not None else str(result.result_class)
    return (
        f"MRD {shown} (≥ {format_mrd(MRD_THRESHOLD)}) at {fact.timepoint}, study day "
        f"{fact.study_day}"
    )


_REFERRAL_ACTION = (
    "reconfirm CD19 expression and record the referral decision: 1–2 cycles of blinatumomab, "
    "then HSCT, or the reason they are not given."
)


def _relapsed_by(facts: SubjectFacts, day: int) -> bool:
    """A haematological relapse is recorded on or before study day `day`."""
    return any(study_day(facts.day1, relapse) <= day for relapse in facts.relapses)


def _in_cr_on(facts: SubjectFacts, day: int) -> bool:
    """In haematological CR on study day `day`: CR or CRi at day 40, and no haematological
    relapse recorded on or before that day (a relapse marrow is not a CR sample)."""
    return is_haematological_cr(facts.day40_response) and not _relapsed_by(facts, day)


def al_mrd_referral(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-MOL-RELAPSE (MR-5) and AL-MRD-TRIGGER (MR-4), one per MRD result; MR-5 wins.

    MR-4 needs the day-40 haematological CR. Clears by an "mrd_referral" decision about it.
    The registry runs the two alerts apart: al_mrd_trigger and al_mol_relapse.
    """
    results = _mrd_results(facts)
    findings = []
    for fact, result in results:
        if _decided(facts, DecisionKind.MRD_REFERRAL, fact.record):
            continue
        sampled_on = facts.day1 + timedelta(days=fact.study_day - 1)
        if any(start >= sampled_on for start in facts.mrd_blinatumomab_started):
            continue  # the referral was acted on: the course is given (MR-4, MR-5)
        if _relapsed_by(facts, fact.study_day):
            continue  # a marrow at or after a haematological relapse is not MR-4's or MR-5's
        previous = [r for f, r in results if f.study_day < fact.study_day]
        value = _mrd_value(fact, result)
        if mr5_molecular_relapse(previous, result):
            negative_day = next(r.study_day for r in previous if is_mrd_negativity(r))
            message = (
                f"{value}, after MRD negativity on study day {negative_day}: molecular relapse "
                f"(MR-5), an event for event-free survival; {_REFERRAL_ACTION}"
            )
            reference = "MR-5, AL-MOL-RELAPSE"
            findings.append(_finding("AL-MOL-RELAPSE", fact.record, message, reference))
        elif mr4_triggered(
            result, result.timepoint, fact.study_day, _in_cr_on(facts, fact.study_day)
        ):
            message = (
                f"{value}, in haematological CR ({facts.day40_response} at day 40, no relapse "
                f"recorded): MRD-triggered blinatumomab (MR-4); {_REFERRAL_ACTION}"
            )
            reference = "MR-4, AL-MRD-TRIGGER"
            findings.append(_finding("AL-MRD-TRIGGER", fact.record, message, reference))
    return findings


def al_mrd_trigger(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-MRD-TRIGGER (MR-4), for the results where MR-5 does not win (al_mrd_referral)."""
    return [f for f in al_mrd_referral(facts, now) if f.rule == "AL-MRD-TRIGGER"]


def al_mol_relapse(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-MOL-RELAPSE (MR-5): molecular relapse after MRD negativity (al_mrd_referral)."""
    return [f for f in al_mrd_referral(facts, now) if f.rule == "AL-MOL-RELAPSE"]


# --- AL-W11-NGS, AL-W11-MISSING (MR-3) -------------------------------------------------------


def al_w11_ngs(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-W11-NGS: the week-11 qPCR result is PNQ and no NGS result is entered yet
    (mrd.w11_ngs_retest_due); the finding names the deciding qPCR result."""
    week11 = [
        (i, fact, replace(fact.result, timepoint=Timepoint.W11, study_day=fact.study_day))
        for i, fact in enumerate(facts.mrd)
        if _timepoint(fact.timepoint) == Timepoint.W11
    ]
    if not w11_ngs_retest_due([result for _, _, result in week11]):
        return []
    qpcr = [(f.study_day, i, f) for i, f, r in week11 if r.method == Method.QPCR]
    fact = max(qpcr, key=lambda entry: entry[:2])[2]
    message = (
        f"Week-11 MRD by qPCR is positive not quantifiable (PNQ), study day {fact.study_day}: "
        "re-test the sample by NGS and enter the NGS result; it decides the primary endpoint "
        "(MR-3)."
    )
    return [_finding("AL-W11-NGS", fact.record, message, "MR-3, AL-W11-NGS")]


def _ended_by(facts: SubjectFacts, visit) -> bool:
    """The subject's study ended (end of study, death) before the visit's window closed."""
    return facts.ended_on is not None and facts.ended_on <= visit.window_end


def al_w11_missing(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-W11-MISSING: no week-11 MRD result once the week-11 visit window has ended, unless
    a "w11_missing_reason" decision is recorded, the visit is recorded as missed (with its
    reason), the study ended before the window closed, or the patient is not evaluable for
    MR-3 (refractory at day 40, no IG/TR target)."""
    if any(_timepoint(f.timepoint) == Timepoint.W11 for f in facts.mrd):
        return []
    if _decided(facts, DecisionKind.W11_MISSING_REASON):
        return []
    # MR-3 counts patients in CR with an IG/TR target: the result is not missing for the others
    if facts.day40_response == REFRACTORY_RESPONSE or facts.igtr_target is False:
        return []
    findings = []
    for visit in facts.visits:
        if visit.code != VisitCode.WEEK_11 or visit.window_end is None:
            continue
        if now.date() <= visit.window_end or visit.missed or _ended_by(facts, visit):
            continue
        message = (
            f"No week-11 MRD result, and the week-11 window ended on "
            f"{visit.window_end.isoformat()}: the primary endpoint (MR-3) is missing; enter the "
            "result, or record why it is missing."
        )
        reference = "MR-3, §1 visit windows, AL-W11-MISSING"
        findings.append(_finding("AL-W11-MISSING", visit.record, message, reference))
    return findings


# --- AL-REFRACTORY, AL-SAE-CLOCK, AL-VISIT-OVERDUE -------------------------------------------


def al_refractory(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-REFRACTORY: the day-40 response is refractory, until off-protocol treatment is
    recorded."""
    if facts.day40_response != REFRACTORY_RESPONSE:
        return []
    if _decided(facts, DecisionKind.OFF_PROTOCOL_TREATMENT) or facts.salvage_started:
        return []  # the off-protocol treatment is recorded: a decision, or the therapy given
    message = (
        "Day-40 response (end of Induction I) is refractory: the patient leaves protocol "
        "treatment; record the off-protocol treatment."
    )
    return [
        _finding(
            "AL-REFRACTORY",
            facts.day40_response_record,
            message,
            "§1 day-40 response, AL-REFRACTORY",
        )
    ]


def al_sae_clock(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-SAE-CLOCK (SA-1): a serious adverse event not reported to the sponsor within 24 hours
    of the site's awareness (safety.site_report_overdue); 24 hours exactly is still on time."""
    findings = []
    hours = int(SITE_REPORT_WINDOW.total_seconds() // 3600)
    for ae in facts.aes:
        if not ae.serious or ae.awareness_at is None or ae.sponsor_notified_at is not None:
            continue
        if not site_report_overdue(ae.awareness_at, None, now):
            continue
        message = (
            f"Serious adverse event ({ae.category}, grade {ae.grade}, onset "
            f"{ae.onset.isoformat()}): the site has known of it since {_when(ae.awareness_at)}, "
            f"and the report to the sponsor was due within {hours} hours, by "
            f"{_when(site_report_due(ae.awareness_at))} (SA-1); report it to the sponsor now "
            "and record the notification."
        )
        reference = "SA-1, AL-SAE-CLOCK"
        findings.append(_finding("AL-SAE-CLOCK", ae.record, message, reference))
    return findings


def al_visit_overdue(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """AL-VISIT-OVERDUE: a visit past the end of its window (before today) without data and not
    marked missed (schedule.VisitStatus.OVERDUE), unless the study ended before its window
    closed."""
    findings = []
    for visit in facts.visits:
        if visit.window_end is None or visit.has_data or visit.missed:
            continue
        if visit.window_end >= now.date() or _ended_by(facts, visit):
            continue
        message = (
            f"{visit.name}: the window ended on {visit.window_end.isoformat()} and no data are "
            "entered; enter the visit data, or mark the visit missed with the reason."
        )
        reference = "§1 visit windows, AL-VISIT-OVERDUE"
        findings.append(_finding("AL-VISIT-OVERDUE", visit.record, message, reference))
    return findings


# --- The registry of alerts (section 9) ----------------------------------------------------

RuleCheck = Callable[[SubjectFacts, datetime], list[Finding]]


@dataclass(frozen=True)
class AlertRule:
    """One alert the rules engine raises, everything about it in one place (one object per
    alert, as clinicedc's Action is one object per action type).

    `check` returns the findings of this alert only; `decision` is the kind of documented
    decision that clears it (None: only the data clear it); `implements` the protocol rule IDs
    it enforces (none for the alerts of section 1: day 40 and visit windows).
    """

    id: str
    text: str  # what the alert is, for people
    severity: Severity
    actors: frozenset[Actor]  # who must act
    clears_when: str  # section 9, last column
    decision: DecisionKind | None
    implements: tuple[str, ...]
    check: RuleCheck


_9 = f"{BLINATUMOMAB_REDUCED_DOSE} µg/day"
_MRD = format_mrd(MRD_THRESHOLD)
_BL2_DAYS = NEW_CYCLE_AFTER_INTERRUPTION.days
_BL3_DAYS = DEFAULT_SETTINGS.interruption_discontinue_days
_I, _M, _DM, _LAB = Actor.INVESTIGATOR, Actor.MONITOR, Actor.DATA_MANAGER, Actor.CENTRAL_LAB
_INTERRUPTED = "interruption or discontinuation recorded"


def _registry(*alerts: AlertRule) -> Mapping[str, AlertRule]:
    by_id = {alert.id: alert for alert in alerts}
    if len(by_id) != len(alerts):
        raise ValueError("two alerts share an ID")
    return MappingProxyType(by_id)


# Section 9, in its order (the order of the findings of one severity).
ALERT_RULES: Mapping[str, AlertRule] = _registry(
    AlertRule(
        id="AL-HEP",
        text=(
            f"TX-HEP met during the blinatumomab infusion: ALT or AST grade {TX_INTERRUPT_GRADE} "
            f"or more (CTCAE v5.0), ALT or AST above {TX_HEP_AMINOTRANSFERASE_TIMES_ULN} × ULN, "
            f"or total bilirubin above {TX_HEP_BILIRUBIN_TIMES_ULN} × ULN: interrupt the infusion."
        ),
        severity=Severity.URGENT,
        actors=frozenset({_I, _M}),
        clears_when="an interruption covers the lab date, or a documented justification",
        decision=DecisionKind.HEP_JUSTIFICATION,
        implements=("TX-HEP",),
        check=al_hep,
    ),
    AlertRule(
        id="AL-HEP-RESTART",
        text=(
            f"The infusion is interrupted for TX-HEP and ALT and AST are now grade "
            f"{TX_RECOVERED_MAX_GRADE} or less: restart at {_9} (BL-4)."
        ),
        severity=Severity.WARNING,
        actors=frozenset({_I}),
        clears_when="restart recorded",
        decision=None,
        implements=("TX-HEP", "BL-4"),
        check=al_hep_restart,
    ),
    AlertRule(
        id="AL-CRS",
        text=(
            f"TX-CRS met: cytokine release syndrome grade {TX_INTERRUPT_GRADE} during the "
            "infusion (interrupt, dexamethasone, restart per BL-4 when resolved) or grade "
            f"{TX_DISCONTINUE_GRADE} (discontinue permanently)."
        ),
        severity=Severity.URGENT,
        actors=frozenset({_I, _M}),
        clears_when=_INTERRUPTED,
        decision=None,
        implements=("TX-CRS",),
        check=al_crs,
    ),
    AlertRule(
        id="AL-NEU",
        text=(
            f"TX-NEU met: neurological event grade {TX_INTERRUPT_GRADE} or more during the "
            f"infusion: interrupt, or discontinue permanently if grade {TX_DISCONTINUE_GRADE}, "
            f"more than {TX_NEU_MAX_SEIZURES} seizure, at {_9} or more than "
            f"{TX_NEU_RESOLUTION.days} days to resolve."
        ),
        severity=Severity.URGENT,
        actors=frozenset({_I, _M}),
        clears_when=_INTERRUPTED,
        decision=None,
        implements=("TX-NEU",),
        check=al_neu,
    ),
    AlertRule(
        id="AL-DOSE",
        text=(
            "A blinatumomab dose differs from the start plan (BD-1/BD-2) or from BL-4 after a "
            "restart for that day."
        ),
        severity=Severity.WARNING,
        actors=frozenset({_I, _M}),
        clears_when="corrected, or deviation reason",
        decision=DecisionKind.DOSE_DEVIATION_REASON,
        implements=("BD-1", "BD-2", "BL-2", "BL-4"),
        check=al_dose,
    ),
    AlertRule(
        id="AL-INT-LONG",
        text=(
            f"An infusion interruption of more than {_BL2_DAYS} days (the restart is a new "
            f"cycle, BL-2) or more than the protocol setting, by default {_BL3_DAYS} days "
            "(discontinue, BL-3)."
        ),
        severity=Severity.WARNING,
        actors=frozenset({_I}),
        clears_when="new cycle or discontinuation recorded",
        decision=None,
        implements=("BL-2", "BL-3"),
        check=al_int_long,
    ),
    AlertRule(
        id="AL-MRD-TRIGGER",
        text=(
            f"MR-4: in CR, MRD of {_MRD} or more at week {WEEK_18} or later: reconfirm CD19 and "
            "refer for 1–2 cycles of blinatumomab, then HSCT."
        ),
        severity=Severity.WARNING,
        actors=frozenset({_I, _DM}),
        clears_when=(
            "referral decision recorded (CD19 result, blinatumomab cycles or reason not given), "
            "or the course given"
        ),
        decision=DecisionKind.MRD_REFERRAL,
        implements=("MR-4",),
        check=al_mrd_trigger,
    ),
    AlertRule(
        id="AL-MOL-RELAPSE",
        text=(
            f"MR-5: MRD of {_MRD} or more after MRD negativity: molecular relapse (an event for "
            "event-free survival); the same referral as MR-4."
        ),
        severity=Severity.WARNING,
        actors=frozenset({_I, _DM}),
        clears_when="referral decision recorded, or the course given",
        decision=DecisionKind.MRD_REFERRAL,
        implements=("MR-5",),
        check=al_mol_relapse,
    ),
    AlertRule(
        id="AL-W11-NGS",
        text=("The week-11 MRD by qPCR is positive not quantifiable (PNQ): re-test by NGS (MR-3)."),
        severity=Severity.INFO,
        actors=frozenset({_LAB}),
        clears_when="NGS result entered",
        decision=None,
        implements=("MR-3",),
        check=al_w11_ngs,
    ),
    AlertRule(
        id="AL-W11-MISSING",
        text="No week-11 MRD result (the primary endpoint, MR-3) after the window.",
        severity=Severity.INFO,
        actors=frozenset({_LAB, _I}),
        clears_when="result entered or reason",
        decision=DecisionKind.W11_MISSING_REASON,
        implements=("MR-3",),
        check=al_w11_missing,
    ),
    AlertRule(
        id="AL-REFRACTORY",
        text="The day-40 response is refractory: off-protocol treatment.",
        severity=Severity.WARNING,
        actors=frozenset({_I, _DM}),
        clears_when="off-protocol treatment recorded (a decision, or the salvage therapy given)",
        decision=DecisionKind.OFF_PROTOCOL_TREATMENT,
        implements=(),
        check=al_refractory,
    ),
    AlertRule(
        id="AL-SAE-CLOCK",
        text=(
            "SA-1 overdue: a serious adverse event not reported to the sponsor within "
            f"{SITE_REPORT_WINDOW.total_seconds() / 3600:.0f} hours of the site's awareness."
        ),
        severity=Severity.URGENT,
        actors=frozenset({_I, Actor.SPONSOR_SAFETY}),
        clears_when="sponsor notification recorded",
        decision=None,
        implements=("SA-1",),
        check=al_sae_clock,
    ),
    AlertRule(
        id="AL-VISIT-OVERDUE",
        text="A visit past the end of its window without data.",
        severity=Severity.INFO,
        actors=frozenset({_I}),
        clears_when="data entered or visit marked missed with reason",
        decision=None,
        implements=(),
        check=al_visit_overdue,
    ),
)
_SEVERITY_ORDER = {Severity.URGENT: 0, Severity.WARNING: 1, Severity.INFO: 2}
_RULE_ORDER = {rule: index for index, rule in enumerate(ALERT_RULES)}


def evaluate(facts: SubjectFacts, now: datetime) -> list[Finding]:
    """Every alert of the registry that holds for the subject at `now`.

    Pure and deterministic: the same facts give the same findings in the same order (urgent
    first, then by rule in the order of the registry, then in the order of the facts), and no two
    findings share a key.
    """
    unique: dict[tuple[str, str], Finding] = {}
    for alert in ALERT_RULES.values():
        for finding in alert.check(facts, now):
            unique.setdefault(finding.key, finding)
    return sorted(
        unique.values(),
        key=lambda f: (_SEVERITY_ORDER[f.severity], _RULE_ORDER[f.rule]),
    )
