"""rules §5 (CTCAE v5.0 lab grading, units) and rules §6 (ASTCT 2019 CRS and ICANS)."""

from decimal import Decimal

import pytest

from protocol.astct import (
    ASTCT_SYSTEM,
    Consciousness,
    Hypotension,
    IceScore,
    MotorFinding,
    OxygenSupport,
    RaisedIcp,
    Seizure,
    crs_grade,
    icans_grade,
    ice_errors,
    ice_grade,
    is_fever,
)
from protocol.ctcae import (
    ALLOWED_UNITS,
    GRADING_SYSTEM,
    STANDARD_UNIT,
    CtcaeTerm,
    Direction,
    LabGrade,
    LabTest,
    UnitError,
    grade_error,
    grade_lab,
    is_baseline_abnormal,
    normalise_unit,
    to_standard,
)

pytestmark = pytest.mark.verifies("UR-LAB-01")

D = Decimal
T = LabTest


def grades(test, values, **limits):
    return [grade_lab(test, D(value), **limits).grade for value in values]


# --- rules §5: hepatic tests, baseline normal (multiples of the ULN) -------------------------

ULN_ROWS = [
    # ALT/AST, ULN 40: > ULN - 3.0 - 5.0 - 20.0 x ULN; 5.0 x ULN exactly is grade 2, not 3
    *[
        (test, value, grade)
        for test in (T.ALT, T.AST)
        for value, grade in [
            ("0", 0),
            ("40", 0),
            ("40.1", 1),
            ("120", 1),
            ("120.1", 2),
            ("200", 2),
            ("200.1", 3),
            ("800", 3),
            ("800.1", 4),
        ]
    ],
    # bilirubin, ULN 20: > ULN - 1.5 - 3.0 - 10.0 x ULN
    *[
        (T.BILIRUBIN, value, grade)
        for value, grade in [
            ("20", 0),
            ("20.1", 1),
            ("30", 1),
            ("30.1", 2),
            ("60", 2),
            ("60.1", 3),
            ("200", 3),
            ("200.1", 4),
        ]
    ],
    # GGT/ALP, ULN 40: > ULN - 2.5 - 5.0 - 20.0 x ULN
    *[
        (test, value, grade)
        for test in (T.GGT, T.ALP)
        for value, grade in [
            ("40", 0),
            ("40.1", 1),
            ("100", 1),
            ("100.1", 2),
            ("200", 2),
            ("200.1", 3),
            ("800", 3),
            ("800.1", 4),
        ]
    ],
]


@pytest.mark.parametrize(("test", "value", "grade"), ULN_ROWS)
@pytest.mark.parametrize("baseline_abnormal", [None, False])
def test_hepatic_baseline_normal(test, value, grade, baseline_abnormal):
    uln = D(20) if test is T.BILIRUBIN else D(40)
    result = grade_lab(test, D(value), uln=uln, baseline_abnormal=baseline_abnormal)
    assert result.grade == grade
    assert result.system == GRADING_SYSTEM == "CTCAE 5.0"
    assert result.direction == (Direction.HIGH if grade else None)


def test_baseline_normal_with_a_baseline_value_grades_against_the_uln():
    # a normal baseline of 30 changes nothing: 120.1 is > 3 x ULN 40
    assert (
        grade_lab(T.ALT, D("120.1"), uln=D(40), baseline=D(30), baseline_abnormal=False).grade == 2
    )


# --- rules §5: hepatic tests, baseline abnormal (multiples of the baseline) ----------------

