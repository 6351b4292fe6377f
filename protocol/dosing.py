"""Body surface area, mg/m2 doses and caps, dose deviations, blinatumomab step dosing.

Source: docs/protocol-rules.md §2 and §3. Doses and BSA are Decimal; a float input is read through
its printed form (170.5 -> Decimal("170.5")), never its binary value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from protocol.schedule import (
    BLINATUMOMAB_REDUCED_DOSE,
    BLINATUMOMAB_TARGET_DOSE,
    DEFAULT_SETTINGS,
    INDUCTION_I_FIRST_DAY,
    INFUSION_DAYS_PER_CYCLE,
    BlinatumomabRule,
    Drug,
    DrugDose,
    Unit,
)

Number = Decimal | int | float | str

# --- Body surface area (rules §2) ----------------------------------------------------------

MOSTELLER_DIVISOR = Decimal(3600)  # rules §2: Mosteller sqrt(height cm x weight kg / 3600)
DUBOIS_FACTOR = Decimal("0.007184")  # rules §2: DuBois 0.007184 x h^0.725 x w^0.425
DUBOIS_HEIGHT_EXPONENT = Decimal("0.725")  # rules §2: DuBois height exponent
DUBOIS_WEIGHT_EXPONENT = Decimal("0.425")  # rules §2: DuBois weight exponent
BSA_PRECISION = Decimal("0.01")  # rules §2: BSA rounded to 2 decimals

# --- Caps, tolerance and blinatumomab steps --------------------------------------------------

VINCRISTINE_MAX_DOSE_MG = Decimal(2)  # rules §2: vincristine above 2 mg is a hard error
DOSE_CAPS_MG: dict[Drug, Decimal] = {Drug.VCR: VINCRISTINE_MAX_DOSE_MG}
BD1_BLASTS_THRESHOLD_PERCENT = Decimal(50)  # BD-1: blasts <= 50% -> 28 ug/day d12
REDUCED_DOSE_INFUSION_DAYS = 7  # BD-1, BD-2: 9 ug/day on the first 7 infusion days
BL4_STEP_UP_NOT_BEFORE = timedelta(days=7)  # BL-4: step up >= 7 days after restart
PREMEDICATION_INTERRUPTION = timedelta(hours=4)  # BL-5: restart after >= 4 h


def _decimal(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


# --- Body surface area -----------------------------------------------------------------------


class BsaFormula(StrEnum):
    MOSTELLER = "Mosteller"
    DUBOIS = "DuBois"


@dataclass(frozen=True)
class BodySurfaceArea:
    """A BSA with the formula and the inputs it came from (rules §2: stored together)."""

    m2: Decimal
    formula: BsaFormula
    height_cm: Decimal
    weight_kg: Decimal


def _checked_inputs(height_cm: Number, weight_kg: Number) -> tuple[Decimal, Decimal]:
    height, weight = _decimal(height_cm), _decimal(weight_kg)
    if height <= 0 or weight <= 0:
        raise ValueError("height and weight must be positive")
    return height, weight


def bsa_mosteller(height_cm: Number, weight_kg: Number) -> Decimal:
    """Mosteller BSA in m2, rounded to 2 decimals (170 cm / 75 kg -> 1.88)."""
    height, weight = _checked_inputs(height_cm, weight_kg)
    exact = (height * weight / MOSTELLER_DIVISOR).sqrt()
    return exact.quantize(BSA_PRECISION, rounding=ROUND_HALF_UP)


def bsa_dubois(height_cm: Number, weight_kg: Number) -> Decimal:
    """DuBois BSA in m2, rounded to 2 decimals; the alternative formula of rules §2."""
    height, weight = _checked_inputs(height_cm, weight_kg)
    exact = DUBOIS_FACTOR * height**DUBOIS_HEIGHT_EXPONENT * weight**DUBOIS_WEIGHT_EXPONENT
    return exact.quantize(BSA_PRECISION, rounding=ROUND_HALF_UP)


def body_surface_area(
    height_cm: Number, weight_kg: Number, formula: BsaFormula = BsaFormula.MOSTELLER
) -> BodySurfaceArea:
    """BSA by `formula` (Mosteller unless told), kept with its formula name and inputs."""
    compute = bsa_mosteller if formula == BsaFormula.MOSTELLER else bsa_dubois
    height, weight = _checked_inputs(height_cm, weight_kg)
    return BodySurfaceArea(compute(height, weight), BsaFormula(formula), height, weight)


# --- Calculated doses and caps ---------------------------------------------------------------

PER_M2_TO_ABSOLUTE: dict[Unit, str] = {
    Unit.MG_PER_M2: "mg",
    Unit.G_PER_M2: "g",
    Unit.U_PER_M2: "U",
}


def is_scaled_by_bsa(unit: Unit) -> bool:
    """True for per-m2 doses; flat doses (VCR 2 mg, DEX 20 mg, IT doses, ug/day) are not."""
    return unit in PER_M2_TO_ABSOLUTE


def administered_unit(unit: Unit) -> str:
    """Unit of the dose given to the patient: mg/m2 -> mg, g/m2 -> g, U/m2 -> U, flat as is."""
    return PER_M2_TO_ABSOLUTE.get(unit, str(unit))


def calculated_dose(drug_dose: DrugDose, bsa: Decimal | BodySurfaceArea) -> Decimal:
    """Dose per administration (rules §2): per-m2 dose x BSA; flat doses are not scaled.

    The result is in `administered_unit(drug_dose.unit)` and is not rounded: the pharmacy's
    rounding is judged by `dose_deviation`.
    """
    if not is_scaled_by_bsa(drug_dose.unit):
        return drug_dose.dose
    m2 = bsa.m2 if isinstance(bsa, BodySurfaceArea) else _decimal(bsa)
    if m2 <= 0:
        raise ValueError("BSA must be positive")
    return drug_dose.dose * m2


def dose_cap_error(drug: Drug, dose_mg: Number) -> str | None:
    """rules §2: a message if `dose_mg` is above the drug's cap (VCR 2 mg), else None.

    A capped dose above its cap is a hard error: the form must refuse it.
    """
    cap = DOSE_CAPS_MG.get(drug)
    dose = _decimal(dose_mg)
    if cap is None or dose <= cap:
        return None
    return f"{drug} {dose} mg is above the maximum of {cap} mg (rules §2); enter at most {cap} mg."


# --- Dose deviation --------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseDeviation:
    """Administered vs calculated dose (rules §2); `is_deviation` needs a reason."""

    calculated: Decimal
    administered: Decimal
    difference_percent: Decimal  # |administered - calculated| / calculated x 100, 2 decimals
    tolerance_percent: Decimal
    is_deviation: bool


def dose_deviation(
    calculated: Number,
    administered: Number,
    tolerance_percent: Number = DEFAULT_SETTINGS.dose_tolerance_percent,
) -> DoseDeviation:
    """Compare an administered dose with the calculated one (rules §2, protocol setting).

    A deviation is MORE than the tolerance away, either way: with 10%, a difference of exactly
    10% is within tolerance and 10.1% is a deviation.
    """
    calc, given, tolerance = (
        _decimal(calculated),
        _decimal(administered),
        _decimal(tolerance_percent),
    )
    if calc <= 0:
        raise ValueError("the calculated dose must be positive")
    if given < 0:
        raise ValueError("the administered dose must not be negative")
    difference = abs(given - calc)
    percent = (difference * 100 / calc).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    # compare without dividing, so that 10% is decided exactly
    is_deviation = difference * 100 > tolerance * calc
    return DoseDeviation(calc, given, percent, tolerance, is_deviation)


# --- Blinatumomab in Induction I (rules §3) ------------------------------------------------


@dataclass(frozen=True)
class DoseStep:
    """A dose held over a range of infusion days (infusion day 1 = first day of the cycle)."""

    first_infusion_day: int
    last_infusion_day: int
    ug_per_day: Decimal

    @property
    def first_study_day(self) -> int:
        """Study day of the first infusion day, if the infusion started on day 12 unbroken."""
        return self.first_infusion_day + INDUCTION_I_FIRST_DAY - 1

    @property
    def last_study_day(self) -> int:
        return self.last_infusion_day + INDUCTION_I_FIRST_DAY - 1


def _reduced_then_target() -> list[DoseStep]:
    return [
        DoseStep(1, REDUCED_DOSE_INFUSION_DAYS, BLINATUMOMAB_REDUCED_DOSE),
        DoseStep(REDUCED_DOSE_INFUSION_DAYS + 1, INFUSION_DAYS_PER_CYCLE, BLINATUMOMAB_TARGET_DOSE),
    ]


def blinatumomab_start_plan(
    rule: BlinatumomabRule, day11_blasts_percent: Number | None = None
) -> list[DoseStep]:
    """Dose steps of the first blinatumomab cycle.

    BD-1: day-11 blasts <= 50% -> 28 ug/day from infusion day 1 (study day 12); > 50% ->
    9 ug/day on infusion days 1-7 (study days 12-18), then 28. Exactly 50% takes 28.
    BD-2: everyone 9 ug/day on infusion days 1-7, then 28 for the remaining 21 days.
    """
    rule = BlinatumomabRule(rule)
    if rule == BlinatumomabRule.BD_2:
        return _reduced_then_target()
    if day11_blasts_percent is None:
        raise ValueError("BD-1 needs the day-11 bone marrow blast %")
    blasts = _decimal(day11_blasts_percent)
    if not 0 <= blasts <= 100:
        raise ValueError(f"blast % must be 0-100, not {blasts}")
    if blasts <= BD1_BLASTS_THRESHOLD_PERCENT:
        return [DoseStep(1, INFUSION_DAYS_PER_CYCLE, BLINATUMOMAB_TARGET_DOSE)]
    return _reduced_then_target()


def expected_dose_on_infusion_day(plan: list[DoseStep], infusion_day: int) -> Decimal:
    """The ug/day that `plan` prescribes on `infusion_day` (AL-DOSE compares against it)."""
    for step in plan:
        if step.first_infusion_day <= infusion_day <= step.last_infusion_day:
            return step.ug_per_day
    raise ValueError(f"infusion day {infusion_day} is outside the plan")


def bl4_step_up_earliest(restart: date) -> date:
    """BL-4: after a restart at 9 ug/day, the first day a step-up to 28 ug/day is allowed."""
    return restart + BL4_STEP_UP_NOT_BEFORE


def bl4_allowed_doses(restart: date, on: date) -> tuple[Decimal, ...]:
    """BL-4: doses allowed on `on` after a restart for an adverse reaction on `restart`.

    9 ug/day only until 7 days after the restart; from then on 9 or 28 ug/day (the step-up
    waits while the toxicity recurs).
    """
    if on < restart:
        raise ValueError("the day asked about is before the restart")
    if on < bl4_step_up_earliest(restart):
        return (BLINATUMOMAB_REDUCED_DOSE,)
    return (BLINATUMOMAB_REDUCED_DOSE, BLINATUMOMAB_TARGET_DOSE)


def premedication_expected_before_restart(interruption: timedelta) -> bool:
    """BL-5: dexamethasone premedication before a restart after an interruption of >= 4 h.

    It is also expected before the start and before every step-up.
    """
    return interruption >= PREMEDICATION_INTERRUPTION
