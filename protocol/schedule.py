"""Study days, phases, visits and their windows, protocol versions, blinatumomab cycles.

Source: docs/protocol-rules.md sections 1 and 3, and Supplementary Figure 1 of the Blina-CELL paper.
Day numbers in `Phase` are study days; day numbers in `ConsolidationCycle` are days of that
cycle (day 0 = rituximab, day 1 = first chemotherapy day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

# --- Study days and weeks -------------------------------------------------------------------

DAYS_PER_WEEK = 7  # rules §1: week N = study days 7(N-1)+1 .. 7N

# --- Fixed anchors of the schedule (study days) ---------------------------------------------

PRE_INDUCTION_FIRST_DAY = 1  # rules §1: day 1 = first dexamethasone dose of Pre-Induction
PRE_INDUCTION_LAST_DAY = 7  # rules §1: Pre-Induction days 1-7
DAY_11_ASSESSMENT_DAY = 11  # rules §1: day-11 bone marrow blast % decides the start dose
INDUCTION_I_FIRST_DAY = 12  # rules §1/3: blinatumomab starts on day 12
INDUCTION_I_LAST_DAY = 40  # rules §1: Induction I days 12-40
END_OF_INDUCTION_I_DAY = 40  # rules §1: response and MRD (timepoint D40) on day 40
INDUCTION_II_FIRST_DAY = 50  # rules §1: Induction II from day 50
WEEK_11 = 11  # rules §1, MR-3: week-11 MRD is the primary endpoint
WEEK_18 = 18  # rules §1, MR-4: week-18 MRD

# --- Blinatumomab cycle (rules §3) --------------------------------------------------------

INFUSION_DAYS_PER_CYCLE = 28  # rules §1/3 BL-1: one cycle = 28 infusion days
BLINATUMOMAB_REDUCED_DOSE = Decimal(9)  # BD-1, BD-2, BL-4: reduced dose 9 ug/day
BLINATUMOMAB_TARGET_DOSE = Decimal(28)  # BD-1, BD-2, BL-4: target dose 28 ug/day
NEW_CYCLE_AFTER_INTERRUPTION = timedelta(days=7)  # BL-1, BL-2: > 7 days -> new cycle

# --- CNS prophylaxis ------------------------------------------------------------------------

INTRATHECAL_ADMINISTRATIONS_PLANNED = 9  # rules §1: 9 IT administrations, induction + consol.


@dataclass(frozen=True)
class ProtocolSettings:
    """The "(protocol setting)" values of docs/protocol-rules.md, with their defaults.

    They belong to a protocol version and are shown on the protocol page of the app.
    """

    day_11_window_days: int = 3  # rules §1: day-11 assessment +-3 days
    day_40_window_days: int = 3  # rules §1: day-40 assessment +-3 days
    week_11_window_days: int = 7  # rules §1: week 11 (days 71-77) +-7 days
    week_18_window_days: int = 7  # rules §1: week 18 (days 120-126) +-7 days
    consolidation_interval_days: int = 28  # rules §1: planned interval between cycles
    dose_tolerance_percent: Decimal = Decimal(10)  # rules §2: > 10% away is a deviation
    interruption_discontinue_days: int = 14  # BL-3: interruption > 14 d -> stop

    def __post_init__(self) -> None:
        for name in (
            "day_11_window_days",
            "day_40_window_days",
            "week_11_window_days",
            "week_18_window_days",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.consolidation_interval_days < 1:
            raise ValueError("consolidation_interval_days must be at least 1")
        if self.dose_tolerance_percent < 0:
            raise ValueError("dose_tolerance_percent must not be negative")
        if self.interruption_discontinue_days < NEW_CYCLE_AFTER_INTERRUPTION.days:
            raise ValueError("interruption_discontinue_days must be at least 7 (BL-2)")


DEFAULT_SETTINGS = ProtocolSettings()


# --- Study days ------------------------------------------------------------------------------


def study_day(day1: date, on: date) -> int:
    """Study day of `on` (rules §1): (on - day 1) + 1, with no day 0.

    Dates before day 1 count backwards: the day before day 1 is day -1.
    """
    offset = (on - day1).days
    return offset + 1 if offset >= 0 else offset


def date_of_study_day(day1: date, day: int) -> date:
    """Calendar date of study day `day`; the inverse of `study_day`. Day 0 does not exist."""
    if day == 0:
        raise ValueError("there is no study day 0")
    offset = day - 1 if day > 0 else day
    return day1 + timedelta(days=offset)


def study_week(day: int) -> int:
    """Study week of a study day (rules §1): week N = days 7(N-1)+1 .. 7N."""
    if day < 1:
        raise ValueError(f"study weeks start on study day 1, not {day}")
    return (day - 1) // DAYS_PER_WEEK + 1


def study_days_of_week(week: int) -> tuple[int, int]:
    """First and last study day of study week `week` (week 11 -> (71, 77))."""
    if week < 1:
        raise ValueError(f"study weeks start at week 1, not {week}")
    return DAYS_PER_WEEK * (week - 1) + 1, DAYS_PER_WEEK * week


# --- Drugs and phases (Supplementary Figure 1) -----------------------------------------------


class Drug(StrEnum):
    """Drugs of the protocol, by the abbreviations of Supplementary Figure 1."""

    DEX = "DEX"  # dexamethasone
    CY = "CY"  # cyclophosphamide
    VCR = "VCR"  # vincristine
    DAU = "DAU"  # daunorubicin
    BLINA = "BLINA"  # blinatumomab
    VDS = "VDS"  # vindesine (VIN in the paper)
    MTX = "MTX"  # methotrexate
    VP16 = "VP-16"  # etoposide
    ARAC = "ARAC"  # cytarabine
    PEG_ASP = "PEG-ASP"  # pegylated asparaginase
    MP6 = "6-MP"  # mercaptopurine
    TG = "TG"  # thioguanine
    PDN = "PDN"  # prednisone
    ADR = "ADR"  # adriamycin (doxorubicin)
    RIT = "RIT"  # rituximab


class Unit(StrEnum):
    """Dose units: per m2 of body surface area, or flat."""

    MG_PER_M2 = "mg/m2"
    G_PER_M2 = "g/m2"
    U_PER_M2 = "U/m2"
    MG = "mg"
    UG_PER_DAY = "ug/day"


class Route(StrEnum):
    PO = "PO"  # by mouth
    IV = "IV"  # intravenous
    CIV = "CIV"  # continuous intravenous infusion
    IT = "IT"  # intrathecal


class Frequency(StrEnum):
    LISTED_DAYS = "listed days"
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class DrugDose:
    """One drug of a treatment block: dose per administration, unit, route and days."""

    drug: Drug
    dose: Decimal
    unit: Unit
    route: Route
    days: tuple[int, ...] = ()
    administrations_per_day: int = 1  # PDN 3 x 20 mg/m2, ARAC 2 x 2 g/m2
    frequency: Frequency = Frequency.LISTED_DAYS
    note: str = ""


def _days(first: int, last: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1))


class PhaseName(StrEnum):
    PRE_INDUCTION = "Pre-Induction"
    INDUCTION_I = "Induction I"
    INDUCTION_II = "Induction II"
    CONSOLIDATION = "Consolidation"
    MAINTENANCE = "Maintenance"
    FOLLOW_UP = "Follow-up"


@dataclass(frozen=True)
class Phase:
    """A treatment phase; first/last study day are None where the site sets the date."""

    name: PhaseName
    first_day: int | None
    last_day: int | None
    drugs: tuple[DrugDose, ...] = ()
    note: str = ""


PHASES: tuple[Phase, ...] = (
    Phase(
        PhaseName.PRE_INDUCTION,
        PRE_INDUCTION_FIRST_DAY,
        PRE_INDUCTION_LAST_DAY,
        (
            DrugDose(Drug.DEX, Decimal(10), Unit.MG_PER_M2, Route.PO, _days(1, 7)),
            DrugDose(Drug.CY, Decimal(200), Unit.MG_PER_M2, Route.IV, _days(3, 5)),
            DrugDose(Drug.VCR, Decimal(2), Unit.MG, Route.IV, (6,), note="flat dose"),
            DrugDose(Drug.DAU, Decimal(45), Unit.MG_PER_M2, Route.IV, (6, 7)),
        ),
    ),
    Phase(
        PhaseName.INDUCTION_I,
        INDUCTION_I_FIRST_DAY,
        INDUCTION_I_LAST_DAY,
        (
            DrugDose(
                Drug.BLINA,
                BLINATUMOMAB_TARGET_DOSE,
                Unit.UG_PER_DAY,
                Route.CIV,
                _days(INDUCTION_I_FIRST_DAY, INDUCTION_I_FIRST_DAY + INFUSION_DAYS_PER_CYCLE - 1),
                note="start dose by BD-1/BD-2 (dosing.blinatumomab_start_plan)",
            ),
            DrugDose(
                Drug.DEX, Decimal(20), Unit.MG, Route.IV, (12, 19), note="premedication, flat dose"
            ),
        ),
    ),
    Phase(
        PhaseName.INDUCTION_II,
        INDUCTION_II_FIRST_DAY,
        None,
        (
            DrugDose(Drug.DEX, Decimal(10), Unit.MG_PER_M2, Route.PO, _days(50, 54)),
            DrugDose(Drug.VDS, Decimal(3), Unit.MG_PER_M2, Route.IV, (50,)),
            DrugDose(Drug.MTX, Decimal("1.5"), Unit.G_PER_M2, Route.IV, (50,)),
            DrugDose(Drug.VP16, Decimal(250), Unit.MG_PER_M2, Route.IV, (53, 54)),
            DrugDose(
                Drug.ARAC, Decimal(2), Unit.G_PER_M2, Route.IV, (54,), administrations_per_day=2
            ),
        ),
    ),
    Phase(PhaseName.CONSOLIDATION, None, None, note="cycles I-VI: see CONSOLIDATION_CYCLES"),
    Phase(
        PhaseName.MAINTENANCE,
        None,
        None,
        (
            DrugDose(Drug.MP6, Decimal(60), Unit.MG_PER_M2, Route.PO, frequency=Frequency.DAILY),
            DrugDose(Drug.MTX, Decimal(20), Unit.MG_PER_M2, Route.PO, frequency=Frequency.WEEKLY),
        ),
        note="after consolidation",
    ),
    Phase(
        PhaseName.FOLLOW_UP,
        None,
        None,
        note="MRD monitoring; relapse, HSCT, survival status",
    ),
)

INTRATHECAL_DRUGS: tuple[DrugDose, ...] = (  # rules §1: CNS prophylaxis, flat doses
    DrugDose(Drug.ARAC, Decimal(40), Unit.MG, Route.IT),
    DrugDose(Drug.DEX, Decimal(4), Unit.MG, Route.IT),
    DrugDose(Drug.MTX, Decimal(15), Unit.MG, Route.IT),
)


def phase(name: PhaseName) -> Phase:
    """The phase called `name` from PHASES."""
    return next(p for p in PHASES if p.name == name)


# --- Consolidation cycles (days are days of the cycle) ---------------------------------------

_CONSOLIDATION_I_III_VI = (
    DrugDose(Drug.MTX, Decimal("1.5"), Unit.G_PER_M2, Route.IV, (1, 15)),
    DrugDose(Drug.PEG_ASP, Decimal(2000), Unit.U_PER_M2, Route.IV, (2, 16)),
    DrugDose(Drug.MP6, Decimal(60), Unit.MG_PER_M2, Route.PO, _days(1, 7) + _days(15, 21)),
    DrugDose(Drug.TG, Decimal(60), Unit.MG_PER_M2, Route.PO, _days(15, 28)),
)
_CONSOLIDATION_II = (
    DrugDose(
        Drug.PDN, Decimal(20), Unit.MG_PER_M2, Route.PO, _days(1, 14), administrations_per_day=3
    ),
    DrugDose(Drug.VDS, Decimal(3), Unit.MG_PER_M2, Route.IV, (1, 7)),
    DrugDose(Drug.ADR, Decimal(50), Unit.MG_PER_M2, Route.IV, (1, 7)),
    DrugDose(Drug.CY, Decimal(1000), Unit.MG_PER_M2, Route.IV, (15,)),
    DrugDose(Drug.ARAC, Decimal(75), Unit.MG_PER_M2, Route.IV, _days(17, 20) + _days(24, 27)),
)
_CONSOLIDATION_IV = (DrugDose(Drug.ARAC, Decimal(1000), Unit.MG_PER_M2, Route.IV, (1, 3, 5)),)
_CONSOLIDATION_V = (
    DrugDose(Drug.CY, Decimal(1000), Unit.MG_PER_M2, Route.IV, (1,)),
    DrugDose(Drug.ARAC, Decimal(500), Unit.MG_PER_M2, Route.IV, (1,)),
)
RITUXIMAB_DAY_0 = DrugDose(  # rules §1: every consolidation cycle, if CD20+ at diagnosis
    Drug.RIT, Decimal(375), Unit.MG_PER_M2, Route.IV, (0,), note="if CD20-positive at diagnosis"
)

_ROMAN = ("I", "II", "III", "IV", "V", "VI")


@dataclass(frozen=True)
class ConsolidationCycle:
    number: int
    drugs: tuple[DrugDose, ...]

    @property
    def name(self) -> str:
        return f"Consolidation {_ROMAN[self.number - 1]}"


CONSOLIDATION_CYCLES: tuple[ConsolidationCycle, ...] = (
    ConsolidationCycle(1, _CONSOLIDATION_I_III_VI),
    ConsolidationCycle(2, _CONSOLIDATION_II),
    ConsolidationCycle(3, _CONSOLIDATION_I_III_VI),
    ConsolidationCycle(4, _CONSOLIDATION_IV),
    ConsolidationCycle(5, _CONSOLIDATION_V),
    ConsolidationCycle(6, _CONSOLIDATION_I_III_VI),
)


def consolidation_drugs(number: int, cd20_positive: bool) -> tuple[DrugDose, ...]:
    """Drugs of consolidation cycle `number` (1-6), with rituximab on day 0 if CD20-positive."""
    if not 1 <= number <= len(CONSOLIDATION_CYCLES):
        raise ValueError(f"consolidation cycles are numbered 1-6, not {number}")
    drugs = CONSOLIDATION_CYCLES[number - 1].drugs
    return (RITUXIMAB_DAY_0, *drugs) if cd20_positive else drugs


def next_cycle_planned_start(
    previous_start: date, settings: ProtocolSettings = DEFAULT_SETTINGS
) -> date:
    """Planned start of the next consolidation cycle (rules §1: previous start + interval).

    The site enters the real start date; this is only the plan.
    """
    return previous_start + timedelta(days=settings.consolidation_interval_days)


# --- Assessment visits and their windows -----------------------------------------------------


class VisitCode(StrEnum):
    DAY_11 = "D11"
    DAY_40 = "D40"
    WEEK_11 = "W11"
    WEEK_18 = "W18"


@dataclass(frozen=True)
class Visit:
    """A planned assessment: its target study days (one day, or a study week)."""

    code: VisitCode
    name: str
    first_target_day: int
    last_target_day: int
    assessment: str

    def window_days(self, settings: ProtocolSettings) -> int:
        """Days allowed before the first and after the last target day (protocol setting)."""
        return {
            VisitCode.DAY_11: settings.day_11_window_days,
            VisitCode.DAY_40: settings.day_40_window_days,
            VisitCode.WEEK_11: settings.week_11_window_days,
            VisitCode.WEEK_18: settings.week_18_window_days,
        }[self.code]


VISITS: tuple[Visit, ...] = (
    Visit(
        VisitCode.DAY_11,
        "Day-11 assessment",
        DAY_11_ASSESSMENT_DAY,
        DAY_11_ASSESSMENT_DAY,
        "bone marrow blast %",
    ),
    Visit(
        VisitCode.DAY_40,
        "End of Induction I",
        END_OF_INDUCTION_I_DAY,
        END_OF_INDUCTION_I_DAY,
        "response (CR, CRi, refractory); bone marrow MRD D40",
    ),
    Visit(VisitCode.WEEK_11, "Week 11", *study_days_of_week(WEEK_11), "MRD W11 (primary endpoint)"),
    Visit(VisitCode.WEEK_18, "Week 18", *study_days_of_week(WEEK_18), "MRD W18"),
)


def _landmark_days() -> tuple[int, ...]:
    days = {day for p in PHASES for day in (p.first_day, p.last_day) if day is not None}
    days.update(visit.first_target_day for visit in VISITS)
    return tuple(sorted(days))


# Study days worth a labelled tick on the study-day axis of the pictures (subject timeline, MRD
# kinetics): the fixed first and last days of the phases (1, 7, 12, 40, 50) and the first target
# day of each assessment visit (11, 40, 71, 120), in order.
LANDMARK_DAYS: tuple[int, ...] = _landmark_days()


@dataclass(frozen=True)
class PlannedVisit:
    """A visit placed on a subject's calendar."""

    visit: Visit
    target_date: date  # first target day
    target_end_date: date  # last target day (same as target_date for a single-day visit)
    window_start: date
    window_end: date

    def in_window(self, on: date) -> bool:
        return self.window_start <= on <= self.window_end