BASELINE_ROWS = [
    # ALT/AST, baseline 80: 1.5 (included) - 3.0 - 5.0 - 20.0 x baseline; below 1.5 x is 0
    *[
        (test, value, grade)
        for test in (T.ALT, T.AST)
        for value, grade in [
            ("60", 0),
            ("119", 0),
            ("119.9", 0),
            ("120", 1),
            ("240", 1),
            ("240.1", 2),
            ("400", 2),
            ("400.1", 3),
            ("1600", 3),
            ("1600.1", 4),
        ]
    ],
    # bilirubin, baseline 80: > 1.0 - 1.5 - 3.0 - 10.0 x baseline
    *[
        (T.BILIRUBIN, value, grade)
        for value, grade in [
            ("80", 0),
            ("80.1", 1),
            ("120", 1),
            ("120.1", 2),
            ("240", 2),
            ("240.1", 3),
            ("800", 3),
            ("800.1", 4),
        ]
    ],
    # GGT/ALP, baseline 80: 2.0 (included) - 2.5 - 5.0 - 20.0 x baseline; below 2.0 x is 0
    *[
        (test, value, grade)
        for test in (T.GGT, T.ALP)
        for value, grade in [
            ("159.9", 0),
            ("160", 1),
            ("200", 1),
            ("200.1", 2),
            ("400", 2),
            ("400.1", 3),
            ("1600", 3),
            ("1600.1", 4),
        ]
    ],
]


@pytest.mark.parametrize(("test", "value", "grade"), BASELINE_ROWS)
def test_hepatic_baseline_abnormal(test, value, grade):
    result = grade_lab(test, D(value), uln=D(40), baseline=D(80), baseline_abnormal=True)
    assert result.grade == grade
    if grade:
        assert "baseline 80" in result.note


def test_abnormal_baseline_does_not_need_the_uln():
    assert grade_lab(T.ALT, D(120), baseline=D(80), baseline_abnormal=True).grade == 1


def test_abnormal_baseline_grades_lower_than_the_uln_would():
    # ALT 200 with ULN 40 is grade 2 against the ULN, but only 2.5 x the abnormal baseline 80
    assert grade_lab(T.ALT, D(200), uln=D(40)).grade == 2
    assert grade_lab(T.ALT, D(200), uln=D(40), baseline=D(80), baseline_abnormal=True).grade == 1


@pytest.mark.parametrize(
    ("baseline", "uln", "abnormal"),
    [("40", "40", False), ("40.1", "40", True), ("10", "40", False), ("80", "40", True)],
)
def test_is_baseline_abnormal(baseline, uln, abnormal):
    assert is_baseline_abnormal(D(baseline), D(uln)) is abnormal


def test_abnormal_baseline_needs_the_baseline_value():
    with pytest.raises(ValueError, match="enter the baseline value"):
        grade_lab(T.ALT, D(100), uln=D(40), baseline_abnormal=True)


def test_baseline_value_without_saying_whether_it_was_abnormal_is_refused():
    with pytest.raises(ValueError, match="say whether the baseline was abnormal"):
        grade_lab(T.AST, D(100), uln=D(40), baseline=D(80))


# --- rules §5: fixed cut-offs, whatever the local LLN ---------------------------------------

FIXED_ROWS = [
    # neutrophils, LLN 2.0: < LLN - 1.5 - 1.0 - 0.5
    (T.NEUTROPHILS, "2.0", [("2.0", 0), ("1.99", 1), ("1.5", 1), ("1.49", 2), ("1.0", 2)]),
    (T.NEUTROPHILS, "2.0", [("0.99", 3), ("0.5", 3), ("0.49", 4), ("0", 4)]),
    # platelets, LLN 150: < LLN - 75 - 50 - 25
    (T.PLATELETS, "150", [("150", 0), ("149", 1), ("75", 1), ("74.9", 2), ("50", 2)]),
    (T.PLATELETS, "150", [("49.9", 3), ("25", 3), ("24.9", 4)]),
    # white cells, LLN 4.0: < LLN - 3.0 - 2.0 - 1.0
    (T.WBC, "4.0", [("4.0", 0), ("3.9", 1), ("3.0", 1), ("2.9", 2), ("2.0", 2)]),
    (T.WBC, "4.0", [("1.9", 3), ("1.0", 3), ("0.9", 4)]),
    # haemoglobin g/L, LLN 120: < LLN - 100 - 80, never 4 from a number
    (T.HAEMOGLOBIN, "120", [("120", 0), ("119", 1), ("100", 1), ("99", 2), ("80", 2)]),
    (T.HAEMOGLOBIN, "120", [("79", 3), ("40", 3), ("0", 3)]),
    # albumin g/L, LLN 35: < LLN - 30 - 20, never 4 from a number
    (T.ALBUMIN, "35", [("35", 0), ("34.9", 1), ("30", 1), ("29.9", 2), ("20", 2)]),
    (T.ALBUMIN, "35", [("19.9", 3), ("5", 3)]),
    # a local LLN below a cut-off does not move it: neutrophils 1.45 is grade 2 with LLN 1.4
    (T.NEUTROPHILS, "1.4", [("1.45", 2), ("1.5", 0)]),
    (T.PLATELETS, "70", [("72", 2), ("75", 0)]),
]


