"""The live study report: the paper's Table 1, primary endpoint, MRD by timepoint, patient flow
(Figure 1) and survival (Supplementary Figure 2), from plain per-patient records.

Pure (no Django). The caller (exports/reports.py) loads one `PatientRecord` per enrolled
subject of the sites in scope. Records carry no study ID, birth date or other identifier: the
report is aggregate by construction, so a sponsor's copy cannot reveal a patient.

Time 0 for every time-to-event endpoint is study day 1 (rules §1: first day of Pre-Induction),
as the paper counts relapses "after the initiation of treatment"; durations are in days and
shown in months.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from protocol import mrd, safety
from protocol.dosing import BD1_BLASTS_THRESHOLD_PERCENT
from protocol.statistics import (
    ROUNDING_RULE,
    BinomialTest,
    CountPercent,
    ExactProportion,
    FollowUp,
    MedianRange,
    TimeToEventSummary,
    cumulative_incidence,
    exact_proportion,
    follow_up,
    format_p_value,
    format_percent,
    kaplan_meier,
    median_range,
    one_sided_binomial_test,
)

# Paper: "The null hypothesis was based on ... GMALL 07/2003 ... where the rate of MRDneg after
# two induction cycles was 60%. The aim was to improve this to 85 %."
PRIMARY_NULL_RATE = 0.60
PRIMARY_TARGET_RATE = 0.85
PRIMARY_ALPHA = 0.05  # one-sided significance level of the exact binomial test
# Paper: "At the 2-year follow-up ..."; "cumulative incidence of relapse in CR1 at 1 and 2 years"
SURVIVAL_HORIZON_MONTHS = 24
RELAPSE_HORIZONS_MONTHS = (12, 24)

DEFINITIONS: dict[str, str] = {
    "population": (
        "Evaluable patients (Table 1, survival): every enrolled patient except those who "
        "withdrew from the study before the day-40 response assessment (paper: 29 enrolled, "
        "1 withdrew during Induction I, 28 evaluable)."
    ),
    "time_zero": "Time 0 of every time-to-event endpoint: study day 1 (first day of "
    "Pre-Induction, rules §1). Times are shown in months of 365.25/12 days.",
    "last_known_alive": (
        "Last date known alive: the latest of the follow-up contacts, visits, assessments, "
        "MRD samples, MRD-triggered blinatumomab and salvage therapy, HSCT, relapse, second "
        "malignancy and end-of-study dates."
    ),
    "primary_endpoint": (
        "Primary endpoint (MR-3): MRD negativity (MR-1: negative with a sensitivity "
        "of 1E-4 or better) at week 11, among patients in haematological CR (CR or CRi) at "
        "day 40 with an IG/TR target and an evaluable week-11 result; after a qPCR result "
        "positive not quantifiable, the NGS result decides. Exact (Clopper-Pearson) two-sided "
        "95% interval; the hypotheses, the one-sided exact binomial test and the decision "
        "rule are stated with the result."
    ),
    "overall_survival": (
        "Overall survival (OS): from study day 1 to death from any cause; patients alive are "
        "censored at the last date known alive. Kaplan-Meier."
    ),
    "event_free_survival": (
        "Event-free survival (EFS): from study day 1 to the first event: refractory disease at "
        "day 40 (an event at time 0), relapse of any kind (haematological, molecular, CNS), "
        "second malignancy, or death from any cause; censored at the last date known alive. "
        "Kaplan-Meier."
    ),
    "relapse_in_cr1": (
        "Cumulative incidence of relapse in CR1: patients in CR or CRi at day 40, from study "
        "day 1 to the first relapse of any kind; death without a prior relapse is a competing "
        "event; censored at the last date known alive (HSCT in CR1 does not censor). "
        "Aalen-Johansen estimator."
    ),
    "intervals": (
        "Survival 95% intervals: exponential Greenwood (log(-log)) from lifelines; the paper's "
        "published intervals look symmetric (plain Greenwood), so they may differ slightly."
    ),
    "follow_up": (
        "Median follow-up: reverse Kaplan-Meier of the overall survival data (censoring as the "
        "event, death as censoring), evaluable patients; minimum and maximum: the shortest and "
        "longest follow-up of the patients alive at their last contact."
    ),
    "at_risk": (
        "Numbers at risk: patients still followed (neither the event nor censoring earlier) at "
        "0, 6, 12, 18, 24 ... months, under each curve."
    ),
    "rounding": ROUNDING_RULE,
}


# --- Per-patient records -------------------------------------------------------------------


@dataclass(frozen=True)
class RelapseEvent:
    on: date
    kind: str  # "Haematological", "Molecular", "CNS": the eCRF's label


@dataclass(frozen=True)
class TransplantEvent:
    on: date
    in_first_cr: bool
    mrd_triggered: bool


@dataclass(frozen=True)
class PatientRecord:
    """One enrolled patient as the report needs them: no identifier of any kind.

    Baseline values are None until the baseline form is saved. `mrd` holds the deciding
    result (MR-3, mrd.endpoint_result) at D40, W11 and W18, None when there is none.
    """

    site: int
    day1: date
    last_known_alive: date
    age_years: int | None = None
    sex: str | None = None  # "M" / "F"
    leukocytes: Decimal | None = None
    marrow_blasts_percent: Decimal | None = None
    immunophenotype: str | None = None
    karyotype: str | None = None
    ph_like: bool | None = None
    ikzf1plus: bool | None = None
    kmt2a_rearranged: bool | None = None
    cns_status: str | None = None
    igtr_target: bool | None = None
    day11_blasts_percent: Decimal | None = None
    day40_response: str | None = None  # "CR", "CRi", "refractory"
    withdrawn_on: date | None = None  # end of study other than completion or death
    mrd: tuple[tuple[mrd.Timepoint, mrd.MrdResult | None], ...] = ()
    # MR-4, MR-5: referred (a referral decision with cycles planned) and given (a course
    # recorded) are told apart: a referral is not a treatment.
    mrd_triggered_blinatumomab_referred: bool = False
    mrd_triggered_blinatumomab_given: bool = False
    salvage_indications: tuple[str, ...] = ()  # of each salvage therapy: the eCRF's label
    transplants: tuple[TransplantEvent, ...] = ()
    relapses: tuple[RelapseEvent, ...] = ()
    second_malignancies: tuple[date, ...] = ()
    death_on: date | None = None

    @property
    def assessed_at_day40(self) -> bool:
        return self.day40_response is not None

    @property
    def in_cr(self) -> bool:
        return mrd.is_haematological_cr(self.day40_response)

    @property
    def refractory(self) -> bool:
        return self.assessed_at_day40 and not self.in_cr

    @property
    def withdrew_during_induction(self) -> bool:
        return self.withdrawn_on is not None and not self.assessed_at_day40

    @property
    def mrd_evaluable(self) -> bool:
        """rules §7: MRD response is evaluable in CR, with an IG/TR target."""
        return self.in_cr and bool(self.igtr_target)

    @property
    def first_relapse(self) -> RelapseEvent | None:
        return min(self.relapses, key=lambda relapse: relapse.on, default=None)


def evaluable(patients: Sequence[PatientRecord]) -> list[PatientRecord]:
    """DEFINITIONS["population"]: all but those who withdrew before the day-40 assessment."""
    return [p for p in patients if not p.withdrew_during_induction]


# --- Enrolment by site over time -------------------------------------------------------------


@dataclass(frozen=True)
class SiteEnrolment:
    number: int
    name: str
    enrolled: int
    first_month: str | None  # "YYYY-MM" of the first study day 1, None if nobody yet
    last_month: str | None


@dataclass(frozen=True)
class Enrolment:
    """Patients enrolled per site, and cumulative per calendar month of study day 1."""

    sites: tuple[SiteEnrolment, ...]
    months: tuple[str, ...]  # every month from the first to the last enrolment
    cumulative: tuple[tuple[int, ...], ...]  # per site (same order), at the end of each month

    @property
    def total(self) -> int:
        return sum(site.enrolled for site in self.sites)

    @property
    def total_cumulative(self) -> tuple[int, ...]:
        return tuple(sum(column) for column in zip(*self.cumulative, strict=True))


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_range(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def enrolment_by_site(
    patients: Sequence[PatientRecord], sites: Sequence[tuple[int, str]]
) -> Enrolment:
    """Enrolment by site (all enrolled patients, by the month of their study day 1), for every
    site in `sites` ((number, name), in that order), those without patients included."""
    days = sorted(p.day1 for p in patients)
    months = _month_range(days[0], days[-1]) if days else []
    rows, cumulative = [], []
    for number, name in sites:
        own = sorted(p.day1 for p in patients if p.site == number)
        per_month = Counter(_month(day) for day in own)
        running, series = 0, []
        for month in months:
            running += per_month[month]
            series.append(running)
        cumulative.append(tuple(series))
        rows.append(
            SiteEnrolment(
                number=number,
                name=name,
                enrolled=len(own),
                first_month=_month(own[0]) if own else None,
                last_month=_month(own[-1]) if own else None,
            )
        )
    return Enrolment(sites=tuple(rows), months=tuple(months), cumulative=tuple(cumulative))


# --- Table 1 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table1Row:
    """A line of Table 1: a heading (value None), N (%), a pair of N (%), or median (range)."""

    label: str
    value: CountPercent | tuple[CountPercent, CountPercent] | MedianRange | int | str | None
    indent: bool = False

    @property
    def text(self) -> str:
        if self.value is None:
            return ""
        if isinstance(self.value, tuple):
            return " / ".join(str(part) for part in self.value)
        return str(self.value)


@dataclass(frozen=True)
class Table1:
    total: int
    rows: tuple[Table1Row, ...]


@dataclass(frozen=True)
class Table1Choices:
    """The eCRF's codes and labels of the categorical baseline fields, in display order."""

    immunophenotypes: Sequence[tuple[str, str]]
    karyotypes: Sequence[tuple[str, str]]
    cns_statuses: Sequence[tuple[str, str]]