def planned_visits(day1: date, settings: ProtocolSettings = DEFAULT_SETTINGS) -> list[PlannedVisit]:
    """The assessment visits of a subject whose study day 1 is `day1`, with their windows."""
    result = []
    for visit in VISITS:
        window = timedelta(days=visit.window_days(settings))
        target = date_of_study_day(day1, visit.first_target_day)
        target_end = date_of_study_day(day1, visit.last_target_day)
        result.append(PlannedVisit(visit, target, target_end, target - window, target_end + window))
    return result


class VisitStatus(StrEnum):
    PLANNED = "planned"  # window not yet open
    DUE = "due"  # today inside the window, no data yet
    OVERDUE = "overdue"  # rules §1 / AL-VISIT-OVERDUE: past the window end without data
    DONE = "done"  # data entered
    MISSED = "missed"  # marked missed with a reason


def visit_status(planned: PlannedVisit, today: date, has_data: bool, missed: bool) -> VisitStatus:
    """Status of a planned visit on `today`. Data entered wins over a 'missed' mark."""
    if has_data:
        return VisitStatus.DONE
    if missed:
        return VisitStatus.MISSED
    if today < planned.window_start:
        return VisitStatus.PLANNED
    if today <= planned.window_end:
        return VisitStatus.DUE
    return VisitStatus.OVERDUE


