"""CTCAE v5.0: lab units, the grading of lab values (rules §5), and the grades a term has.

Every lab value is converted to one standard unit first (`to_standard`), then graded against
the ULN/LLN of its own sample (`grade_lab`). Values and limits are exact Decimals, so that a
value exactly on a boundary is decided by the table and never by a rounding error. The grade is
stored with its grading system (`GRADING_SYSTEM`). The terms this trial uses are data in
protocol/ctcae_terms.py; CRS and ICANS are graded by ASTCT 2019 in protocol/astct.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

GRADING_SYSTEM = "CTCAE 5.0"  # rules §5: stored with every grade
CTCAE_GRADES = frozenset({1, 2, 3, 4, 5})  # CTCAE v5.0: grade 5 is death


class LabTest(StrEnum):
    ALT = "alt"
    AST = "ast"
    BILIRUBIN = "bilirubin"  # total bilirubin
    GGT = "ggt"
    ALP = "alp"
    NEUTROPHILS = "neutrophils"  # absolute neutrophil count
    PLATELETS = "platelets"
    WBC = "wbc"
    HAEMOGLOBIN = "haemoglobin"
    FIBRINOGEN = "fibrinogen"
    ALBUMIN = "albumin"
    PHOSPHATE = "phosphate"
    CREATININE = "creatinine"
    POTASSIUM = "potassium"

    @property
    def label(self) -> str:
        return LAB_TEST_LABELS[self]


LAB_TEST_LABELS: dict[LabTest, str] = {
    LabTest.ALT: "ALT",
    LabTest.AST: "AST",
    LabTest.BILIRUBIN: "Total bilirubin",
    LabTest.GGT: "GGT",
    LabTest.ALP: "Alkaline phosphatase",
    LabTest.NEUTROPHILS: "Neutrophils",
    LabTest.PLATELETS: "Platelets",
    LabTest.WBC: "White blood cells",
    LabTest.HAEMOGLOBIN: "Haemoglobin",
    LabTest.FIBRINOGEN: "Fibrinogen",
    LabTest.ALBUMIN: "Albumin",
    LabTest.PHOSPHATE: "Phosphate",
    LabTest.CREATININE: "Creatinine",
    LabTest.POTASSIUM: "Potassium",
}


class Direction(StrEnum):
    """Which side of normal a graded value is on: it picks the CTCAE term (ctcae_terms)."""

    HIGH = "high"
    LOW = "low"


# --- Units -----------------------------------------------------------------------------------

U_PER_L = "U/L"
UKAT_PER_L = "µkat/L"
UMOL_PER_L = "µmol/L"
MG_PER_DL = "mg/dL"
G_PER_L = "g/L"
G_PER_DL = "g/dL"
GIGA_PER_L = "10^9/L"
PER_MM3 = "/mm3"  # cells per mm³ (= per µL) = 10^6/L
MMOL_PER_L = "mmol/L"
MEQ_PER_L = "mEq/L"

_ENZYMES = (LabTest.ALT, LabTest.AST, LabTest.GGT, LabTest.ALP)
_COUNTS = (LabTest.NEUTROPHILS, LabTest.PLATELETS, LabTest.WBC)

STANDARD_UNIT: dict[LabTest, str] = {
    **dict.fromkeys(_ENZYMES, U_PER_L),
    LabTest.BILIRUBIN: UMOL_PER_L,
    LabTest.CREATININE: UMOL_PER_L,
    LabTest.HAEMOGLOBIN: G_PER_L,
    LabTest.ALBUMIN: G_PER_L,
    LabTest.FIBRINOGEN: G_PER_L,
    **dict.fromkeys(_COUNTS, GIGA_PER_L),
    LabTest.PHOSPHATE: MMOL_PER_L,
    LabTest.POTASSIUM: MMOL_PER_L,
}

# Exact factors to the standard unit: standard value = value x factor
UKAT_TO_U = Decimal(60)  # 1 U = 1 µmol/min, 1 µkat = 1 µmol/s: 1 µkat/L = 60 U/L
BILIRUBIN_MG_DL_TO_UMOL_L = Decimal("17.104")  # bilirubin 584.66 g/mol
CREATININE_MG_DL_TO_UMOL_L = Decimal("88.42")  # creatinine 113.12 g/mol
G_DL_TO_G_L = Decimal(10)  # 1 dL = 0.1 L
FIBRINOGEN_MG_DL_TO_G_L = Decimal("0.01")  # 100 mg/dL = 1 g/L
PER_MM3_TO_GIGA_PER_L = Decimal("0.001")  # 1 mm³ = 1 µL = 1E-6 L: 1000 /mm³ = 10^9/L
PHOSPHATE_MG_DL_TO_MMOL_L = Decimal("0.3229")  # phosphorus 30.97 g/mol
POTASSIUM_MEQ_TO_MMOL = Decimal(1)  # K+ carries one charge: 1 mEq = 1 mmol

_CONVERSIONS: dict[LabTest, dict[str, Decimal]] = {
    **{test: {U_PER_L: Decimal(1), UKAT_PER_L: UKAT_TO_U} for test in _ENZYMES},
    LabTest.BILIRUBIN: {UMOL_PER_L: Decimal(1), MG_PER_DL: BILIRUBIN_MG_DL_TO_UMOL_L},
    LabTest.CREATININE: {UMOL_PER_L: Decimal(1), MG_PER_DL: CREATININE_MG_DL_TO_UMOL_L},
    LabTest.HAEMOGLOBIN: {G_PER_L: Decimal(1), G_PER_DL: G_DL_TO_G_L},
    LabTest.ALBUMIN: {G_PER_L: Decimal(1), G_PER_DL: G_DL_TO_G_L},
    LabTest.FIBRINOGEN: {G_PER_L: Decimal(1), MG_PER_DL: FIBRINOGEN_MG_DL_TO_G_L},
    **{test: {GIGA_PER_L: Decimal(1), PER_MM3: PER_MM3_TO_GIGA_PER_L} for test in _COUNTS},
    LabTest.PHOSPHATE: {MMOL_PER_L: Decimal(1), MG_PER_DL: PHOSPHATE_MG_DL_TO_MMOL_L},
    LabTest.POTASSIUM: {MMOL_PER_L: Decimal(1), MEQ_PER_L: POTASSIUM_MEQ_TO_MMOL},
}
# the standard unit first
ALLOWED_UNITS: dict[LabTest, tuple[str, ...]] = {
    test: tuple(factors) for test, factors in _CONVERSIONS.items()
}

# Spellings seen on lab reports, compared without spaces, case-folded, with µ/μ as "u".
# "G/L" (giga per litre) is refused: it reads as g/L.
_UNIT_SPELLINGS: dict[str, str] = {
    "u/l": U_PER_L,
    "iu/l": U_PER_L,
    "ukat/l": UKAT_PER_L,
    "umol/l": UMOL_PER_L,
    "mg/dl": MG_PER_DL,
    "g/l": G_PER_L,
    "g/dl": G_PER_DL,
    "10^9/l": GIGA_PER_L,
    "/mm3": PER_MM3,
    "cells/mm3": PER_MM3,
    "/ul": PER_MM3,
    "cells/ul": PER_MM3,
    "mmol/l": MMOL_PER_L,
    "meq/l": MEQ_PER_L,
}
_UNIT_CHARACTERS = str.maketrans({"μ": "u", "³": "3", "⁹": "^9"})


class UnitError(ValueError):
    """A unit that is unknown, ambiguous or not allowed for the test; the message lists the
    allowed ones."""


def _allowed(test: LabTest) -> str:
    return ", ".join(ALLOWED_UNITS[test])


def normalise_unit(unit: str) -> str:
    """The eCRF spelling of a unit: "umol/l" -> "µmol/L", "x10⁹/L" -> "10^9/L", "IU/L" -> "U/L".

    Raises UnitError for an unknown unit and for "G/L", which could be 10^9/L or g/L.
    """
    compact = "".join(unit.split())
    if compact.casefold() == "g/l" and "G" in compact:
        raise UnitError(
            f"'{unit}' is ambiguous: giga per litre or grams per litre; write {GIGA_PER_L} for "
            f"cell counts or {G_PER_L} for grams per litre."
        )
    key = compact.casefold().translate(_UNIT_CHARACTERS)  # casefold turns µ into μ
    key = key.replace("^3", "3").replace("10e9", "10^9").lstrip("x×*")
    try:
        return _UNIT_SPELLINGS[key]
    except KeyError:
        known = ", ".join(dict.fromkeys(_UNIT_SPELLINGS.values()))
        raise UnitError(f"'{unit}' is not a unit the eCRF knows; known units: {known}.") from None


def to_standard(test: LabTest, value: Decimal, unit: str) -> Decimal:
    """The value in the standard unit of the test (STANDARD_UNIT), exactly.

    Examples: ALT 2 µkat/L -> 120 U/L; bilirubin 1 mg/dL -> 17.104 µmol/L; platelets
    75000 /mm3 -> 75 x 10^9/L. Raises UnitError for a unit not allowed for the test.
    """
    test = LabTest(test)
    value = _number("value", value)
    try:
        canonical = normalise_unit(unit)
    except UnitError as error:
        raise UnitError(f"{error} {test.label} is entered in {_allowed(test)}.") from None
    factor = _CONVERSIONS[test].get(canonical)
    if factor is None:
        raise UnitError(
            f"{canonical} is not a unit for {test.label}; enter it in {_allowed(test)}."
        )
    return value * factor


def _number(name: str, number: Decimal | int) -> Decimal:
    """An exact, finite Decimal; a float is refused because it is not exact (0.1 + 0.2)."""
    if isinstance(number, bool) or not isinstance(number, Decimal | int):
        raise TypeError(f"The {name} must be a Decimal, e.g. Decimal('40.1'), not {number!r}.")
    number = Decimal(number)
    if not number.is_finite():
        raise ValueError(f"The {name} {number} is not a number.")
    return number


# --- Grading thresholds (rules §5) ---------------------------------------------------------


@dataclass(frozen=True)
class _Multiples:
    """An 'increased' term graded in multiples of a reference (ULN or baseline).

    Grade 1 starts above `grade_1_from` x reference (at it, if `from_included`); the upper bound
    of grades 1-3 is included: "> 3.0 - 5.0 x ULN" is 3.0 x ULN < value <= 5.0 x ULN.
    """

    grade_1_from: Decimal
    from_included: bool
    grade_1_to: Decimal
    grade_2_to: Decimal
    grade_3_to: Decimal

    def grade(self, value: Decimal, reference: Decimal) -> int:
        if value > self.grade_3_to * reference:
            return 4
        if value > self.grade_2_to * reference:
            return 3
        if value > self.grade_1_to * reference:
            return 2
        start = self.grade_1_from * reference
        if value > start or (self.from_included and value == start):
            return 1
        return 0


def _multiples(start: str, included: bool, *upper: str) -> _Multiples:
    to_1, to_2, to_3 = (Decimal(bound) for bound in upper)
    return _Multiples(Decimal(start), included, to_1, to_2, to_3)


# rules §5 / CTCAE v5.0 ALT, AST increased, baseline normal: > ULN - 3.0 - 5.0 - 20.0 x ULN
AMINOTRANSFERASE_BY_ULN = _multiples("1.0", False, "3.0", "5.0", "20.0")
# rules §5 / CTCAE v5.0 ALT, AST increased, baseline abnormal: 1.5 (included) - 3.0 - 5.0
# - 20.0 x baseline; below 1.5 x baseline is grade 0
AMINOTRANSFERASE_BY_BASELINE = _multiples("1.5", True, "3.0", "5.0", "20.0")
# rules §5 / CTCAE v5.0 blood bilirubin increased, baseline normal: > ULN - 1.5 - 3.0 - 10.0
BILIRUBIN_BY_ULN = _multiples("1.0", False, "1.5", "3.0", "10.0")
# rules §5 / CTCAE v5.0 blood bilirubin increased, baseline abnormal: > 1.0 - 1.5 - 3.0 - 10.0
BILIRUBIN_BY_BASELINE = _multiples("1.0", False, "1.5", "3.0", "10.0")
# rules §5 / CTCAE v5.0 GGT, alkaline phosphatase increased, baseline normal: > ULN - 2.5 - 5.0
# - 20.0 x ULN
CHOLESTASIS_BY_ULN = _multiples("1.0", False, "2.5", "5.0", "20.0")
# rules §5 / CTCAE v5.0 GGT, ALP increased, baseline abnormal: 2.0 (included) - 2.5 - 5.0 - 20.0
CHOLESTASIS_BY_BASELINE = _multiples("2.0", True, "2.5", "5.0", "20.0")
# rules §5 / CTCAE v5.0 creatinine increased: > ULN - 1.5 - 3.0 - 6.0 x ULN
CREATININE_BY_ULN = _multiples("1.0", False, "1.5", "3.0", "6.0")
# rules §5 / CTCAE v5.0 creatinine increased: grade 2 > 1.5 - 3.0 x baseline, grade 3 > 3.0 x
# baseline; the baseline gives no grade 1 or 4
CREATININE_GRADE_2_ABOVE_BASELINE = Decimal("1.5")
CREATININE_GRADE_3_ABOVE_BASELINE = Decimal("3.0")

_LIVER_BY_ULN = {
    LabTest.ALT: AMINOTRANSFERASE_BY_ULN,
    LabTest.AST: AMINOTRANSFERASE_BY_ULN,
    LabTest.BILIRUBIN: BILIRUBIN_BY_ULN,
    LabTest.GGT: CHOLESTASIS_BY_ULN,
    LabTest.ALP: CHOLESTASIS_BY_ULN,
}
_LIVER_BY_BASELINE = {
    LabTest.ALT: AMINOTRANSFERASE_BY_BASELINE,
    LabTest.AST: AMINOTRANSFERASE_BY_BASELINE,
    LabTest.BILIRUBIN: BILIRUBIN_BY_BASELINE,
    LabTest.GGT: CHOLESTASIS_BY_BASELINE,
    LabTest.ALP: CHOLESTASIS_BY_BASELINE,
}

# Fixed cut-offs, in the standard unit: (grade, cut-off) from the mildest. They apply whatever
# the local LLN (rules §5); grade 1 is below the LLN and above the first cut-off.
# rules §5 / CTCAE v5.0 neutrophil count decreased: < LLN - 1.5 - 1.0 - 0.5 x 10^9/L
NEUTROPHILS_BELOW = ((2, Decimal("1.5")), (3, Decimal("1.0")), (4, Decimal("0.5")))
# rules §5 / CTCAE v5.0 platelet count decreased: < LLN - 75 - 50 - 25 x 10^9/L
PLATELETS_BELOW = ((2, Decimal(75)), (3, Decimal(50)), (4, Decimal(25)))
# rules §5 / CTCAE v5.0 white blood cell decreased: < LLN - 3.0 - 2.0 - 1.0 x 10^9/L
WBC_BELOW = ((2, Decimal("3.0")), (3, Decimal("2.0")), (4, Decimal("1.0")))
# rules §5 / CTCAE v5.0 anemia: < LLN - 100 - 80 g/L; grade 4 is clinical only
HAEMOGLOBIN_BELOW = ((2, Decimal(100)), (3, Decimal(80)))
# rules §5 / CTCAE v5.0 hypoalbuminemia: < LLN - 30 - 20 g/L; grade 4 is clinical only
ALBUMIN_BELOW = ((2, Decimal(30)), (3, Decimal(20)))
# CTCAE v5.0 hypokalemia (not in the rules §5 table): < LLN - 3.0 grade 1 (grade 2 is the same
# range when symptomatic or intervention indicated: clinical), < 3.0 - 2.5 grade 3, < 2.5 grade 4
POTASSIUM_BELOW = ((3, Decimal("3.0")), (4, Decimal("2.5")))
# CTCAE v5.0 hyperkalemia (not in the docs/protocol-rules.md table): > ULN - 5.5 - 6.0 - 7.0 mmol/L
POTASSIUM_ABOVE = ((2, Decimal("5.5")), (3, Decimal("6.0")), (4, Decimal("7.0")))

_FIXED_BELOW = {
    LabTest.NEUTROPHILS: NEUTROPHILS_BELOW,
    LabTest.PLATELETS: PLATELETS_BELOW,
    LabTest.WBC: WBC_BELOW,
    LabTest.HAEMOGLOBIN: HAEMOGLOBIN_BELOW,
    LabTest.ALBUMIN: ALBUMIN_BELOW,
}

# rules §5 / CTCAE v5.0 fibrinogen decreased: < 1.0 - 0.75 - 0.5 - 0.25 x LLN
FIBRINOGEN_BELOW_LLN = ((2, Decimal("0.75")), (3, Decimal("0.5")), (4, Decimal("0.25")))
# rules §5 / CTCAE v5.0 fibrinogen decreased grade 4: absolute value < 0.5 g/L (50 mg/dL)
FIBRINOGEN_GRADE_4_BELOW = Decimal("0.5")

CLINICAL_GRADE_4_NOTE = (
    "grade 4 (life-threatening consequences; urgent intervention indicated) is clinical: "
    "the investigator decides"
)
HYPOKALEMIA_GRADE_2_NOTE = (
    "grade 2 if symptomatic or intervention indicated (CTCAE v5.0): the investigator decides"
)
NOT_GRADED_NOTE = "CTCAE v5.0 has no numeric criteria: the investigator grades it"


# --- Grading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabGrade:
    """A lab value's CTCAE grade; None = not graded from a number (the note says why).

    `direction` (HIGH/LOW) says which term an abnormal value belongs to (ctcae_terms.lab_term);
    recorded_lab_grade gives it back for a grade that was stored without it.
    """

    grade: int | None
    system: str = GRADING_SYSTEM
    note: str = ""
    direction: Direction | None = None


def is_baseline_abnormal(baseline_value: Decimal, baseline_uln: Decimal) -> bool:
    """rules §5: the baseline (last value before study day 1) is abnormal above its ULN."""
    return _number("baseline", baseline_value) > _limit("ULN of the baseline", baseline_uln)


class LimitError(ValueError):
    """A value or a limit that cannot be graded against; `field` names which one ("value",
    "lln", "uln"), so that a form shows the message beside it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