@pytest.mark.parametrize(("test", "lln", "rows"), FIXED_ROWS)
def test_fixed_cut_offs(test, lln, rows):
    values = [value for value, _ in rows]
    assert grades(test, values, lln=D(lln)) == [grade for _, grade in rows]


@pytest.mark.parametrize("test", [T.HAEMOGLOBIN, T.ALBUMIN])
def test_haemoglobin_and_albumin_grade_4_is_clinical(test):
    result = grade_lab(test, D(1), lln=D(35))
    assert result.grade == 3
    assert "clinical" in result.note
    assert result.direction is Direction.LOW


@pytest.mark.parametrize("test", [T.NEUTROPHILS, T.PLATELETS, T.WBC, T.HAEMOGLOBIN, T.ALBUMIN])
def test_fixed_cut_off_tests_ignore_the_baseline(test):
    assert grade_lab(test, D(1000), lln=D(1), baseline=D(10), baseline_abnormal=True).grade == 0


# --- rules §5: fibrinogen -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lln", "value", "grade"),
    [
        # LLN 2.0 g/L: < 1.0 - 0.75 - 0.5 - 0.25 x LLN
        ("2.0", "2.0", 0),
        ("2.0", "1.99", 1),
        ("2.0", "1.5", 1),
        ("2.0", "1.49", 2),
        ("2.0", "1.0", 2),
        ("2.0", "0.99", 3),
        ("2.0", "0.5", 3),  # 0.25 x LLN and the absolute limit are both 0.5: not below either
        ("2.0", "0.49", 4),
        # LLN 4.0: grade 4 below 0.25 x LLN = 1.0 (the absolute limit is lower)
        ("4.0", "1.0", 3),
        ("4.0", "0.99", 4),
        # LLN 1.5: 0.25 x LLN = 0.375, but below 0.5 g/L is grade 4 anyway
        ("1.5", "0.5", 3),
        ("1.5", "0.49", 4),
        ("1.5", "0.375", 4),
        ("1.5", "0.374", 4),
    ],
)
def test_fibrinogen(lln, value, grade):
    assert grade_lab(T.FIBRINOGEN, D(value), lln=D(lln)).grade == grade


# --- rules §5: creatinine, with and without a baseline -------------------------------------


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        # ULN 100: > ULN - 1.5 - 3.0 - 6.0 x ULN
        ("100", 0),
        ("100.1", 1),
        ("150", 1),
        ("150.1", 2),
        ("300", 2),
        ("300.1", 3),
        ("600", 3),
        ("600.1", 4),
    ],
)
def test_creatinine_against_the_uln(value, grade):
    assert grade_lab(T.CREATININE, D(value), uln=D(100)).grade == grade