# --- Protocol versions (amendments) ----------------------------------------------------------


class BlinatumomabRule(StrEnum):
    BD_1 = "BD-1"  # rules §3: version 1, start dose by day-11 blasts
    BD_2 = "BD-2"  # rules §3: version 2 (amendment), 9 ug/day for 7 days for everyone


@dataclass(frozen=True)
class ProtocolVersion:
    """A protocol version; its effective date is entered by the sponsor (not published)."""

    number: int
    effective_date: date
    blinatumomab_rule: BlinatumomabRule
    settings: ProtocolSettings = DEFAULT_SETTINGS


def version_in_force(versions: Iterable[ProtocolVersion], on: date) -> ProtocolVersion:
    """The version with the latest effective date on or before `on` (rules §3)."""
    in_force = [v for v in versions if v.effective_date <= on]
    if not in_force:
        raise ValueError(f"no protocol version in force on {on.isoformat()}")
    return max(in_force, key=lambda v: (v.effective_date, v.number))


def version_for_subject(versions: Iterable[ProtocolVersion], day1: date) -> ProtocolVersion:
    """rules §3: a subject is treated under the version in force on their study day 12."""
    return version_in_force(versions, date_of_study_day(day1, INDUCTION_I_FIRST_DAY))


# --- Blinatumomab interruptions (BL-1, BL-2, BL-3) --------------------------------


