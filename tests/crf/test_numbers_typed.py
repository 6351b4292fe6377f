"""Numbers as clinicians type them: a decimal comma is a decimal point; nothing else is changed
silently."""

from decimal import Decimal

import pytest
from django import forms

from crf.forms.numbers import (
    DecimalTextField,
    WholeNumberTextField,
    parse_decimal_text,
    parse_whole_text,
)

pytestmark = pytest.mark.verifies("UR-REC-02")


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("12.4", Decimal("12.4")),
        ("12,4", Decimal("12.4")),
        (" 12,4 ", Decimal("12.4")),
        ("0,5", Decimal("0.5")),
        (",5", Decimal("0.5")),
        ("64", Decimal("64")),
        ("64.", Decimal("64")),
        ("0.0025", Decimal("0.0025")),
        ("6x4", None),
        ("12,4,1", None),
        ("12.4.1", None),
        ("1.234,5", None),
        ("1 234", None),
        ("1e3", None),
        ("NaN", None),
        ("Infinity", None),
        ("12 kg", None),
        ("", None),
        ("٣", None),  # an Arabic-Indic digit: not what the site's keyboard types
    ],
)
def test_decimal_text(typed, number):
    assert parse_decimal_text(typed) == number


@pytest.mark.parametrize(
    ("typed", "number"),
    [("7", 7), (" 10 ", 10), ("6x4", None), ("7,0", None), ("7.5", None), ("", None)],
)
def test_whole_text(typed, number):
    assert parse_whole_text(typed) == number


class _Form(forms.Form):
    weight = DecimalTextField(
        label="Weight", unit="kg", min_value=0, max_digits=4, decimal_places=1
    )
    score = WholeNumberTextField(label="ICE orientation", min_value=0, max_value=4, required=False)


def test_a_decimal_comma_is_saved_as_the_number_typed():
    form = _Form({"weight": "64,5", "score": "3"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"weight": Decimal("64.5"), "score": 3}


def test_what_is_not_a_number_is_refused_naming_the_field_and_the_text():
    form = _Form({"weight": "6x4", "score": "4x"})
    assert not form.is_valid()
    assert form.errors["weight"] == [
        'Weight: "6x4" is not a number. Type digits with at most one decimal point or comma, '
        "for example 12.4 or 12,4."
    ]
    assert form.errors["score"] == [
        'ICE orientation: "4x" is not a whole number. Type digits only, for example 7.'
    ]


def test_limits_still_hold_once():
    form = _Form({"weight": "123,45", "score": "5"})
    assert not form.is_valid()
    assert len(form.errors["weight"]) == 1 and len(form.errors["score"]) == 1


def test_the_input_is_text_with_the_decimal_keyboard_and_the_unit_beside_it():
    html = str(_Form()["weight"])
    assert 'type="text"' in html and 'inputmode="decimal"' in html
    assert 'type="number"' not in html
    assert '<span class="input-group-text" id="id_weight-unit">kg</span>' in html
    assert 'aria-describedby="id_weight-unit"' in html
    assert 'inputmode="numeric"' in str(_Form()["score"])


def test_a_stored_value_reads_as_typed_not_in_exponent_or_column_zeros():
    form = _Form(initial={"weight": Decimal("64.50")})
    assert 'value="64.5"' in str(form["weight"])
    assert 'value="0.0025"' in str(_Form(initial={"weight": Decimal("2.5E-3")})["weight"])