def table_1(patients: Sequence[PatientRecord], choices: Table1Choices) -> Table1:
    """The paper's Table 1 for the evaluable patients: N (%) of all evaluable patients, or
    median (range) of the recorded values. Patients without a baseline (or day-11 assessment)
    yet are counted as "not recorded"."""
    cohort = evaluable(patients)
    total = len(cohort)

    def count(predicate) -> CountPercent:
        return CountPercent(sum(1 for p in cohort if predicate(p)), total)

    def not_recorded(attribute: str) -> list[Table1Row]:
        missing = count(lambda p: getattr(p, attribute) is None)
        return [Table1Row("Not recorded", missing, indent=True)] if missing.count else []

    def categories(heading: str, attribute: str, options) -> list[Table1Row]:
        rows = [Table1Row(heading, None)]
        rows += [
            Table1Row(label, count(lambda p, code=code: getattr(p, attribute) == code), True)
            for code, label in options
        ]
        return rows + not_recorded(attribute)

    threshold = BD1_BLASTS_THRESHOLD_PERCENT  # BD-1: <= 50% / > 50%
    rows = [
        Table1Row("Total evaluable", total),
        Table1Row("Age (years)", median_range(p.age_years for p in cohort)),
        Table1Row("Male / Female", (count(lambda p: p.sex == "M"), count(lambda p: p.sex == "F"))),
        *not_recorded("sex"),
        Table1Row("Leukocyte count in blood (×10⁹/L)", median_range(p.leukocytes for p in cohort)),
        Table1Row("Bone marrow blasts (%)", median_range(p.marrow_blasts_percent for p in cohort)),
        *categories("Immunophenotype", "immunophenotype", choices.immunophenotypes),
        *categories("Karyotype", "karyotype", choices.karyotypes),
        Table1Row("High risk genomic subgroups", None),
        Table1Row("Ph-like", count(lambda p: p.ph_like is True), True),
        Table1Row("IKZF1plus", count(lambda p: p.ikzf1plus is True), True),
        Table1Row("KMT2A rearranged", count(lambda p: p.kmt2a_rearranged is True), True),
        *categories("CNS involvement", "cns_status", choices.cns_statuses),
        Table1Row(
            "Bone marrow blasts on day 11 (%)",
            median_range(p.day11_blasts_percent for p in cohort),
        ),
        Table1Row("Proportion of blasts in bone marrow on day 11", None),
        Table1Row(
            f"≤ {threshold}%",
            count(
                lambda p: p.day11_blasts_percent is not None and p.day11_blasts_percent <= threshold
            ),
            True,
        ),  # fmt: skip
        Table1Row(
            f"> {threshold}%",
            count(
                lambda p: p.day11_blasts_percent is not None and p.day11_blasts_percent > threshold
            ),
            True,
        ),  # fmt: skip
        *not_recorded("day11_blasts_percent"),
    ]
    return Table1(total=total, rows=tuple(rows))