_FIELDS = {"LLN": "lln", "ULN": "uln"}


def _limit(name: str, limit: Decimal | None, *, zero_allowed: bool = False) -> Decimal:
    field = _FIELDS.get(name, "value")
    if limit is None:
        raise LimitError(f"The {name} is missing.", field)
    try:
        number = _number(name, limit)
    except ValueError as error:
        raise LimitError(str(error), field) from None
    if number < 0 or (number == 0 and not zero_allowed):
        above = "zero or above" if zero_allowed else "above zero"
        raise LimitError(f"The {name} {number} must be {above}.", field)
    return number


def _needed(test: LabTest, name: str, limit: Decimal | None) -> Decimal:
    if limit is None:
        raise LimitError(
            f"{test.label} is graded against the {name} of its own sample (rules §5); "
            f"enter the {name}.",
            _FIELDS[name],
        )
    return _limit(name, limit)


_Steps = tuple[tuple[int, Decimal], ...]


def _below(value: Decimal, normal_limit: Decimal, steps: _Steps) -> int:
    """Grade 1 below the normal limit, then each step's grade below its cut-off."""
    grade = 1 if value < normal_limit else 0
    for step_grade, cut_off in steps:
        if value < cut_off:
            grade = step_grade
    return grade


def _above(value: Decimal, normal_limit: Decimal, steps: _Steps) -> int:
    """Grade 1 above the normal limit, then each step's grade above its cut-off."""
    grade = 1 if value > normal_limit else 0
    for step_grade, cut_off in steps:
        if value > cut_off:
            grade = step_grade
    return grade