@pytest.mark.parametrize(
    ("baseline", "value", "grade"),
    [
        # baseline 60, ULN 100: > 1.5 x baseline (90) is grade 2, > 3.0 x baseline (180) grade 3
        ("60", "90", 0),
        ("60", "90.1", 2),  # within the normal range, but more than 1.5 x baseline
        ("60", "120", 2),  # grade 1 by ULN, 2 by baseline: the worse
        ("60", "180", 2),
        ("60", "180.1", 3),  # grade 2 by ULN, 3 by baseline
        ("60", "600.1", 4),  # the baseline gives no grade 4: the ULN does
        # baseline 100 (at the ULN): the ULN grade is the worse one
        ("100", "140", 1),
        ("100", "150.1", 2),
        ("100", "300.1", 3),
    ],
)
def test_creatinine_with_a_baseline_takes_the_worse_grade(baseline, value, grade):
    result = grade_lab(T.CREATININE, D(value), uln=D(100), baseline=D(baseline))
    assert result.grade == grade


def test_creatinine_baseline_grade_says_so():
    result = grade_lab(T.CREATININE, D(120), uln=D(100), baseline=D(60))
    assert "baseline 60" in result.note
    assert grade_lab(T.CREATININE, D(120), uln=D(100)).note == ""


# --- Potassium (CTCAE v5.0, not in the rules §5 table) ------------------------


@pytest.mark.parametrize(
    ("value", "grade", "direction"),
    [
        # ULN 5.0: > ULN - 5.5 - 6.0 - 7.0 mmol/L
        ("5.0", 0, None),
        ("5.01", 1, Direction.HIGH),
        ("5.5", 1, Direction.HIGH),
        ("5.51", 2, Direction.HIGH),
        ("6.0", 2, Direction.HIGH),
        ("6.01", 3, Direction.HIGH),
        ("7.0", 3, Direction.HIGH),
        ("7.01", 4, Direction.HIGH),
        # LLN 3.5: < LLN - 3.0 grade 1 (2 only when symptomatic), < 3.0 - 2.5 grade 3, < 2.5 4
        ("3.5", 0, None),
        ("3.49", 1, Direction.LOW),
        ("3.0", 1, Direction.LOW),
        ("2.99", 3, Direction.LOW),
        ("2.5", 3, Direction.LOW),
        ("2.49", 4, Direction.LOW),
    ],
)
def test_potassium(value, grade, direction):
    result = grade_lab(T.POTASSIUM, D(value), uln=D("5.0"), lln=D("3.5"))
    assert (result.grade, result.direction) == (grade, direction)


def test_hypokalemia_grade_1_says_grade_2_is_clinical():
    assert "symptomatic" in grade_lab(T.POTASSIUM, D("3.2"), uln=D(5), lln=D("3.5")).note


# --- Phosphate: not graded from a number -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "lln", "direction"),
    [("0.3", "0.8", Direction.LOW), ("0.3", None, None), ("1.0", "0.8", None)],
)
def test_phosphate_is_not_graded_from_a_number(value, lln, direction):
    result = grade_lab(T.PHOSPHATE, D(value), lln=None if lln is None else D(lln))
    assert result == LabGrade(
        None,
        "CTCAE 5.0",
        "CTCAE v5.0 has no numeric criteria: the investigator grades it",
        direction,
    )


# --- Missing and wrong limits and values --------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "limits", "needed"),
    [
        (T.ALT, {}, "ULN"),
        (T.AST, {"lln": D(1)}, "ULN"),
        (T.BILIRUBIN, {}, "ULN"),
        (T.GGT, {}, "ULN"),
        (T.ALP, {"baseline_abnormal": False}, "ULN"),
        (T.CREATININE, {"baseline": D(60)}, "ULN"),
        (T.NEUTROPHILS, {"uln": D(7)}, "LLN"),
        (T.PLATELETS, {}, "LLN"),
        (T.WBC, {}, "LLN"),
        (T.HAEMOGLOBIN, {}, "LLN"),
        (T.ALBUMIN, {}, "LLN"),
        (T.FIBRINOGEN, {}, "LLN"),
        (T.POTASSIUM, {"lln": D("3.5")}, "ULN"),
        (T.POTASSIUM, {"uln": D(5)}, "LLN"),
    ],
)
def test_missing_limit_is_named(test, limits, needed):
    with pytest.raises(ValueError, match=f"graded against the {needed} .*enter the {needed}"):
        grade_lab(test, D(1), **limits)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"uln": D(0)}, "ULN 0 must be above zero"),
        ({"uln": D(-40)}, "ULN -40 must be above zero"),
        ({"uln": D(40), "lln": D(50)}, "LLN 50 must be below the ULN 40"),
        ({"uln": D("NaN")}, "not a number"),
        ({"uln": D(40), "baseline": D(0), "baseline_abnormal": True}, "baseline 0 must be above"),
    ],
)
def test_wrong_limits_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        grade_lab(T.ALT, D(50), **kwargs)