# --- MRD: by timepoint and the primary endpoint ----------------------------------------------


def mrd_by_timepoint(patients: Sequence[PatientRecord]) -> list[mrd.CohortRow]:
    """D40, W11 and W18 rows of protocol.mrd.cohort_table (the MRD response page's table)."""
    return mrd.cohort_table(
        [
            (timepoint, dict(p.mrd).get(timepoint), p.mrd_evaluable)
            for p in patients
            for timepoint in mrd.COHORT_TIMEPOINTS
        ]
    )


def _week11(rows: Sequence[mrd.CohortRow]) -> mrd.CohortRow:
    return next(row for row in rows if row.timepoint == mrd.Timepoint.W11)


def _rate(fraction: float) -> str:
    return format_percent(fraction)


HYPOTHESES = (
    f"H0: the rate of MRD negativity at week 11 is {_rate(PRIMARY_NULL_RATE)} or less "
    f"(GMALL 07/2003 historical rate); H1: it is higher than {_rate(PRIMARY_NULL_RATE)}. "
    f"Target (the rate the trial aimed at): {_rate(PRIMARY_TARGET_RATE)}."
)
DECISION_RULE = (
    f"The target is met when the one-sided exact binomial test rejects H0 "
    f"(p ≤ {PRIMARY_ALPHA}) and the observed rate reaches {_rate(PRIMARY_TARGET_RATE)} "
    f"(k/n ≥ {PRIMARY_TARGET_RATE}, compared exactly, not after rounding). Rejecting H0 alone "
    f"shows a rate above {_rate(PRIMARY_NULL_RATE)}, not that the target was reached."
)


