"""rules §1 and 3: study days, weeks, visits and windows, cycles, versions, interruptions."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from protocol.schedule import (
    CONSOLIDATION_CYCLES,
    INFUSION_DAYS_PER_CYCLE,
    INTRATHECAL_ADMINISTRATIONS_PLANNED,
    INTRATHECAL_DRUGS,
    BlinatumomabRule,
    Drug,
    InterruptionOutcome,
    PhaseName,
    PlannedVisit,
    ProtocolSettings,
    ProtocolVersion,
    Route,
    Unit,
    VisitCode,
    VisitStatus,
    consolidation_drugs,
    date_of_study_day,
    interruption_outcome,
    next_cycle_planned_start,
    phase,
    planned_visits,
    remaining_infusion_days,
    study_day,
    study_days_of_week,
    study_week,
    version_for_subject,
    version_in_force,
    visit_status,
)

pytestmark = pytest.mark.verifies("UR-REC-05")

DAY_1 = date(2024, 1, 1)  # a leap year: day 71 falls after 29 February


# --- study days and weeks (rules §1) -------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2024, 1, 1), 1),  # day 1 itself
        (date(2024, 1, 2), 2),
        (date(2023, 12, 31), -1),  # the day before day 1: no day 0
        (date(2023, 12, 30), -2),
        (date(2024, 1, 11), 11),
        (date(2024, 1, 12), 12),
        (date(2024, 2, 9), 40),
        (date(2024, 3, 11), 71),  # across 29 February
        (date(2024, 3, 17), 77),
        (date(2024, 4, 28), 119),
        (date(2024, 4, 29), 120),
        (date(2024, 5, 5), 126),
    ],
)
def test_study_day(on, expected):
    assert study_day(DAY_1, on) == expected


@pytest.mark.parametrize("day", [-30, -2, -1, 1, 2, 11, 12, 40, 71, 77, 119, 120, 126, 400])
def test_date_of_study_day_is_the_inverse_of_study_day(day):
    assert study_day(DAY_1, date_of_study_day(DAY_1, day)) == day


@pytest.mark.parametrize(
    ("day", "expected"),
    [(1, date(2024, 1, 1)), (-1, date(2023, 12, 31)), (2, date(2024, 1, 2))],
)
def test_date_of_study_day(day, expected):
    assert date_of_study_day(DAY_1, day) == expected


def test_there_is_no_study_day_0():
    with pytest.raises(ValueError):
        date_of_study_day(DAY_1, 0)


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (1, 1),
        (7, 1),
        (8, 2),
        (70, 10),
        (71, 11),  # week 11 = days 71-77
        (77, 11),
        (78, 12),
        (119, 17),
        (120, 18),  # week 18 = days 120-126
        (126, 18),
        (127, 19),
    ],
)
def test_study_week(day, week):
    assert study_week(day) == week


@pytest.mark.parametrize("day", [0, -1, -7])
def test_study_week_refuses_days_before_day_1(day):
    with pytest.raises(ValueError):
        study_week(day)


@pytest.mark.parametrize(("week", "days"), [(1, (1, 7)), (11, (71, 77)), (18, (120, 126))])
def test_study_days_of_week(week, days):
    assert study_days_of_week(week) == days


# --- visits and windows (rules §1) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "target_first", "target_last", "window_first", "window_last"),
    [
        (VisitCode.DAY_11, 11, 11, 8, 14),  # +-3
        (VisitCode.DAY_40, 40, 40, 37, 43),  # +-3
        (VisitCode.WEEK_11, 71, 77, 64, 84),  # week 11 +-7
        (VisitCode.WEEK_18, 120, 126, 113, 133),  # week 18 +-7
    ],
)
def test_planned_visits_default_windows(code, target_first, target_last, window_first, window_last):
    planned = {p.visit.code: p for p in planned_visits(DAY_1)}[code]
    assert study_day(DAY_1, planned.target_date) == target_first
    assert study_day(DAY_1, planned.target_end_date) == target_last
    assert study_day(DAY_1, planned.window_start) == window_first
    assert study_day(DAY_1, planned.window_end) == window_last


def test_planned_visits_follow_the_protocol_setting():
    settings = ProtocolSettings(week_11_window_days=3, day_11_window_days=1)
    planned = {p.visit.code: p for p in planned_visits(DAY_1, settings)}
    assert [study_day(DAY_1, planned[VisitCode.WEEK_11].window_start)] == [68]
    assert [study_day(DAY_1, planned[VisitCode.WEEK_11].window_end)] == [80]
    assert study_day(DAY_1, planned[VisitCode.DAY_11].window_start) == 10
    assert study_day(DAY_1, planned[VisitCode.DAY_11].window_end) == 12


def _visit(code: VisitCode) -> PlannedVisit:
    return {p.visit.code: p for p in planned_visits(DAY_1)}[code]


@pytest.mark.parametrize(
    ("code", "today_day", "has_data", "missed", "expected"),
    [
        (VisitCode.DAY_11, 7, False, False, VisitStatus.PLANNED),
        (VisitCode.DAY_11, 8, False, False, VisitStatus.DUE),  # window opens
        (VisitCode.DAY_11, 14, False, False, VisitStatus.DUE),  # last day of window
        (VisitCode.DAY_11, 15, False, False, VisitStatus.OVERDUE),  # past window, no data
        (VisitCode.DAY_11, 15, True, False, VisitStatus.DONE),
        (VisitCode.WEEK_11, 63, False, False, VisitStatus.PLANNED),
        (VisitCode.WEEK_11, 64, False, False, VisitStatus.DUE),
        (VisitCode.WEEK_11, 84, False, False, VisitStatus.DUE),
        (VisitCode.WEEK_11, 85, False, False, VisitStatus.OVERDUE),
        (VisitCode.WEEK_11, 85, False, True, VisitStatus.MISSED),
        (VisitCode.WEEK_11, 70, True, False, VisitStatus.DONE),
        (VisitCode.WEEK_11, 90, True, True, VisitStatus.DONE),  # data wins over "missed"
        (VisitCode.WEEK_18, 133, False, False, VisitStatus.DUE),
        (VisitCode.WEEK_18, 134, False, False, VisitStatus.OVERDUE),
    ],
)
def test_visit_status(code, today_day, has_data, missed, expected):
    today = date_of_study_day(DAY_1, today_day)
    assert visit_status(_visit(code), today, has_data, missed) == expected


# --- phases, consolidation, intrathecal (rules §1, Supplementary Figure 1) -----------------


@pytest.mark.verifies("UR-DOS-01")
@pytest.mark.parametrize(
    ("phase_name", "drug", "dose", "unit", "route", "days"),
    [
        (PhaseName.PRE_INDUCTION, Drug.DEX, "10", Unit.MG_PER_M2, Route.PO, (1, 2, 3, 4, 5, 6, 7)),
        (PhaseName.PRE_INDUCTION, Drug.CY, "200", Unit.MG_PER_M2, Route.IV, (3, 4, 5)),
        (PhaseName.PRE_INDUCTION, Drug.VCR, "2", Unit.MG, Route.IV, (6,)),
        (PhaseName.PRE_INDUCTION, Drug.DAU, "45", Unit.MG_PER_M2, Route.IV, (6, 7)),
        (PhaseName.INDUCTION_I, Drug.BLINA, "28", Unit.UG_PER_DAY, Route.CIV, tuple(range(12, 40))),
        (PhaseName.INDUCTION_I, Drug.DEX, "20", Unit.MG, Route.IV, (12, 19)),
        (PhaseName.INDUCTION_II, Drug.MTX, "1.5", Unit.G_PER_M2, Route.IV, (50,)),
        (PhaseName.INDUCTION_II, Drug.VP16, "250", Unit.MG_PER_M2, Route.IV, (53, 54)),
        (PhaseName.INDUCTION_II, Drug.ARAC, "2", Unit.G_PER_M2, Route.IV, (54,)),
    ],
)
def test_phase_drugs(phase_name, drug, dose, unit, route, days):
    drug_dose = next(d for d in phase(phase_name).drugs if d.drug == drug)
    assert (drug_dose.dose, drug_dose.unit, drug_dose.route, drug_dose.days) == (
        Decimal(dose),
        unit,
        route,
        days,
    )


@pytest.mark.parametrize(
    ("phase_name", "first_day", "last_day"),
    [
        (PhaseName.PRE_INDUCTION, 1, 7),
        (PhaseName.INDUCTION_I, 12, 40),
        (PhaseName.INDUCTION_II, 50, None),
        (PhaseName.CONSOLIDATION, None, None),
        (PhaseName.MAINTENANCE, None, None),
    ],
)
def test_phase_anchors(phase_name, first_day, last_day):
    assert (phase(phase_name).first_day, phase(phase_name).last_day) == (first_day, last_day)


@pytest.mark.verifies("UR-DOS-02")
def test_blinatumomab_runs_28_infusion_days_from_day_12():
    blina = next(d for d in phase(PhaseName.INDUCTION_I).drugs if d.drug == Drug.BLINA)
    assert INFUSION_DAYS_PER_CYCLE == 28
    assert len(blina.days) == INFUSION_DAYS_PER_CYCLE
    assert (blina.days[0], blina.days[-1]) == (12, 39)


@pytest.mark.parametrize(
    ("number", "name", "drugs"),
    [
        (1, "Consolidation I", {Drug.MTX, Drug.PEG_ASP, Drug.MP6, Drug.TG}),
        (2, "Consolidation II", {Drug.PDN, Drug.VDS, Drug.ADR, Drug.CY, Drug.ARAC}),
        (3, "Consolidation III", {Drug.MTX, Drug.PEG_ASP, Drug.MP6, Drug.TG}),
        (4, "Consolidation IV", {Drug.ARAC}),
        (5, "Consolidation V", {Drug.CY, Drug.ARAC}),
        (6, "Consolidation VI", {Drug.MTX, Drug.PEG_ASP, Drug.MP6, Drug.TG}),
    ],
)
def test_consolidation_cycles(number, name, drugs):
    cycle = CONSOLIDATION_CYCLES[number - 1]
    assert cycle.name == name
    assert {d.drug for d in consolidation_drugs(number, cd20_positive=False)} == drugs
    with_rituximab = consolidation_drugs(number, cd20_positive=True)
    assert {d.drug for d in with_rituximab} == drugs | {Drug.RIT}
    rituximab = next(d for d in with_rituximab if d.drug == Drug.RIT)
    assert (rituximab.dose, rituximab.unit, rituximab.days) == (Decimal(375), Unit.MG_PER_M2, (0,))


@pytest.mark.parametrize("number", [0, 7])
def test_consolidation_cycle_numbers_are_1_to_6(number):
    with pytest.raises(ValueError):
        consolidation_drugs(number, cd20_positive=False)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (ProtocolSettings(), date(2024, 7, 29)),  # default interval 28 days
        (ProtocolSettings(consolidation_interval_days=35), date(2024, 8, 5)),
    ],
)
def test_next_cycle_planned_start(settings, expected):
    assert next_cycle_planned_start(date(2024, 7, 1), settings) == expected


def test_intrathecal_prophylaxis():
    assert INTRATHECAL_ADMINISTRATIONS_PLANNED == 9
    assert {(d.drug, d.dose, d.unit, d.route) for d in INTRATHECAL_DRUGS} == {
        (Drug.ARAC, Decimal(40), Unit.MG, Route.IT),
        (Drug.DEX, Decimal(4), Unit.MG, Route.IT),
        (Drug.MTX, Decimal(15), Unit.MG, Route.IT),
    }


# --- protocol settings and versions (rules §3) ---------------------------------------------


def test_default_protocol_settings():
    settings = ProtocolSettings()
    assert (
        settings.day_11_window_days,
        settings.day_40_window_days,
        settings.week_11_window_days,
        settings.week_18_window_days,
        settings.consolidation_interval_days,
        settings.dose_tolerance_percent,
        settings.interruption_discontinue_days,
    ) == (3, 3, 7, 7, 28, Decimal(10), 14)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"day_11_window_days": -1},
        {"consolidation_interval_days": 0},
        {"dose_tolerance_percent": Decimal(-1)},
        {"interruption_discontinue_days": 6},
    ],
)
def test_protocol_settings_refuse_impossible_values(kwargs):
    with pytest.raises(ValueError):
        ProtocolSettings(**kwargs)


VERSIONS = (
    ProtocolVersion(1, date(2020, 10, 1), BlinatumomabRule.BD_1),
    ProtocolVersion(2, date(2021, 6, 1), BlinatumomabRule.BD_2),
)


@pytest.mark.verifies("UR-ENR-01", "UR-DOS-02")
@pytest.mark.parametrize(
    ("on", "number"),
    [
        (date(2020, 10, 1), 1),
        (date(2021, 5, 31), 1),
        (date(2021, 6, 1), 2),  # the amendment's effective date
        (date(2030, 1, 1), 2),
    ],
)
def test_version_in_force(on, number):
    assert version_in_force(VERSIONS, on).number == number


@pytest.mark.verifies("UR-ENR-01", "UR-DOS-02")
def test_no_version_in_force_before_the_first():
    with pytest.raises(ValueError):
        version_in_force(VERSIONS, date(2020, 9, 30))


@pytest.mark.verifies("UR-ENR-01", "UR-DOS-02")
@pytest.mark.parametrize(
    ("day1", "rule"),
    [
        (date(2021, 5, 20), BlinatumomabRule.BD_1),  # day 12 = 31 May 2021
        (date(2021, 5, 21), BlinatumomabRule.BD_2),  # day 12 = 1 June 2021, day 1 before it
    ],
)
def test_version_for_subject_is_decided_on_day_12(day1, rule):
    assert version_for_subject(VERSIONS, day1).blinatumomab_rule == rule


# --- interruptions (BL-1, BL-2, BL-3) ---------------------------------------------


@pytest.mark.verifies("BL-1", "BL-2", "BL-3")
@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (timedelta(0), InterruptionOutcome.CONTINUE_CYCLE),
        (timedelta(hours=4), InterruptionOutcome.CONTINUE_CYCLE),
        (timedelta(days=7), InterruptionOutcome.CONTINUE_CYCLE),  # BL-1: <= 7 days
        (timedelta(days=7, hours=1), InterruptionOutcome.NEW_CYCLE),  # BL-2: > 7 days
        (timedelta(days=8), InterruptionOutcome.NEW_CYCLE),
        (timedelta(days=14), InterruptionOutcome.NEW_CYCLE),
        (timedelta(days=14, minutes=1), InterruptionOutcome.DISCONTINUE),  # BL-3: > 14 days
        (timedelta(days=15), InterruptionOutcome.DISCONTINUE),
    ],
)
def test_interruption_outcome(length, expected):
    assert interruption_outcome(length) == expected


@pytest.mark.verifies("BL-3")
def test_interruption_discontinue_threshold_is_a_protocol_setting():
    settings = ProtocolSettings(interruption_discontinue_days=21)
    assert interruption_outcome(timedelta(days=15), settings) == InterruptionOutcome.NEW_CYCLE
    assert interruption_outcome(timedelta(days=22), settings) == InterruptionOutcome.DISCONTINUE


@pytest.mark.verifies("UR-DOS-02")
def test_interruption_cannot_be_negative():
    with pytest.raises(ValueError):
        interruption_outcome(timedelta(hours=-1))


@pytest.mark.verifies("BL-1")
@pytest.mark.parametrize(("given", "remaining"), [(0, 28), (10, 18), (27, 1), (28, 0)])
def test_remaining_infusion_days(given, remaining):
    assert remaining_infusion_days(given) == remaining


@pytest.mark.verifies("BL-1")
@pytest.mark.parametrize("given", [-1, 29])
def test_remaining_infusion_days_refuses_impossible_counts(given):
    with pytest.raises(ValueError):
        remaining_infusion_days(given)