def test_negative_value_is_refused():
    with pytest.raises(ValueError, match="below zero"):
        grade_lab(T.ALT, D(-1), uln=D(40))


def test_float_is_refused_because_it_is_not_exact():
    with pytest.raises(TypeError, match="Decimal"):
        grade_lab(T.ALT, 40.1, uln=D(40))


def test_whole_numbers_are_accepted():
    assert grade_lab("alt", 121, uln=40).grade == 2


# --- Units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "value", "unit", "standard"),
    [
        (T.ALT, "2", "µkat/L", "120"),
        (T.AST, "0.5", "ukat/L", "30"),
        (T.GGT, "1", "µkat/l", "60"),
        (T.ALP, "100", "U/L", "100"),
        (T.ALT, "40", "IU/L", "40"),
        (T.BILIRUBIN, "1", "mg/dL", "17.104"),
        (T.BILIRUBIN, "17", "umol/L", "17"),
        (T.BILIRUBIN, "17", "μmol/L", "17"),  # Greek mu
        (T.CREATININE, "1", "mg/dL", "88.42"),
        (T.CREATININE, "2.5", "mg/dl", "221.05"),
        (T.HAEMOGLOBIN, "9.5", "g/dL", "95"),
        (T.HAEMOGLOBIN, "95", "g/L", "95"),
        (T.ALBUMIN, "3.1", "g/dL", "31"),
        (T.FIBRINOGEN, "150", "mg/dL", "1.5"),
        (T.FIBRINOGEN, "1.5", "g/l", "1.5"),
        (T.PLATELETS, "75000", "/mm3", "75"),
        (T.PLATELETS, "75000", "/mm³", "75"),
        (T.NEUTROPHILS, "500", "cells/µL", "0.5"),
        (T.WBC, "3.2", "10^9/L", "3.2"),
        (T.WBC, "3.2", "10⁹/L", "3.2"),
        (T.WBC, "3.2", "x 10^9/L", "3.2"),
        (T.WBC, "3.2", "×10⁹/l", "3.2"),
        (T.WBC, "3.2", "10E9/L", "3.2"),
        (T.PHOSPHATE, "2.0", "mg/dL", "0.6458"),
        (T.PHOSPHATE, "0.6", "mmol/L", "0.6"),
        (T.POTASSIUM, "4.1", "mEq/L", "4.1"),
        (T.POTASSIUM, "4.1", "mmol/L", "4.1"),
    ],
)
def test_to_standard(test, value, unit, standard):
    assert to_standard(test, D(value), unit) == D(standard)


def test_every_test_has_its_standard_unit_first_in_the_allowed_units():
    assert set(STANDARD_UNIT) == set(ALLOWED_UNITS) == set(LabTest)
    for test in LabTest:
        assert ALLOWED_UNITS[test][0] == STANDARD_UNIT[test]
        assert len(ALLOWED_UNITS[test]) == 2
        assert to_standard(test, D("1.5"), STANDARD_UNIT[test]) == D("1.5")