class Decision(StrEnum):
    """The outcome of DECISION_RULE."""

    NO_DATA = "no evaluable result"
    NOT_REJECTED = "null hypothesis not rejected"
    REJECTED_BELOW_TARGET = "null hypothesis rejected, target not met"
    TARGET_MET = "target met"


def _reaches_target(successes: int, trials: int) -> bool:
    """k/n >= the target, compared exactly (21/25 = 0.84 does not reach 0.85)."""
    return Fraction(successes, trials) >= Fraction(str(PRIMARY_TARGET_RATE))


def _observed(successes: int, trials: int) -> str:
    """The observed rate with enough decimals that it never reads as the target when it is
    below it (84.96% is "84.96%", not "85.0%")."""
    target = Fraction(str(PRIMARY_TARGET_RATE)) * 100
    reached = _reaches_target(successes, trials)
    for decimals in range(1, 5):
        text = format_percent(successes / trials, decimals)
        if (Fraction(text[:-1]) >= target) == reached:
            break
    return text


def primary_decision(successes: int, trials: int, p_value: float | None) -> tuple[Decision, str]:
    """DECISION_RULE applied to k = `successes` of n = `trials` with the one-sided p value of
    H0 (None without a test): the decision and its sentence for the report. The one place the
    trial's conclusion is drawn."""
    if not trials or p_value is None:
        return Decision.NO_DATA, "No evaluable week-11 result yet: no test and no conclusion."
    p_text = f"p {format_p_value(p_value)}" if p_value < 0.0001 else f"p = {p_value:.4f}"
    observed = _observed(successes, trials)
    null, target = _rate(PRIMARY_NULL_RATE), _rate(PRIMARY_TARGET_RATE)
    reached = _reaches_target(successes, trials)
    if p_value > PRIMARY_ALPHA:
        patients = f"{trials} patient{'s' if trials != 1 else ''}"
        why = (
            f"the observed {observed} reaches the {target} target, but with {patients} it is "
            f"not significantly above {null}"
            if reached
            else f"the observed {observed} is not significantly above {null}"
        )
        return Decision.NOT_REJECTED, (
            f"Null hypothesis not rejected ({p_text} > {PRIMARY_ALPHA}): {why}: target not met."
        )
    if not reached:
        return Decision.REJECTED_BELOW_TARGET, (
            f"Null hypothesis rejected ({p_text}), but the observed {observed} is below the "
            f"{target} target: target not met."
        )
    return Decision.TARGET_MET, (
        f"Null hypothesis rejected ({p_text}) and the observed {observed} reaches the {target} "
        "target: target met."
    )


@dataclass(frozen=True)
class PrimaryEndpoint:
    """MRD negativity at week 11 (MR-3) with its exact interval, the one-sided test and the
    conclusion DECISION_RULE draws from them."""

    evaluable: int  # in CR at day 40 with an IG/TR target
    without_result: int  # of them: no evaluable week-11 result (yet); not in the denominator
    negativity: ExactProportion
    test: BinomialTest
    decision: Decision = Decision.NO_DATA
    conclusion: str = ""
    null_rate: float = PRIMARY_NULL_RATE
    target_rate: float = PRIMARY_TARGET_RATE
    alpha: float = PRIMARY_ALPHA
    hypotheses: str = HYPOTHESES
    decision_rule: str = DECISION_RULE

    @property
    def null_text(self) -> str:
        return _rate(self.null_rate)

    @property
    def interim(self) -> str:
        """Why the conclusion may still change: evaluable patients without a week-11 result."""
        if not self.without_result:
            return ""
        many = self.without_result != 1
        return (
            f"Interim: {self.without_result} evaluable patient{'s' if many else ''} "
            f"without an evaluable week-11 result yet {'are' if many else 'is'} not counted; "
            "the conclusion may change."
        )


