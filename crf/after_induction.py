"""The edit checks of the records of treatment after induction (MR-4, MR-5 blinatumomab as
given; salvage therapy), applied by the write pipeline on every route: crf.editchecks.register
registers them. The rules are protocol.after_induction's; dates after consent and not in the
future are checked for every record already."""

from __future__ import annotations

from protocol import after_induction, checks

from .models import MrdTriggeredBlinatumomab, SalvageTherapy


def _course(record: MrdTriggeredBlinatumomab) -> after_induction.MrdTriggeredCourse:
    return after_induction.MrdTriggeredCourse(
        start=record.start_date,
        end=record.end_date,
        cycles=record.cycles,
        dose_ug_per_day=record.dose_ug_per_day,
        cd19_reconfirmed=record.cd19_reconfirmed,
        cd19_date=record.cd19_date,
        mrd_class=record.mrd_after_class,
        mrd_value=record.mrd_after_value,
    )


def mrd_triggered_blinatumomab_errors(record: MrdTriggeredBlinatumomab) -> dict[str, str]:
    return after_induction.mrd_triggered_course_errors(_course(record))


def mrd_triggered_blinatumomab_warnings(
    record: MrdTriggeredBlinatumomab,
) -> list[checks.SoftWarning]:
    return after_induction.mrd_triggered_course_warnings(_course(record))


def salvage_therapy_errors(record: SalvageTherapy) -> dict[str, str]:
    return after_induction.salvage_therapy_errors(
        record.start_date,
        record.end_date,
        other_regimen=record.regimen == SalvageTherapy.Regimen.OTHER,
        regimen_other=record.regimen_other,
    )