@pytest.mark.parametrize(
    ("test", "unit", "message"),
    [
        (T.ALT, "mg/dL", "mg/dL is not a unit for ALT; enter it in U/L, µkat/L"),
        (T.PLATELETS, "g/L", "g/L is not a unit for Platelets; enter it in 10\\^9/L, /mm3"),
        (T.HAEMOGLOBIN, "mmol/L", "enter it in g/L, g/dL"),
        (T.POTASSIUM, "mg/dL", "enter it in mmol/L, mEq/L"),
        (T.BILIRUBIN, "furlongs", "'furlongs' is not a unit the eCRF knows.*µmol/L, mg/dL"),
        (T.PLATELETS, "G/L", "'G/L' is ambiguous.*10\\^9/L, /mm3"),
        (T.HAEMOGLOBIN, "G/l", "ambiguous"),
        (T.WBC, "109/L", "not a unit the eCRF knows"),
        (T.ALT, "", "not a unit the eCRF knows"),
    ],
)
def test_refused_units(test, unit, message):
    with pytest.raises(UnitError, match=message):
        to_standard(test, D(1), unit)


def test_unit_error_is_a_value_error():
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [("U/l", "U/L"), ("µmol / l", "µmol/L"), ("/mm^3", "/mm3"), ("MEQ/L", "mEq/L"), ("g/l", "g/L")],
)
def test_normalise_unit(spelling, unit):
    assert normalise_unit(spelling) == unit


def test_converted_then_graded():
    # ALT 2 µkat/L with a ULN of 0.67 µkat/L: 120 U/L against 40.2 U/L is > 2.98 x ULN
    value = to_standard(T.ALT, D(2), "µkat/L")
    uln = to_standard(T.ALT, D("0.67"), "µkat/L")
    assert grade_lab(T.ALT, value, uln=uln).grade == 1
    assert grade_lab(T.PLATELETS, to_standard(T.PLATELETS, D(75000), "/mm3"), lln=D(150)).grade == 1


# --- Term grades ------------------------------------------------------------------------------

FEBRILE_NEUTROPENIA = CtcaeTerm(
    10016288, "Febrile neutropenia", "Blood and lymphatic system disorders", frozenset({3, 4, 5})
)
MUSCLE_CRAMP = CtcaeTerm(10028294, "Muscle cramp", "Musculoskeletal", frozenset({1, 2, 3}))
GAPPED = CtcaeTerm(1, "Gapped", "Test", frozenset({1, 3}))


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize(
    ("term", "grade", "error"),
    [
        (FEBRILE_NEUTROPENIA, 3, None),
        (FEBRILE_NEUTROPENIA, 5, None),
        (FEBRILE_NEUTROPENIA, 2, "Febrile neutropenia has no grade 2 in CTCAE v5.0; choose 3–5."),
        (MUSCLE_CRAMP, 4, "Muscle cramp has no grade 4 in CTCAE v5.0; choose 1–3."),
        (MUSCLE_CRAMP, 0, "Muscle cramp has no grade 0 in CTCAE v5.0; choose 1–3."),
        (GAPPED, 2, "Gapped has no grade 2 in CTCAE v5.0; choose 1 or 3."),
        (
            CtcaeTerm(2, "Single", "Test", frozenset({2})),
            1,
            "Single has no grade 1 in CTCAE v5.0; choose 2.",
        ),
        (GAPPED, True, "Gapped has no grade True in CTCAE v5.0; choose 1 or 3."),
    ],
)
def test_grade_error(term, grade, error):
    assert grade_error(term, grade) == error


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize("grades", [frozenset(), frozenset({0, 1}), frozenset({6})])
def test_term_grades_are_some_of_1_to_5(grades):
    with pytest.raises(ValueError, match="must be some of 1-5"):
        CtcaeTerm(1, "Wrong", "Test", grades)


def test_lab_test_values_and_labels():
    assert [test.value for test in LabTest] == [
        "alt", "ast", "bilirubin", "ggt", "alp", "neutrophils", "platelets", "wbc",
        "haemoglobin", "fibrinogen", "albumin", "phosphate", "creatinine", "potassium",
    ]  # fmt: skip
    assert LabTest.ALT.label == "ALT"
    assert all(test.label for test in LabTest)