def primary_endpoint(w11: mrd.CohortRow) -> PrimaryEndpoint:
    """DEFINITIONS["primary_endpoint"] from the week-11 row of the MRD cohort table: k = MRD
    negativity, n = evaluable patients with an evaluable week-11 result."""
    if w11.timepoint != mrd.Timepoint.W11:
        raise ValueError(f"The primary endpoint is at week 11, not {w11.timepoint}.")
    with_result = w11.evaluable - w11.missing
    test = one_sided_binomial_test(w11.negative, with_result, PRIMARY_NULL_RATE)
    decision, conclusion = primary_decision(w11.negative, with_result, test.p_value)
    return PrimaryEndpoint(
        evaluable=w11.evaluable,
        without_result=w11.missing,
        negativity=exact_proportion(w11.negative, with_result),
        test=test,
        decision=decision,
        conclusion=conclusion,
    )


# --- Flow of patients (Figure 1) -------------------------------------------------------------


@dataclass(frozen=True)
class PatientFlow:
    enrolled: int
    withdrew_during_induction: int
    died_before_day40: int
    awaiting_day40: int
    assessed_day40: int
    complete_remission: int  # CR or CRi
    refractory: int
    cr_with_target: int
    cr_without_target: int
    week11: mrd.CohortRow
    mrd_triggered_blinatumomab_referred: int  # patients with a referral decision (MR-4, MR-5)
    mrd_triggered_blinatumomab_given: int  # patients with a course recorded as given
    salvage_therapy: int  # patients with any salvage therapy
    salvage_indications: tuple[tuple[str, int], ...]  # patients by indication (one per kind)
    transplanted: int
    transplanted_in_cr1: int
    transplanted_mrd_triggered: int
    relapsed: int
    relapse_kinds: tuple[tuple[str, int], ...]  # kind of the first relapse, by count
    second_malignancy: int
    died: int


def patient_flow(patients: Sequence[PatientRecord]) -> PatientFlow:
    """The counts of the paper's Figure 1: every enrolled patient, each counted once per box."""
    not_assessed = [p for p in patients if not p.assessed_at_day40]
    withdrew = [p for p in not_assessed if p.withdrew_during_induction]
    died_early = [p for p in not_assessed if p.death_on and not p.withdrew_during_induction]
    in_cr = [p for p in patients if p.in_cr]
    week11 = _week11(mrd_by_timepoint(patients))
    first_kinds = Counter(p.first_relapse.kind for p in patients if p.first_relapse)
    indications = Counter(kind for p in patients for kind in set(p.salvage_indications))
    return PatientFlow(
        enrolled=len(patients),
        withdrew_during_induction=len(withdrew),
        died_before_day40=len(died_early),
        awaiting_day40=len(not_assessed) - len(withdrew) - len(died_early),
        assessed_day40=len(patients) - len(not_assessed),
        complete_remission=len(in_cr),
        refractory=sum(1 for p in patients if p.refractory),
        cr_with_target=sum(1 for p in in_cr if p.igtr_target),
        cr_without_target=sum(1 for p in in_cr if not p.igtr_target),
        week11=week11,
        mrd_triggered_blinatumomab_referred=sum(
            1 for p in patients if p.mrd_triggered_blinatumomab_referred
        ),
        mrd_triggered_blinatumomab_given=sum(
            1 for p in patients if p.mrd_triggered_blinatumomab_given
        ),
        salvage_therapy=sum(1 for p in patients if p.salvage_indications),
        salvage_indications=tuple(sorted(indications.items())),
        transplanted=sum(1 for p in patients if p.transplants),
        transplanted_in_cr1=sum(1 for p in patients if any(t.in_first_cr for t in p.transplants)),
        transplanted_mrd_triggered=sum(
            1 for p in patients if any(t.mrd_triggered for t in p.transplants)
        ),
        relapsed=sum(first_kinds.values()),
        relapse_kinds=tuple(sorted(first_kinds.items())),
        second_malignancy=sum(1 for p in patients if p.second_malignancies),
        died=sum(1 for p in patients if p.death_on),
    )


# --- Time to event ---------------------------------------------------------------------------


def _days(p: PatientRecord, on: date) -> int:
    return max((on - p.day1).days, 0)


def overall_survival_data(patients: Sequence[PatientRecord]) -> tuple[list[int], list[bool]]:
    """DEFINITIONS["overall_survival"]: (days from day 1, died) per evaluable patient."""
    cohort = evaluable(patients)
    durations = [_days(p, p.death_on or p.last_known_alive) for p in cohort]
    return durations, [p.death_on is not None for p in cohort]