class InterruptionOutcome(StrEnum):
    CONTINUE_CYCLE = "continue_cycle"  # BL-1
    NEW_CYCLE = "new_cycle"  # BL-2
    DISCONTINUE = "discontinue"  # BL-3


def interruption_outcome(
    length: timedelta, settings: ProtocolSettings = DEFAULT_SETTINGS
) -> InterruptionOutcome:
    """What an infusion interruption of `length` means for the cycle.

    BL-1: <= 7 days continues the same cycle; BL-2: longer than 7 days starts a new cycle;
    BL-3: longer than 14 days (protocol setting) -> discontinue. Exactly 7 or 14 days stays
    in the milder branch.
    """
    if length < timedelta(0):
        raise ValueError("an interruption cannot have a negative length")
    if length > timedelta(days=settings.interruption_discontinue_days):
        return InterruptionOutcome.DISCONTINUE
    if length > NEW_CYCLE_AFTER_INTERRUPTION:
        return InterruptionOutcome.NEW_CYCLE
    return InterruptionOutcome.CONTINUE_CYCLE


def remaining_infusion_days(infusion_days_given: int) -> int:
    """BL-1: infusion days still due in a cycle continued after a short interruption."""
    if not 0 <= infusion_days_given <= INFUSION_DAYS_PER_CYCLE:
        raise ValueError(f"a cycle has 0-{INFUSION_DAYS_PER_CYCLE} infusion days")
    return INFUSION_DAYS_PER_CYCLE - infusion_days_given