# --- rules §6: ASTCT 2019 CRS ----------------------------------------------------------------

HT, OX = Hypotension, OxygenSupport


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize(
    ("fever", "hypotension", "oxygen", "antipyretics", "grade"),
    [
        (True, HT.NONE, OX.NONE, False, 1),  # fever alone
        (True, HT.NO_VASOPRESSORS, OX.NONE, False, 2),
        (True, HT.NONE, OX.LOW_FLOW, False, 2),
        (True, HT.NO_VASOPRESSORS, OX.LOW_FLOW, False, 2),
        (True, HT.ONE_VASOPRESSOR, OX.NONE, False, 3),
        (True, HT.NONE, OX.HIGH_FLOW, False, 3),
        (True, HT.SEVERAL_VASOPRESSORS, OX.NONE, False, 4),
        (True, HT.NONE, OX.POSITIVE_PRESSURE, False, 4),
        # the worse of hypotension and hypoxia
        (True, HT.ONE_VASOPRESSOR, OX.LOW_FLOW, False, 3),
        (True, HT.NO_VASOPRESSORS, OX.HIGH_FLOW, False, 3),
        (True, HT.ONE_VASOPRESSOR, OX.POSITIVE_PRESSURE, False, 4),
        (True, HT.SEVERAL_VASOPRESSORS, OX.LOW_FLOW, False, 4),
        # no fever and no antipyretics or anti-cytokine therapy: no CRS
        (False, HT.NONE, OX.NONE, False, 0),
        (False, HT.SEVERAL_VASOPRESSORS, OX.POSITIVE_PRESSURE, False, 0),
        # after antipyretics or anti-cytokine therapy fever is not needed
        (False, HT.NO_VASOPRESSORS, OX.NONE, True, 2),
        (False, HT.NONE, OX.HIGH_FLOW, True, 3),
        (False, HT.SEVERAL_VASOPRESSORS, OX.NONE, True, 4),
        (False, HT.NONE, OX.NONE, True, 1),  # treated CRS without hypotension or hypoxia
        (True, HT.ONE_VASOPRESSOR, OX.NONE, True, 3),
    ],
)
def test_crs_grade(fever, hypotension, oxygen, antipyretics, grade):
    assert (
        crs_grade(
            fever=fever,
            hypotension=hypotension,
            oxygen=oxygen,
            antipyretics_or_anticytokine=antipyretics,
        )
        == grade
    )


@pytest.mark.verifies("UR-SAF-01")
def test_crs_grade_takes_stored_values():
    assert crs_grade(fever=True, hypotension="one_vasopressor", oxygen="low_flow") == 3
    with pytest.raises(ValueError):
        crs_grade(fever=True, hypotension="pressors", oxygen="none")


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize(("celsius", "fever"), [("37.9", False), ("38.0", True), ("39.5", True)])
def test_is_fever(celsius, fever):
    assert is_fever(D(celsius)) is fever


@pytest.mark.verifies("UR-SAF-01")
def test_astct_system():
    assert ASTCT_SYSTEM == "ASTCT 2019"


# --- rules §6: ASTCT 2019 ICANS --------------------------------------------------------------


def ice(total: int) -> IceScore:
    """An ICE score with the given total, filled in sub-score order."""
    scores = {}
    for name, maximum in [
        ("orientation", 4), ("naming", 3), ("commands", 1), ("writing", 1), ("attention", 1)
    ]:  # fmt: skip
        scores[name] = min(maximum, total)
        total -= scores[name]
    return IceScore(**scores)