def event_free_survival_data(patients: Sequence[PatientRecord]) -> tuple[list[int], list[bool]]:
    """DEFINITIONS["event_free_survival"]: (days from day 1 to the first event or censoring,
    event) per evaluable patient; refractory at day 40 is an event at time 0."""
    durations, events = [], []
    for p in evaluable(patients):
        if p.refractory:
            durations.append(0)
            events.append(True)
            continue
        event_dates = [r.on for r in p.relapses] + list(p.second_malignancies)
        event_dates += [p.death_on] if p.death_on else []
        first = min(event_dates, default=None)
        durations.append(_days(p, first or p.last_known_alive))
        events.append(first is not None)
    return durations, events


RELAPSE, DEATH_IN_CR1, CENSORED = 1, 2, 0


def relapse_in_cr1_data(patients: Sequence[PatientRecord]) -> tuple[list[int], list[int]]:
    """DEFINITIONS["relapse_in_cr1"]: (days from day 1, outcome) per patient in CR at day 40;
    outcome 1 relapse, 2 death without a prior relapse (competing), 0 censored."""
    durations, outcomes = [], []
    for p in patients:
        if not p.in_cr:
            continue
        relapse = p.first_relapse
        if relapse is not None and (p.death_on is None or relapse.on <= p.death_on):
            durations.append(_days(p, relapse.on))
            outcomes.append(RELAPSE)
        elif p.death_on is not None:
            durations.append(_days(p, p.death_on))
            outcomes.append(DEATH_IN_CR1)
        else:
            durations.append(_days(p, p.last_known_alive))
            outcomes.append(CENSORED)
    return durations, outcomes


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def events_text(endpoint: str, summary: TimeToEventSummary) -> str:
    """The events of a time-to-event endpoint ("overall", "event_free", "relapse_in_cr1") as
    the report states them next to its figure: "OS: 3 deaths in 28 patients"."""
    patients = _counted(summary.subjects, "patient")
    if endpoint == "overall":
        return f"OS: {_counted(summary.events, 'death')} in {patients}"
    if endpoint == "event_free":
        return (
            f"EFS: {_counted(summary.events, 'event')} in {patients} (refractory at day 40, "
            "relapse, second malignancy or death, whichever came first)"
        )
    if endpoint == "relapse_in_cr1":
        return (
            f"Relapse in CR1: {_counted(summary.events, 'relapse')} and "
            f"{_counted(summary.competing_events, 'death')} without a prior relapse (competing) "
            f"in {patients} in CR at day 40"
        )
    raise ValueError(f"Unknown endpoint {endpoint!r}.")


@dataclass(frozen=True)
class Survival:
    overall: TimeToEventSummary
    event_free: TimeToEventSummary
    relapse_in_cr1: TimeToEventSummary
    follow_up: FollowUp | None = None  # DEFINITIONS["follow_up"], of the OS data

    def events(self, endpoint: str) -> str:
        return events_text(endpoint, getattr(self, endpoint))

    @property
    def endpoints(self) -> tuple[tuple[str, TimeToEventSummary, str], ...]:
        """(key, summary, events sentence) of OS, EFS and relapse in CR1, in the report's order."""
        return tuple(
            (key, getattr(self, key), self.events(key))
            for key in ("overall", "event_free", "relapse_in_cr1")
        )


def survival(patients: Sequence[PatientRecord]) -> Survival:
    horizons = sorted({*RELAPSE_HORIZONS_MONTHS, SURVIVAL_HORIZON_MONTHS})
    os_data = overall_survival_data(patients)
    return Survival(
        overall=kaplan_meier(*os_data, horizons_months=horizons),
        event_free=kaplan_meier(*event_free_survival_data(patients), horizons_months=horizons),
        relapse_in_cr1=cumulative_incidence(
            *relapse_in_cr1_data(patients), horizons_months=horizons
        ),
        follow_up=follow_up(*os_data),
    )


# --- The whole report ------------------------------------------------------------------------


@dataclass(frozen=True)
class AdverseEvents:
    """Table 2 as protocol.safety.ae_summary computes it, for one period."""

    period: str
    treated: int
    rows: tuple[safety.SummaryRow, ...]
    footnote: str = safety.PUBLICATION_FOOTNOTE

    @property
    def publication_rows(self) -> tuple[safety.SummaryRow, ...]:
        """The rows the publication's footnote keeps (safety.PUBLICATION_FOOTNOTE)."""
        return tuple(safety.publication_rows(self.rows))


