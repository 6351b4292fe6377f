"""Treatment courses and their drug administrations, consolidation planning, intrathecals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from audit.services import audited_save
from protocol import dosing, schedule

from ..models import (
    Baseline,
    DrugAdministration,
    IntrathecalAdministration,
    TreatmentCourse,
    TreatmentPhase,
    Visit,
)
from .records import records_plan

# Which protocol phase each course of the eCRF follows; consolidation cycles are numbered.
_FIXED_PHASES = {
    TreatmentPhase.PRE_INDUCTION: schedule.PhaseName.PRE_INDUCTION,
    TreatmentPhase.INDUCTION_I: schedule.PhaseName.INDUCTION_I,
    TreatmentPhase.INDUCTION_II: schedule.PhaseName.INDUCTION_II,
    TreatmentPhase.MAINTENANCE: schedule.PhaseName.MAINTENANCE,
}
CONSOLIDATION_PHASES = [
    TreatmentPhase.CONSOLIDATION_1,
    TreatmentPhase.CONSOLIDATION_2,
    TreatmentPhase.CONSOLIDATION_3,
    TreatmentPhase.CONSOLIDATION_4,
    TreatmentPhase.CONSOLIDATION_5,
    TreatmentPhase.CONSOLIDATION_6,
]
# Blinatumomab has its own infusion log; it is not a row of the Induction I course.
_NOT_ADMINISTRATION_ROWS = {schedule.Drug.BLINA}


@dataclass(frozen=True)
class PlannedAdministration:
    drug: schedule.DrugDose
    protocol_day: int
    planned_date: date
    calculated_dose: Decimal
    dose_unit: str


def consolidation_number(phase: str) -> int | None:
    try:
        return CONSOLIDATION_PHASES.index(TreatmentPhase(phase)) + 1
    except ValueError:
        return None


def phase_drugs(course: TreatmentCourse) -> tuple[schedule.DrugDose, ...]:
    number = consolidation_number(course.phase)
    if number:
        cd20 = Baseline.objects.filter(
            subject=course.subject, cd20_positive=Baseline.Cd20.YES
        ).exists()
        return schedule.consolidation_drugs(number, cd20_positive=cd20)
    return schedule.phase(_FIXED_PHASES[TreatmentPhase(course.phase)]).drugs


def planned_administrations(course: TreatmentCourse) -> list[PlannedAdministration]:
    """Every protocol administration of the course, with the dose calculated from its BSA."""
    fixed = consolidation_number(course.phase) is None
    rows = []
    for drug in phase_drugs(course):
        if drug.drug in _NOT_ADMINISTRATION_ROWS:
            continue
        per_day = dosing.calculated_dose(drug, course.bsa_m2) * drug.administrations_per_day
        unit = dosing.administered_unit(drug.unit)
        for day in drug.days or (1,):
            if fixed and drug.days:
                planned = schedule.date_of_study_day(course.subject.day1_date, day)
            else:
                planned = course.start_date + timedelta(days=day - 1)
            rows.append(
                PlannedAdministration(drug, day, planned, per_day.quantize(Decimal("0.01")), unit)
            )
    return rows


def course_plan_administrations(*, course: TreatmentCourse, user) -> list[DrugAdministration]:
    """Pre-fill the course's administrations from the protocol; when the BSA changes,
    recalculate the doses not yet given (each change audited)."""
    existing = {
        (a.drug, a.protocol_day): a
        for a in DrugAdministration.objects.filter(course=course, entered_in_error=False)
    }
    result, new = [], []
    for plan in planned_administrations(course):
        key = (plan.drug.drug.value, plan.protocol_day)
        row = existing.get(key)
        if row is None:
            row = DrugAdministration(
                course=course,
                drug=plan.drug.drug.value,
                route=plan.drug.route.value,
                protocol_dose=plan.drug.dose * plan.drug.administrations_per_day,
                protocol_unit=plan.drug.unit.value,
                protocol_day=plan.protocol_day,
                calculated_dose=plan.calculated_dose,
                dose_unit=plan.dose_unit,
            )
            new.append(row)
        elif row.administered_dose is None and row.calculated_dose != plan.calculated_dose:
            row.calculated_dose = plan.calculated_dose
            audited_save(row, user=user, reason=f"recalculated from BSA {course.bsa_m2} m²")
        result.append(row)
    records_plan(new, user=user, reason="planned from the protocol")
    return result


def next_consolidation_plan(*, course: TreatmentCourse, user) -> Visit | None:
    """rules §1: a consolidation cycle is planned as the previous one is entered (Induction II
    plans Consolidation I). Also marks the course's own cycle-start visit as done."""
    number = consolidation_number(course.phase)
    if number:
        own = Visit.objects.filter(subject=course.subject, code=f"C{number}").first()
        if own and own.actual_date != course.start_date:
            own.actual_date = course.start_date
            audited_save(own, user=user, reason="cycle started")
    elif course.phase != TreatmentPhase.INDUCTION_II:
        return None
    following = (number or 0) + 1
    if following > len(CONSOLIDATION_PHASES):
        return None
    code = f"C{following}"
    settings = (
        course.subject.protocol_version.settings
        if course.subject.protocol_version_id
        else (schedule.DEFAULT_SETTINGS)
    )
    planned = schedule.next_cycle_planned_start(course.start_date, settings)
    visit = Visit.objects.filter(subject=course.subject, code=code).first()
    if visit is None:
        return audited_save(
            Visit(
                subject=course.subject,
                kind=Visit.Kind.CONSOLIDATION,
                code=code,
                name=f"{schedule.CONSOLIDATION_CYCLES[following - 1].name} start",
                planned_date=planned,
            ),
            user=user,
            reason=f"planned from the start of {course.get_phase_display()}",
        )
    if visit.actual_date is None and visit.planned_date != planned:
        visit.planned_date = planned
        audited_save(visit, user=user, reason=f"replanned: {course.get_phase_display()} moved")
    return visit


def intrathecal_count(subject) -> tuple[int, int]:
    """(given, planned) intrathecal administrations (rules §1: 9 planned)."""
    given = IntrathecalAdministration.objects.filter(subject=subject, entered_in_error=False)
    return given.count(), schedule.INTRATHECAL_ADMINISTRATIONS_PLANNED