def _lab_grade(grade: int, direction: Direction, note: str = "") -> LabGrade:
    return LabGrade(grade, note=note if grade else "", direction=direction if grade else None)


def reference_range_check(
    lln: Decimal | None, uln: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """A reference range (a sample's, or a site's default): the LLN is 0 or above (ALT 0-40
    U/L: 0 is a lower limit like any other), the ULN above zero, the LLN below the ULN. Either
    may be missing. LimitError names the limit at fault."""
    if lln is not None:
        lln = _limit("LLN", lln, zero_allowed=True)
    if uln is not None:
        uln = _limit("ULN", uln)
    if lln is not None and uln is not None and lln >= uln:
        raise LimitError(f"The LLN {lln} must be below the ULN {uln}.", "lln")
    return lln, uln


def grade_lab(
    test: LabTest,
    value: Decimal,
    *,
    uln: Decimal | None = None,
    lln: Decimal | None = None,
    baseline: Decimal | None = None,
    baseline_abnormal: bool | None = None,
) -> LabGrade:
    """rules §5: the CTCAE v5.0 grade of a value in the standard unit (to_standard).

    `uln`/`lln` are those of the value's own sample; a limit the test is graded against is
    required (ValueError naming it). `baseline` is the last value before study day 1 in the
    standard unit, and `baseline_abnormal` whether it was above its ULN (is_baseline_abnormal):
    ALT, AST, bilirubin, GGT and ALP with an abnormal baseline are graded in multiples of the
    baseline; creatinine takes the worse of its ULN grade and its baseline grade. Other tests
    ignore the baseline. Grade 0 = within normal; grade None = not graded from a number
    (phosphate).
    """
    test = LabTest(test)
    value = _number("value", value)
    if value < 0:
        raise LimitError(
            f"{test.label} {value} is below zero; a concentration is 0 or more.", "value"
        )
    lln, uln = reference_range_check(lln, uln)
    if baseline is not None:
        baseline = _limit("baseline", baseline)

    if test in _LIVER_BY_ULN:
        return _grade_liver(test, value, uln, baseline, baseline_abnormal)
    if test is LabTest.CREATININE:
        return _grade_creatinine(value, _needed(test, "ULN", uln), baseline)
    if test in _FIXED_BELOW:
        grade = _below(value, _needed(test, "LLN", lln), _FIXED_BELOW[test])
        clinical = test in (LabTest.HAEMOGLOBIN, LabTest.ALBUMIN) and grade == 3
        return _lab_grade(grade, Direction.LOW, CLINICAL_GRADE_4_NOTE if clinical else "")
    if test is LabTest.FIBRINOGEN:
        return _grade_fibrinogen(value, _needed(test, "LLN", lln))
    if test is LabTest.POTASSIUM:
        return _grade_potassium(value, _needed(test, "ULN", uln), _needed(test, "LLN", lln))
    assert test is LabTest.PHOSPHATE
    # CTCAE v5.0 hypophosphatemia grades by treatment and consequences only
    low = lln is not None and value < lln
    return LabGrade(None, note=NOT_GRADED_NOTE, direction=Direction.LOW if low else None)


def _grade_liver(
    test: LabTest,
    value: Decimal,
    uln: Decimal | None,
    baseline: Decimal | None,
    baseline_abnormal: bool | None,
) -> LabGrade:
    if baseline_abnormal is None and baseline is not None:
        raise ValueError(
            f"{test.label} with a baseline of {baseline}: say whether the baseline was abnormal "
            "(above the ULN of its sample, rules §5)."
        )
    if not baseline_abnormal:
        grade = _LIVER_BY_ULN[test].grade(value, _needed(test, "ULN", uln))
        return _lab_grade(grade, Direction.HIGH)
    if baseline is None:
        raise ValueError(
            f"{test.label} with an abnormal baseline is graded in multiples of the baseline "
            "(rules §5); enter the baseline value."
        )
    grade = _LIVER_BY_BASELINE[test].grade(value, baseline)
    note = f"graded in multiples of the abnormal baseline {baseline} {STANDARD_UNIT[test]}"
    return _lab_grade(grade, Direction.HIGH, note)


def _grade_creatinine(value: Decimal, uln: Decimal, baseline: Decimal | None) -> LabGrade:
    by_uln = CREATININE_BY_ULN.grade(value, uln)
    by_baseline = 0
    if baseline is not None:
        if value > CREATININE_GRADE_3_ABOVE_BASELINE * baseline:
            by_baseline = 3
        elif value > CREATININE_GRADE_2_ABOVE_BASELINE * baseline:
            by_baseline = 2
    if by_baseline > by_uln:
        note = f"graded against the baseline {baseline} {UMOL_PER_L} (worse than against the ULN)"
        return _lab_grade(by_baseline, Direction.HIGH, note)
    return _lab_grade(by_uln, Direction.HIGH)


def _grade_fibrinogen(value: Decimal, lln: Decimal) -> LabGrade:
    steps = tuple((grade, fraction * lln) for grade, fraction in FIBRINOGEN_BELOW_LLN)
    grade = _below(value, lln, steps)
    if value < FIBRINOGEN_GRADE_4_BELOW:
        grade = 4
    return _lab_grade(grade, Direction.LOW)


def _grade_potassium(value: Decimal, uln: Decimal, lln: Decimal) -> LabGrade:
    if _potassium_direction(value, uln, lln) is Direction.HIGH:
        return _lab_grade(_above(value, uln, POTASSIUM_ABOVE), Direction.HIGH)
    grade = _below(value, lln, POTASSIUM_BELOW)
    return _lab_grade(grade, Direction.LOW, HYPOKALEMIA_GRADE_2_NOTE if grade == 1 else "")


# --- The direction of a recorded grade --------------------------------------------------------

# The side of normal that grade_lab grades each test on; potassium is graded on both sides
# (hyperkalemia above its ULN, hypokalemia below its LLN), decided by _potassium_direction.
_ONE_SIDED: dict[LabTest, Direction] = {
    **dict.fromkeys(_LIVER_BY_ULN, Direction.HIGH),
    LabTest.CREATININE: Direction.HIGH,
    **dict.fromkeys(_FIXED_BELOW, Direction.LOW),
    LabTest.FIBRINOGEN: Direction.LOW,
    LabTest.PHOSPHATE: Direction.LOW,
}


def _potassium_direction(
    value: Decimal, uln: Decimal | None, lln: Decimal | None
) -> Direction | None:
    if uln is not None and value > uln:
        return Direction.HIGH
    if lln is not None and value < lln:
        return Direction.LOW
    return None


def recorded_lab_grade(
    test: LabTest,
    grade: int | None,
    value: Decimal,
    *,
    uln: Decimal | None = None,
    lln: Decimal | None = None,
) -> LabGrade:
    """A grade grade_lab gave and the app stored, with the direction grade_lab gave it.

    `value`, `uln` and `lln` are those of the value's own sample, all in one unit (the unit it
    was entered in, or all converted by to_standard). A grade of 1 or more lies on the side the
    test is graded on; potassium's side is its value against its ULN and LLN. Grade 0 has no
    direction; grade None (not graded from a number: phosphate) is low below its LLN.
    """
    test = LabTest(test)
    value = _number("value", value)
    if grade is None:
        low = test is LabTest.PHOSPHATE and lln is not None and value < lln
        return LabGrade(None, note=NOT_GRADED_NOTE, direction=Direction.LOW if low else None)
    if grade < 1:
        return LabGrade(grade)
    if test is LabTest.POTASSIUM:
        return LabGrade(grade, direction=_potassium_direction(value, uln, lln))
    return LabGrade(grade, direction=_ONE_SIDED[test])


# --- Terms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CtcaeTerm:
    """A CTCAE v5.0 term and the grades it has (rules §5: "-" = grade not available)."""

    meddra_code: int
    term: str
    soc: str  # MedDRA system organ class
    grades: frozenset[int]

    def __post_init__(self) -> None:
        if not self.grades or not self.grades <= CTCAE_GRADES:
            raise ValueError(
                f"{self.term}: grades {sorted(self.grades)} must be some of 1-5 (CTCAE v5.0)."
            )


def _grade_choice(grades: frozenset[int]) -> str:
    ordered = sorted(grades)
    if len(ordered) >= 3 and ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"{ordered[0]}–{ordered[-1]}"
    if len(ordered) == 1:
        return str(ordered[0])
    return ", ".join(str(grade) for grade in ordered[:-1]) + f" or {ordered[-1]}"


def grade_error(term: CtcaeTerm, grade: int) -> str | None:
    """rules §5: the app refuses a grade the term does not have; None when it has it.

    e.g. "Febrile neutropenia has no grade 2 in CTCAE v5.0; choose 3–5."
    """
    if isinstance(grade, int) and not isinstance(grade, bool) and grade in term.grades:
        return None
    return f"{term.term} has no grade {grade} in CTCAE v5.0; choose {_grade_choice(term.grades)}."
