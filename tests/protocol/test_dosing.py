"""rules §2 and 3: BSA, doses, caps, deviations, blinatumomab start and BL-4 restart."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from protocol.dosing import (
    BodySurfaceArea,
    BsaFormula,
    DoseStep,
    administered_unit,
    bl4_allowed_doses,
    bl4_step_up_earliest,
    blinatumomab_start_plan,
    body_surface_area,
    bsa_dubois,
    bsa_mosteller,
    calculated_dose,
    dose_cap_error,
    dose_deviation,
    expected_dose_on_infusion_day,
    premedication_expected_before_restart,
)
from protocol.schedule import BlinatumomabRule, Drug, DrugDose, Route, Unit

pytestmark = pytest.mark.verifies("UR-DOS-01")

BD_1, BD_2 = BlinatumomabRule.BD_1, BlinatumomabRule.BD_2

# --- body surface area (rules §2) ----------------------------------------------------------


@pytest.mark.verifies("UR-ENR-02")
@pytest.mark.parametrize(
    ("height_cm", "weight_kg", "m2"),
    [
        (170, 75, "1.88"),  # worked examples of rules §2
        (180, 90, "2.12"),
        (160, 55, "1.56"),
        (170.0, 75.0, "1.88"),  # floats read through their printed form
        (Decimal("165.5"), Decimal("62.3"), "1.69"),  # sqrt(2.86407) = 1.6924
    ],
)
def test_bsa_mosteller(height_cm, weight_kg, m2):
    assert bsa_mosteller(height_cm, weight_kg) == Decimal(m2)


@pytest.mark.verifies("UR-ENR-02")
@pytest.mark.parametrize(
    ("height_cm", "weight_kg", "m2"),
    [(170, 75, "1.86"), (180, 90, "2.10"), (160, 55, "1.56")],
)
def test_bsa_dubois(height_cm, weight_kg, m2):
    assert bsa_dubois(height_cm, weight_kg) == Decimal(m2)


@pytest.mark.verifies("UR-ENR-02")
@pytest.mark.parametrize(
    ("formula", "m2"), [(BsaFormula.MOSTELLER, "1.88"), (BsaFormula.DUBOIS, "1.86")]
)
def test_body_surface_area_keeps_formula_and_inputs(formula, m2):
    assert body_surface_area(170, 75, formula) == BodySurfaceArea(
        Decimal(m2), formula, Decimal(170), Decimal(75)
    )


@pytest.mark.verifies("UR-ENR-02")
def test_body_surface_area_is_mosteller_by_default():
    assert body_surface_area(180, 90).formula == BsaFormula.MOSTELLER


@pytest.mark.verifies("UR-ENR-02")
@pytest.mark.parametrize(("height_cm", "weight_kg"), [(0, 70), (170, 0), (-170, 70)])
def test_bsa_refuses_non_positive_inputs(height_cm, weight_kg):
    with pytest.raises(ValueError):
        bsa_mosteller(height_cm, weight_kg)


# --- calculated dose (rules §2) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("drug_dose", "bsa", "expected", "unit"),
    [
        (DrugDose(Drug.DAU, Decimal(45), Unit.MG_PER_M2, Route.IV), "1.88", "84.60", "mg"),
        (DrugDose(Drug.CY, Decimal(200), Unit.MG_PER_M2, Route.IV), "2.12", "424", "mg"),
        (DrugDose(Drug.MTX, Decimal("1.5"), Unit.G_PER_M2, Route.IV), "2.12", "3.18", "g"),
        (DrugDose(Drug.PEG_ASP, Decimal(2000), Unit.U_PER_M2, Route.IV), "1.56", "3120", "U"),
        (DrugDose(Drug.VCR, Decimal(2), Unit.MG, Route.IV), "2.12", "2", "mg"),  # flat
        (DrugDose(Drug.DEX, Decimal(20), Unit.MG, Route.IV), "1.56", "20", "mg"),  # flat
        (DrugDose(Drug.MTX, Decimal(15), Unit.MG, Route.IT), "2.12", "15", "mg"),  # IT flat
        (DrugDose(Drug.BLINA, Decimal(28), Unit.UG_PER_DAY, Route.CIV), "2.12", "28", "ug/day"),
    ],
)
def test_calculated_dose(drug_dose, bsa, expected, unit):
    assert calculated_dose(drug_dose, Decimal(bsa)) == Decimal(expected)
    assert administered_unit(drug_dose.unit) == unit


def test_calculated_dose_accepts_a_body_surface_area():
    dau = DrugDose(Drug.DAU, Decimal(45), Unit.MG_PER_M2, Route.IV)
    assert calculated_dose(dau, body_surface_area(170, 75)) == Decimal("84.60")


# --- dose caps (rules §2) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "dose_mg", "refused"),
    [
        (Drug.VCR, "1.4", False),
        (Drug.VCR, "2", False),  # exactly 2 mg is allowed
        (Drug.VCR, "2.00", False),
        (Drug.VCR, "2.01", True),  # above 2 mg: hard error
        (Drug.VCR, "4", True),
        (Drug.VDS, "5.4", False),  # no cap for vindesine in docs/protocol-rules.md
        (Drug.DAU, "90", False),
    ],
)
def test_dose_cap_error(drug, dose_mg, refused):
    message = dose_cap_error(drug, Decimal(dose_mg))
    assert (message is not None) == refused
    if refused:
        assert "VCR" in message and "2 mg" in message


# --- dose deviation (rules §2, tolerance 10%) ----------------------------------------------


@pytest.mark.parametrize(
    ("calculated", "administered", "percent", "is_deviation"),
    [
        ("100", "100", "0.00", False),
        ("100", "109.9", "9.90", False),
        ("100", "110", "10.00", False),  # exactly 10% is within tolerance
        ("100", "110.1", "10.10", True),  # more than 10% is a deviation
        ("100", "90.1", "9.90", False),
        ("100", "90", "10.00", False),
        ("100", "89.9", "10.10", True),
        ("84.60", "93.06", "10.00", False),  # DAU 45 mg/m2 x 1.88, +10% exactly
        ("84.60", "93.07", "10.01", True),
        ("84.60", "85", "0.47", False),  # pharmacy rounding
    ],
)
def test_dose_deviation(calculated, administered, percent, is_deviation):
    result = dose_deviation(Decimal(calculated), Decimal(administered))
    assert result.difference_percent == Decimal(percent)
    assert result.is_deviation is is_deviation
    assert result.tolerance_percent == Decimal(10)


@pytest.mark.parametrize(
    ("administered", "is_deviation"), [("105", False), ("105.01", True), ("94.99", True)]
)
def test_dose_deviation_tolerance_is_a_protocol_setting(administered, is_deviation):
    result = dose_deviation(Decimal(100), Decimal(administered), tolerance_percent=Decimal(5))
    assert result.is_deviation is is_deviation


def test_dose_deviation_needs_a_positive_calculated_dose():
    with pytest.raises(ValueError):
        dose_deviation(Decimal(0), Decimal(1))


# --- blinatumomab start dose (BD-1, BD-2) -----------------------------------------

TARGET_ONLY = [(1, 28, Decimal(28))]
REDUCED_THEN_TARGET = [(1, 7, Decimal(9)), (8, 28, Decimal(28))]


@pytest.mark.verifies("BD-1", "BD-2", "UR-DOS-02")
@pytest.mark.parametrize(
    ("rule", "blasts", "expected"),
    [
        (BD_1, "0", TARGET_ONLY),
        (BD_1, "49.9", TARGET_ONLY),
        (BD_1, "50", TARGET_ONLY),  # exactly 50% belongs to the <= 50% branch
        (BD_1, "50.0", TARGET_ONLY),
        (BD_1, "50.1", REDUCED_THEN_TARGET),
        (BD_1, "51", REDUCED_THEN_TARGET),
        (BD_1, "100", REDUCED_THEN_TARGET),
        (BD_2, "10", REDUCED_THEN_TARGET),  # BD-2: everyone starts reduced
        (BD_2, "50", REDUCED_THEN_TARGET),
        (BD_2, "51", REDUCED_THEN_TARGET),
        (BD_2, None, REDUCED_THEN_TARGET),
    ],
)
def test_blinatumomab_start_plan(rule, blasts, expected):
    plan = blinatumomab_start_plan(rule, None if blasts is None else Decimal(blasts))
    assert [(s.first_infusion_day, s.last_infusion_day, s.ug_per_day) for s in plan] == expected


@pytest.mark.verifies("BD-1", "UR-DOS-02")
@pytest.mark.parametrize(
    ("blasts", "study_days"),
    [
        ("50", [(12, 39, Decimal(28))]),  # 28 ug/day from day 12
        ("51", [(12, 18, Decimal(9)), (19, 39, Decimal(28))]),  # 9 on days 12-18, 28 from 19
    ],
)
def test_blinatumomab_start_plan_in_study_days(blasts, study_days):
    plan = blinatumomab_start_plan(BD_1, Decimal(blasts))
    assert [(s.first_study_day, s.last_study_day, s.ug_per_day) for s in plan] == study_days


@pytest.mark.verifies("BD-1", "UR-DOS-02")
@pytest.mark.parametrize("blasts", [None, "-1", "100.1"])
def test_bd1_needs_a_valid_blast_percent(blasts):
    with pytest.raises(ValueError):
        blinatumomab_start_plan(BD_1, None if blasts is None else Decimal(blasts))


@pytest.mark.verifies("BD-1", "BD-2", "UR-DOS-02")
@pytest.mark.parametrize(
    ("rule", "blasts", "infusion_day", "ug_per_day"),
    [
        (BD_1, "50", 1, 28),
        (BD_1, "50", 28, 28),
        (BD_1, "51", 1, 9),
        (BD_1, "51", 7, 9),
        (BD_1, "51", 8, 28),
        (BD_2, None, 1, 9),
        (BD_2, None, 7, 9),
        (BD_2, None, 8, 28),
        (BD_2, None, 28, 28),
    ],
)
def test_expected_dose_on_infusion_day(rule, blasts, infusion_day, ug_per_day):
    plan = blinatumomab_start_plan(rule, None if blasts is None else Decimal(blasts))
    assert expected_dose_on_infusion_day(plan, infusion_day) == Decimal(ug_per_day)


@pytest.mark.verifies("BD-2", "UR-DOS-02")
@pytest.mark.parametrize("infusion_day", [0, 29])
def test_expected_dose_outside_the_cycle(infusion_day):
    with pytest.raises(ValueError):
        expected_dose_on_infusion_day(blinatumomab_start_plan(BD_2), infusion_day)


@pytest.mark.verifies("UR-DOS-02")
def test_dose_step_study_days():
    step = DoseStep(8, 28, Decimal(28))
    assert (step.first_study_day, step.last_study_day) == (19, 39)


# --- restart after an adverse reaction (BL-4, BL-5) -------------------------------

RESTART = date(2024, 3, 1)


@pytest.mark.verifies("BL-4")
def test_bl4_step_up_earliest():
    assert bl4_step_up_earliest(RESTART) == date(2024, 3, 8)


@pytest.mark.verifies("BL-4")
@pytest.mark.parametrize(
    ("days_after_restart", "allowed"),
    [
        (0, (Decimal(9),)),  # restart at 9 ug/day
        (6, (Decimal(9),)),
        (7, (Decimal(9), Decimal(28))),  # step-up no earlier than 7 days later
        (20, (Decimal(9), Decimal(28))),
    ],
)
def test_bl4_allowed_doses(days_after_restart, allowed):
    assert bl4_allowed_doses(RESTART, RESTART + timedelta(days=days_after_restart)) == allowed


@pytest.mark.verifies("BL-4")
def test_bl4_refuses_a_day_before_the_restart():
    with pytest.raises(ValueError):
        bl4_allowed_doses(RESTART, RESTART - timedelta(days=1))


@pytest.mark.verifies("BL-5")
@pytest.mark.parametrize(
    ("interruption", "expected"),
    [
        (timedelta(hours=3, minutes=59), False),
        (timedelta(hours=4), True),  # BL-5: 4 hours or more
        (timedelta(days=2), True),
    ],
)
def test_premedication_expected_before_restart(interruption, expected):
    assert premedication_expected_before_restart(interruption) is expected
