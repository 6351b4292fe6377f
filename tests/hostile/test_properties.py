"""Hypothesis on the pure parsers and rules that hostile input reaches: the MRD value parser,
the export's formula neutralisation and its inverse, and the protocol's dosing and checks
given arbitrary decimals. No database: pure functions only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audit.cells import FORMULA_START as _FORMULA_START
from audit.cells import text_cell, text_from_cell
from protocol import checks, dosing, mrd
from protocol.schedule import Drug

from . import corpus

pytestmark = pytest.mark.verifies("UR-ACC-05")

SETTINGS = settings(max_examples=200, deadline=None)

# Text as people and attackers type it: any code point, with the corpus's favourites mixed in.
hostile_text = st.one_of(
    st.text(),
    st.sampled_from(corpus.TEXT + corpus.NUMBERS),
    st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "'=", "''=", "'''"]),
        st.text(),
    ),
)
any_decimal = st.decimals(allow_nan=True, allow_infinity=True)
finite_decimal = st.decimals(allow_nan=False, allow_infinity=False)


# --- MRD values --------------------------------------------------------------------------------


@pytest.mark.verifies("UR-MRD-01")
@SETTINGS
@given(hostile_text)
@example("1e309")
@example("NaN")
@example("1E-99999999999")
@example("9" * 5000)
@example("1.2×10⁻⁴")
def test_the_mrd_parser_returns_an_exact_fraction_or_says_why(text):
    try:
        value = mrd.parse_mrd_value(text)
    except mrd.MrdValueError as refused:
        assert str(refused)
        return
    assert isinstance(value, Decimal)
    assert value.is_finite()
    assert 0 <= value <= 1


@pytest.mark.verifies("UR-MRD-01")
@SETTINGS
@given(st.decimals(min_value=Decimal("1E-30"), max_value=1, allow_nan=False, allow_infinity=False))
def test_a_formatted_mrd_value_parses_to_a_value_on_the_same_side_of_every_threshold(value):
    shown = mrd.format_mrd(value)
    parsed = mrd.parse_mrd_value(shown)
    assert parsed <= value  # cut, never rounded up
    assert (parsed >= mrd.MRD_THRESHOLD) == (value >= mrd.MRD_THRESHOLD)


@pytest.mark.verifies("UR-MRD-01")
@SETTINGS
@given(
    st.sampled_from(list(mrd.ResultClass)),
    st.none() | any_decimal,
    st.none() | any_decimal,
    st.none() | any_decimal,
)
def test_the_result_checks_never_raise_on_any_numbers(result_class, value, sensitivity, qr):
    result = mrd.MrdResult(
        result_class=result_class, value=value, sensitivity=sensitivity, quantitative_range=qr
    )
    errors = mrd.result_errors(result)
    assert all(isinstance(message, str) and message for message in errors.values())


# --- Formula neutralisation of the exports ------------------------------------------------------


@pytest.mark.verifies("UR-EXP-01")
@SETTINGS
@given(hostile_text)
def test_text_from_cell_inverts_text_cell(text):
    assert text_from_cell(text_cell(text)) == text


@pytest.mark.verifies("UR-EXP-01")
@SETTINGS
@given(hostile_text)
def test_no_neutralised_cell_starts_a_formula(text):
    assert not text_cell(text).startswith(_FORMULA_START)


@pytest.mark.verifies("UR-EXP-01")
def test_the_formula_starts_are_the_ones_spreadsheets_obey():
    assert set(_FORMULA_START) >= {"=", "+", "-", "@", "\t", "\r"}


# --- Dosing and checks given arbitrary decimals -------------------------------------------------


@pytest.mark.verifies("UR-ENR-02", "UR-DOS-01")
@SETTINGS
@given(any_decimal, any_decimal)
def test_bsa_is_positive_or_refused_with_value_error(height, weight):
    try:
        bsa = dosing.body_surface_area(height, weight)
    except (ValueError, ArithmeticError) as refused:
        # Refused inputs: zero, negative, NaN (InvalidOperation is an ArithmeticError).
        assert not (height.is_finite() and weight.is_finite() and height > 0 and weight > 0) or (
            isinstance(refused, ArithmeticError)
        )
        return
    assert bsa.m2 >= 0


@pytest.mark.verifies("UR-DOS-01")
@SETTINGS
@given(st.sampled_from(list(Drug)), finite_decimal)
def test_the_dose_cap_answers_for_any_finite_dose(drug, dose):
    message = dosing.dose_cap_error(drug, dose)
    assert message is None or str(drug) in message


@pytest.mark.verifies("UR-DOS-01")
@SETTINGS
@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1E6"), allow_nan=False),
    st.decimals(min_value=0, max_value=Decimal("1E6"), allow_nan=False),
)
def test_dose_deviation_is_decided_for_any_positive_calculated_dose(calculated, given_):
    deviation = dosing.dose_deviation(calculated, given_)
    assert deviation.difference_percent >= 0
    assert deviation.is_deviation == (abs(given_ - calculated) * 100 > 10 * calculated)


# What the models hold: DecimalField(max_digits=4, decimal_places=1), above zero (editchecks).
stored_measurement = st.decimals(
    min_value=Decimal("0.1"), max_value=Decimal("999.9"), places=1, allow_nan=False
)


@pytest.mark.verifies("UR-REC-03")
@SETTINGS
@given(finite_decimal, finite_decimal)
def test_the_plausibility_checks_never_raise_on_finite_decimals(height, weight):
    for warning in (checks.height_warning(height), checks.weight_warning(weight)):
        assert warning is None or warning.message


@pytest.mark.verifies("UR-REC-03")
@SETTINGS
@given(stored_measurement, stored_measurement)
def test_the_weight_change_check_never_raises_on_storable_weights(baseline, current):
    change = checks.weight_change_warning(baseline, current)
    assert change is None or change.message