@dataclass(frozen=True)
class StudyReport:
    as_of: date
    enrolment: Enrolment
    table_1: Table1
    primary_endpoint: PrimaryEndpoint
    mrd_by_timepoint: tuple[mrd.CohortRow, ...]
    adverse_events: AdverseEvents
    flow: PatientFlow
    survival: Survival | None  # None: withheld for a small group (counts_only)
    definitions: dict[str, str] = field(default_factory=lambda: dict(DEFINITIONS))
    counts_only: str = ""  # why only counts are shown, "" when everything is


# A group of fewer patients than this (a report setting of the installation) is shown by its
# counts alone: a median, a range, a month or a survival curve of two patients describes them.
SMALL_GROUP_PATIENTS = 5
WITHHELD = "withheld"


def counts_only(report: StudyReport, minimum: int) -> StudyReport:
    """The report of a group of fewer than `minimum` enrolled patients, with every value that
    could single out a patient withheld: Table 1's medians and ranges, the months of
    enrolment, the survival curves and rates. Counts, percentages and the primary endpoint's
    exact interval stay."""
    rows = tuple(
        replace(row, value=WITHHELD) if isinstance(row.value, MedianRange) else row
        for row in report.table_1.rows
    )
    enrolment = Enrolment(
        sites=tuple(
            replace(site, first_month=None, last_month=None) for site in report.enrolment.sites
        ),
        months=(),
        cumulative=tuple(() for _ in report.enrolment.sites),
    )
    return replace(
        report,
        table_1=replace(report.table_1, rows=rows),
        enrolment=enrolment,
        survival=None,
        counts_only=(
            f"Fewer than {minimum} patients: only counts are shown. Medians, ranges, dates "
            "and survival curves of so few patients could tell who they are."
        ),
    )


def study_report(
    patients: Sequence[PatientRecord],
    *,
    sites: Sequence[tuple[int, str]],
    choices: Table1Choices,
    adverse_events: AdverseEvents,
    as_of: date,
) -> StudyReport:
    cohort_rows = mrd_by_timepoint(patients)
    return StudyReport(
        as_of=as_of,
        enrolment=enrolment_by_site(patients, sites),
        table_1=table_1(patients, choices),
        primary_endpoint=primary_endpoint(_week11(cohort_rows)),
        mrd_by_timepoint=tuple(cohort_rows),
        adverse_events=adverse_events,
        flow=patient_flow(patients),
        survival=survival(patients),
    )


# --- JSON ------------------------------------------------------------------------------------