def icans(*, ice=None, unarousable=False, **domains):
    return icans_grade(
        ice=ice,
        unarousable=unarousable,
        consciousness=domains.get("consciousness", Consciousness.NORMAL),
        seizure=domains.get("seizure", Seizure.NONE),
        motor=domains.get("motor", MotorFinding.NONE),
        raised_icp=domains.get("raised_icp", RaisedIcp.NONE),
    )


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize(
    ("total", "grade"),
    [(10, 0), (9, 1), (8, 1), (7, 1), (6, 2), (5, 2), (3, 2), (2, 3), (1, 3), (0, 3)],
)
def test_icans_by_ice_score(total, grade):
    assert ice(total).total == total
    assert icans(ice=ice(total)) == grade


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize("score", [None, ice(0)])
def test_unarousable_is_grade_4(score):
    assert icans(ice=score, unarousable=True) == 4


@pytest.mark.verifies("UR-SAF-01")
def test_unarousable_with_an_ice_score_above_0_is_refused():
    with pytest.raises(ValueError, match="cannot perform the ICE test"):
        ice_grade(ice(3), unarousable=True)


@pytest.mark.verifies("UR-SAF-01")
def test_no_ice_score_and_nothing_else_is_grade_0():
    assert icans() == 0


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize(
    ("domain", "finding", "grade"),
    [
        ("consciousness", Consciousness.NORMAL, 0),
        ("consciousness", Consciousness.AWAKENS_SPONTANEOUSLY, 1),
        ("consciousness", Consciousness.AWAKENS_TO_VOICE, 2),
        ("consciousness", Consciousness.AWAKENS_TO_TACTILE, 3),
        ("consciousness", Consciousness.UNAROUSABLE_STUPOR_OR_COMA, 4),
        ("seizure", Seizure.FOCAL_OR_GENERALISED_RESOLVING, 3),
        ("seizure", Seizure.PROLONGED_OR_REPETITIVE, 4),
        ("motor", MotorFinding.DEEP_FOCAL_WEAKNESS, 4),
        ("raised_icp", RaisedIcp.FOCAL_OEDEMA, 3),
        (
            "raised_icp",
            RaisedIcp.DIFFUSE_OEDEMA_OR_POSTURING_OR_PALSY_OR_PAPILLOEDEMA_OR_CUSHING,
            4,
        ),
    ],
)
def test_icans_other_domains(domain, finding, grade):
    assert icans(ice=ice(10), **{domain: finding}) == grade


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize(
    ("total", "domains", "grade"),
    [
        (8, {"consciousness": Consciousness.AWAKENS_TO_VOICE}, 2),  # consciousness worse
        (2, {"consciousness": Consciousness.AWAKENS_TO_VOICE}, 3),  # ICE worse
        (9, {"seizure": Seizure.FOCAL_OR_GENERALISED_RESOLVING}, 3),
        (6, {"raised_icp": RaisedIcp.FOCAL_OEDEMA, "motor": MotorFinding.DEEP_FOCAL_WEAKNESS}, 4),
    ],
)
def test_icans_is_the_worst_domain(total, domains, grade):
    assert icans(ice=ice(total), **domains) == grade


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.parametrize(
    ("scores", "field", "message"),
    [
        ({"orientation": 5}, "orientation", "ICE orientation 5 is outside 0-4"),
        ({"naming": 4}, "naming", "ICE naming 4 is outside 0-3"),
        ({"commands": 2}, "commands", "ICE commands 2 is outside 0-1"),
        ({"writing": -1}, "writing", "ICE writing -1 is outside 0-1"),
        ({"attention": 2}, "attention", "ICE attention 2 is outside 0-1"),
    ],
)
def test_ice_sub_scores_out_of_range(scores, field, message):
    full = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1} | scores
    assert ice_errors(**full) == {field: message + f"; score it 0 to {message[-1]} points."}
    with pytest.raises(ValueError, match=message):
        IceScore(**full)


@pytest.mark.verifies("UR-SAF-01")
def test_ice_total_and_no_errors_at_the_maxima():
    assert ice_errors(orientation=4, naming=3, commands=1, writing=1, attention=1) == {}
    assert IceScore(4, 3, 1, 1, 1).total == 10
    assert IceScore(0, 0, 0, 0, 0).total == 0
    assert IceScore(2, 1, 1, 0, 1).total == 5