def _number(value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _table_1_value(value) -> dict | int | None:
    if value is None:
        return None
    if value == WITHHELD:
        return {"withheld": True}
    if isinstance(value, int):
        return {"n": value}
    if isinstance(value, CountPercent):
        return {"n": value.count, "percent": value.percent}
    if isinstance(value, MedianRange):
        return {
            "median": _number(value.median),
            "min": _number(value.minimum),
            "max": _number(value.maximum),
            "n_recorded": value.n,
        }
    return [_table_1_value(part) for part in value]


def _cohort_row(row: mrd.CohortRow) -> dict:
    return {
        "timepoint": str(row.timepoint),
        "evaluable": row.evaluable,
        "negative": row.negative,
        "pnq": row.pnq,
        "quantifiable": row.quantifiable,
        "quantifiable_at_least_1e-4": row.failure,
        "negative_sensitivity_worse_than_1e-4": row.negative_insufficient,
        "no_evaluable_result": row.missing,
    }


def _time_to_event(summary: TimeToEventSummary) -> dict:
    return {
        "kind": summary.kind,
        "patients": summary.subjects,
        "events": summary.events,
        "competing_events": summary.competing_events,
        "median_months": summary.median_months,
        "rates": [
            {
                "months": rate.months,
                "estimate": rate.estimate,
                "ci95": [rate.lower, rate.upper],
                "at_risk": rate.at_risk,
            }
            for rate in summary.rates
        ],
        "interval_method": summary.interval_method,
        "curve": [
            {"months": s.months, "estimate": s.estimate, "ci95": [s.lower, s.upper]}
            for s in summary.steps
        ],
        "censored_months": list(summary.censored_months),
        "at_risk": [{"months": m, "n": n} for m, n in summary.at_risk],
    }


def _follow_up(follow: FollowUp | None) -> dict | None:
    if follow is None:
        return None
    return {
        "method": "reverse Kaplan-Meier (censoring as the event), overall survival data",
        "patients": follow.patients,
        "alive_at_last_contact": follow.censored,
        "median_months": follow.median_months,
        "median_ci95_months": [follow.lower_months, follow.upper_months],
        "minimum_months": follow.minimum_months,
        "maximum_months": follow.maximum_months,
        "text": follow.text,
    }


def _survival(survival: Survival) -> dict:
    data = {
        key: _time_to_event(summary) | {"events_text": text}
        for key, summary, text in survival.endpoints
    }
    return data | {"follow_up": _follow_up(survival.follow_up)}


def _ae_row(row: safety.SummaryRow) -> dict:
    return {
        "label": row.label,
        "category": row.is_category,
        "verbatim_term": row.verbatim,
        "any_grade": row.any_grade,
        "any_grade_percent": _number(row.percent_any),
        "grade_1_2": row.low_grade,
        "grade_3_4": row.severe,
        "grade_3_4_percent": _number(row.percent_severe),
        "grade_5": row.fatal,
        "grade_5_percent": _number(row.percent_fatal),
        "in_publication_footnote_rows": row.in_publication,
    }


def report_json(report: StudyReport) -> dict:
    """The whole report as JSON-ready values; aggregate only (no identifier exists here)."""
    flow = report.flow
    endpoint = report.primary_endpoint
    return {
        "as_of": report.as_of.isoformat(),
        "definitions": report.definitions,
        "enrolment": {
            "total": report.enrolment.total,
            "sites": [
                {
                    "site": site.number,
                    "name": site.name,
                    "enrolled": site.enrolled,
                    "first_month": site.first_month,
                    "last_month": site.last_month,
                    "cumulative_by_month": dict(zip(report.enrolment.months, series, strict=True)),
                }
                for site, series in zip(
                    report.enrolment.sites, report.enrolment.cumulative, strict=True
                )
            ],
            "months": list(report.enrolment.months),
            "total_cumulative_by_month": list(report.enrolment.total_cumulative),
        },
        "table_1": {
            "total_evaluable": report.table_1.total,
            "rows": [
                {
                    "label": row.label,
                    "text": row.text,
                    "value": _table_1_value(row.value),
                    "indent": row.indent,
                }
                for row in report.table_1.rows
            ],
        },
        "primary_endpoint": {
            "evaluable": endpoint.evaluable,
            "without_week11_result": endpoint.without_result,
            "mrd_negative": endpoint.negativity.successes,
            "n": endpoint.negativity.trials,
            "rate": endpoint.negativity.estimate,
            "ci95_exact": [endpoint.negativity.lower, endpoint.negativity.upper],
            "null_rate": endpoint.null_rate,
            "target_rate": endpoint.target_rate,
            "alpha_one_sided": endpoint.alpha,
            "p_value_one_sided": endpoint.test.p_value,
            "hypotheses": endpoint.hypotheses,
            "decision_rule": endpoint.decision_rule,
            "decision": str(endpoint.decision),
            "target_met": endpoint.decision == Decision.TARGET_MET,
            "conclusion": endpoint.conclusion,
            "interim": endpoint.interim,
        },
        "mrd_by_timepoint": [_cohort_row(row) for row in report.mrd_by_timepoint],
        "adverse_events": {
            "period": report.adverse_events.period,
            "treated": report.adverse_events.treated,
            "rows": [_ae_row(row) for row in report.adverse_events.rows],
            "publication_footnote": report.adverse_events.footnote,
            "publication_rows": [_ae_row(row) for row in report.adverse_events.publication_rows],
        },
        "flow": {
            "enrolled": flow.enrolled,
            "withdrew_during_induction": flow.withdrew_during_induction,
            "died_before_day40": flow.died_before_day40,
            "awaiting_day40": flow.awaiting_day40,
            "assessed_day40": flow.assessed_day40,
            "complete_remission": flow.complete_remission,
            "refractory": flow.refractory,
            "cr_with_igtr_target": flow.cr_with_target,
            "cr_without_igtr_target": flow.cr_without_target,
            "week11": _cohort_row(flow.week11),
            "mrd_triggered_blinatumomab_referred": flow.mrd_triggered_blinatumomab_referred,
            "mrd_triggered_blinatumomab_given": flow.mrd_triggered_blinatumomab_given,
            "salvage_therapy": flow.salvage_therapy,
            "salvage_therapy_indications": dict(flow.salvage_indications),
            "hsct": flow.transplanted,
            "hsct_in_cr1": flow.transplanted_in_cr1,
            "hsct_mrd_triggered": flow.transplanted_mrd_triggered,
            "relapsed": flow.relapsed,
            "first_relapse_kinds": dict(flow.relapse_kinds),
            "second_malignancy": flow.second_malignancy,
            "died": flow.died,
        },
        "survival": _survival(report.survival)
        if report.survival is not None
        else {"withheld": True},
        "counts_only": report.counts_only,
    }
