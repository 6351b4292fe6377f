"""rules §7 (MR-1 .. MR-5): MRD values, result checks, responses, endpoint, cohort table."""

from decimal import Decimal

import pytest

from protocol.mrd import (
    HAEMATOLOGICAL_CR,
    MR4_FIRST_STUDY_DAY,
    MRD_THRESHOLD,
    RESPONSE_LABELS,
    CohortRow,
    Method,
    MrdResult,
    MrdValueError,
    ResponseClass,
    ResultClass,
    Timepoint,
    cohort_table,
    endpoint_result,
    format_mrd,
    is_haematological_cr,
    is_mrd_failure,
    is_mrd_negativity,
    mr4_triggered,
    mr5_molecular_relapse,
    parse_mrd_value,
    response_class,
    result_errors,
    w11_ngs_retest_due,
)

pytestmark = pytest.mark.verifies("UR-MRD-01")

D = Decimal
NEG, PNQ, QUANT, NE = (
    ResultClass.NEGATIVE,
    ResultClass.PNQ,
    ResultClass.QUANTIFIABLE,
    ResultClass.NOT_EVALUABLE,
)
QPCR, NGS = Method.QPCR, Method.NGS


def negative(sensitivity="1E-4", **kwargs):
    return MrdResult(NEG, sensitivity=D(sensitivity), **kwargs)


def pnq(**kwargs):
    return MrdResult(PNQ, sensitivity=D("1E-5"), quantitative_range=D("1E-4"), **kwargs)


def quantifiable(value, **kwargs):
    return MrdResult(QUANT, value=D(value), **kwargs)


def not_evaluable(**kwargs):
    return MrdResult(NE, **kwargs)


def test_thresholds():
    assert MRD_THRESHOLD == D("1E-4")
    assert MR4_FIRST_STUDY_DAY == 120  # rules §1: week 18 = days 120-126
    assert HAEMATOLOGICAL_CR == {"CR", "CRi"}


def test_enum_values_are_the_stored_codes():
    assert [c.value for c in ResultClass] == ["negative", "pnq", "quantifiable", "not_evaluable"]
    assert [m.value for m in Method] == ["qpcr", "ngs"]
    assert [t.value for t in Timepoint] == ["D40", "W11", "W18", "FU", "U"]


# --- parse_mrd_value -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1.2E-4",
        "1.2e-04",
        "0.00012",
        "1,2E-4",  # decimal comma
        "1,2e-4",
        "0,00012",
        "  1.2E-4 ",
        "\t1.2E-4\n",
        "1.2 E-4",  # spaces around the exponent are accepted
        "1.2E -4",
        "1.20E-4",
        "12E-5",
        "0.12E-3",
        "+1.2E-4",
        "1.2E\u22124",  # Unicode minus sign
        "1.2x10^-4",
        "1.2X10^-4",
        "1.2 x 10^-4",
        "1.2×10-4",
        "1.2 × 10 ^ -4",
        "1.2*10^-4",
        "1.2×10⁻⁴",
        "1,2×10⁻⁴",
    ],
)
def test_parse_notations_of_0_00012(text):
    value = parse_mrd_value(text)
    assert value == D("0.00012")
    assert value.as_tuple() == D("0.00012").as_tuple()  # one canonical form, trailing 0s cut


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1E-4", "0.0001"),
        ("10^-4", "0.0001"),  # the paper's notation
        ("1", "1"),
        ("1E0", "1"),
        ("1.0", "1"),
        ("0", "0"),  # zero parses; result_errors refuses it for a quantifiable result
        ("0.0", "0"),
        ("-0", "0"),
        ("0,001", "0.001"),  # a leading zero group is not a thousands group
        ("5E-2", "0.05"),
        ("2.3E-7", "0.00000023"),
        (".5E-4", "0.00005"),
        ("1,234E-4", "0.0001234"),  # with an exponent the comma is a decimal comma
    ],
)
def test_parse_other_values(text, expected):
    assert parse_mrd_value(text) == D(expected)


NOT_A_NUMBER = (
    "is not a number; write MRD as a fraction, e.g. 1.2E-4, 0.00012 or 1,2E-4 (for a negative, "
    "PNQ or not evaluable result, choose the result class and leave the value empty)."
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter the MRD value; write MRD as a fraction, e.g. 1.2E-4."),
        ("   ", "Enter the MRD value; write MRD as a fraction, e.g. 1.2E-4."),
        ("abc", f"'abc' {NOT_A_NUMBER}"),
        ("neg", f"'neg' {NOT_A_NUMBER}"),
        ("NaN", f"'NaN' {NOT_A_NUMBER}"),
        ("nan", f"'nan' {NOT_A_NUMBER}"),
        ("Infinity", f"'Infinity' {NOT_A_NUMBER}"),
        ("inf", f"'inf' {NOT_A_NUMBER}"),
        ("1.2.3", f"'1.2.3' {NOT_A_NUMBER}"),
        ("1,200.5", f"'1,200.5' {NOT_A_NUMBER}"),
        ("1.2E", f"'1.2E' {NOT_A_NUMBER}"),
        ("E-4", f"'E-4' {NOT_A_NUMBER}"),
        ("1.2x104", f"'1.2x104' {NOT_A_NUMBER}"),  # no caret, no sign: 10 to the 4 or 104?
        ("1 2E-4", f"'1 2E-4' {NOT_A_NUMBER}"),
        ("1.2E- 4", f"'1.2E- 4' {NOT_A_NUMBER}"),  # the sign stays with its exponent
        (
            "-1E-4",
            "MRD -1E-4 is below zero; MRD is a fraction of cells: 0 or more, e.g. 1.2E-4.",
        ),
        (
            "-0.00012",
            "MRD -0.00012 is below zero; MRD is a fraction of cells: 0 or more, e.g. 1.2E-4.",
        ),
        (
            "1.2",
            "MRD 1.2 is above 1; MRD is a fraction of cells: at most 1 (write MRD as a "
            "fraction, e.g. 1.2E-4).",
        ),
        (
            "1.0001",
            "MRD 1.0001 is above 1; MRD is a fraction of cells: at most 1 (write MRD as a "
            "fraction, e.g. 1.2E-4).",
        ),
        (
            "1,5",
            "MRD 1,5 is above 1; MRD is a fraction of cells: at most 1 (write MRD as a "
            "fraction, e.g. 1.2E-4).",
        ),
        (
            "1.2E4",
            "MRD 1.2E4 is above 1; MRD is a fraction of cells: at most 1 (write MRD as a "
            "fraction, e.g. 1.2E-4).",
        ),
        (
            "1,200",
            "'1,200' is ambiguous: the separator may mark thousands or decimals; write MRD as "
            "a fraction, e.g. 1.2E-4.",
        ),
        (
            "1.000",
            "'1.000' is ambiguous: the separator may mark thousands or decimals; write MRD as "
            "a fraction, e.g. 1.2E-4.",
        ),
        (
            "12,345",
            "'12,345' is ambiguous: the separator may mark thousands or decimals; write MRD as "
            "a fraction, e.g. 1.2E-4.",
        ),
        (
            "0.012%",
            "MRD is written as a fraction of cells, not a percentage: 0.012% is 1.2E-4; "
            "enter 1.2E-4.",
        ),
        (
            "200%",
            "MRD 200% is above 1; MRD is a fraction of cells: at most 1 (write MRD as a "
            "fraction, e.g. 1.2E-4).",
        ),
        (
            "<1E-4",
            "'<1E-4' is a limit, not a value; a result below a limit is negative or positive "
            "not quantifiable: choose that result class and give the sensitivity.",
        ),
        (
            "1E-100",
            "'1E-100' has the exponent -100, outside -99 to 99; write MRD as a fraction, "
            "e.g. 1.2E-4.",
        ),
    ],
)
def test_parse_refusals(text, message):
    with pytest.raises(MrdValueError) as raised:
        parse_mrd_value(text)
    assert str(raised.value) == message


def test_mrd_value_error_is_a_value_error():
    with pytest.raises(ValueError, match="at most 1"):
        parse_mrd_value("2")


# --- format_mrd ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.00012", "1.2E-4"),
        ("1.2E-4", "1.2E-4"),
        ("0.000120", "1.2E-4"),
        ("0.0001", "1E-4"),
        ("0.000100", "1E-4"),
        ("0.000123", "1.23E-4"),
        ("0.05", "5E-2"),
        ("1", "1E0"),
        ("0.1", "1E-1"),
        ("2.3E-7", "2.3E-7"),
        ("0.0001239", "1.23E-4"),  # cut to 2 decimals, not rounded
        ("0.0000999", "9.99E-5"),
        ("0.00009996", "9.99E-5"),  # never shown as 1E-4: it is below the threshold
        ("0", "0"),
    ],
)
def test_format_mrd(value, text):
    assert format_mrd(D(value)) == text


@pytest.mark.parametrize("value", ["0.00012", "0.0001", "0.000123", "0.05", "1", "2.3E-7"])
def test_format_then_parse_round_trips(value):
    assert parse_mrd_value(format_mrd(D(value))) == D(value)


@pytest.mark.parametrize("value", ["-0.0001", "NaN", "Infinity"])
def test_format_refuses_what_is_not_a_fraction(value):
    with pytest.raises(MrdValueError, match="fraction of cells, 0 to 1"):
        format_mrd(D(value))


# --- result_errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        negative("1E-4"),
        negative("1E-3"),  # worse sensitivity is a valid result, just not MR-1
        negative("1E-5", quantitative_range=D("1E-4")),
        negative("1"),
        MrdResult(PNQ),
        pnq(),
        quantifiable("1.2E-4"),
        quantifiable("1"),
        quantifiable("1E-4", quantitative_range=D("1E-4"), sensitivity=D("1E-5")),
        not_evaluable(),
    ],
)
def test_result_errors_accepts(result):
    assert result_errors(result) == {}


@pytest.mark.parametrize(
    ("result", "field", "message"),
    [
        (
            MrdResult(QUANT),
            "value",
            "A quantifiable result needs its MRD value, write MRD as a fraction, e.g. 1.2E-4; "
            "a positive result below the quantitative range is 'positive not quantifiable'.",
        ),
        (
            quantifiable("0"),
            "value",
            "MRD 0 is not quantifiable: a quantifiable result is above zero; for no MRD "
            "detected choose 'negative' and give its sensitivity.",
        ),
        (
            quantifiable("1.0001"),
            "value",
            "MRD 1.0001 is above 1; MRD is a fraction of cells: at most 1 (write MRD as a "
            "fraction, e.g. 1.2E-4).",
        ),
        (
            quantifiable("-0.0001"),
            "value",
            "MRD -0.0001 is below zero; MRD is a fraction of cells: 0 or more.",
        ),
        (
            quantifiable("NaN"),
            "value",
            "MRD NaN is not a number; write MRD as a fraction, e.g. 1.2E-4.",
        ),
        (
            quantifiable("5E-5", quantitative_range=D("1E-4")),
            "value",
            "MRD 5E-5 is below the quantitative range 1E-4 of the assay; a quantifiable value "
            "is at or above it: below the quantitative range the result is 'positive not "
            "quantifiable'.",
        ),
        (
            quantifiable("5E-6", sensitivity=D("1E-5")),
            "value",
            "MRD 5E-6 is below the sensitivity 1E-5 of the assay; a quantifiable value is at "
            "or above it: below the quantitative range the result is 'positive not "
            "quantifiable'.",
        ),
        (
            MrdResult(NEG, value=D("1E-4"), sensitivity=D("1E-4")),
            "value",
            "A negative result has no value; give its sensitivity (clear the value, or choose "
            "'quantifiable' if the sample was quantified).",
        ),
        (
            MrdResult(PNQ, value=D("5E-5")),
            "value",
            "A positive not quantifiable result has no value: it is below the quantitative "
            "range; clear the value, or choose 'quantifiable'.",
        ),
        (
            MrdResult(NE, value=D("1E-4")),
            "value",
            "A not evaluable result has no value; clear the value, or choose another class.",
        ),
        (
            MrdResult(NEG),
            "sensitivity",
            "A negative result needs the sensitivity reached, e.g. 1E-4 or 1E-5: MRD negativity "
            "(MR-1) needs a sensitivity of 1E-4 or better.",
        ),
        (
            negative("0"),
            "sensitivity",
            "The sensitivity 0 is outside 0-1; it is a fraction of cells above 0 and at most "
            "1, e.g. 1E-4 or 1E-5.",
        ),
        (
            negative("-1E-4"),
            "sensitivity",
            "The sensitivity -0.0001 is outside 0-1; it is a fraction of cells above 0 and at "
            "most 1, e.g. 1E-4 or 1E-5.",
        ),
        (
            negative("1.5"),
            "sensitivity",
            "The sensitivity 1.5 is outside 0-1; it is a fraction of cells above 0 and at most "
            "1, e.g. 1E-4 or 1E-5.",
        ),
        (
            MrdResult(PNQ, sensitivity=D("2")),
            "sensitivity",
            "The sensitivity 2 is outside 0-1; it is a fraction of cells above 0 and at most "
            "1, e.g. 1E-4 or 1E-5.",
        ),
        (
            MrdResult(PNQ, quantitative_range=D("0")),
            "quantitative_range",
            "The quantitative range 0 is outside 0-1; it is a fraction of cells above 0 and at "
            "most 1, e.g. 1E-4 or 1E-5.",
        ),
        (
            MrdResult(PNQ, sensitivity=D("1E-4"), quantitative_range=D("1E-5")),
            "quantitative_range",
            "The quantitative range 1E-5 is below the sensitivity 1E-4; an assay quantifies "
            "only what it detects: the quantitative range is at or above the sensitivity.",
        ),
        (
            MrdResult("positive"),
            "result_class",
            "'positive' is not a result class; choose negative, pnq, quantifiable, not_evaluable.",
        ),
    ],
)
def test_result_errors_refuses(result, field, message):
    assert result_errors(result) == {field: message}


def test_result_errors_reports_every_field():
    errors = result_errors(MrdResult(NEG, value=D("1E-4")))
    assert set(errors) == {"value", "sensitivity"}


# --- MR-1, MR-2: response classes ------------------------------------------------------------


@pytest.mark.verifies("MR-1", "MR-2")
@pytest.mark.parametrize(
    ("result", "negativity", "failure", "response"),
    [
        (negative("1E-4"), True, False, ResponseClass.NEGATIVITY),  # MR-1: 1E-4 or better
        (negative("1E-5"), True, False, ResponseClass.NEGATIVITY),
        (negative("1E-6"), True, False, ResponseClass.NEGATIVITY),
        (negative("1.1E-4"), False, False, ResponseClass.NEGATIVE_INSUFFICIENT),
        (negative("1E-3"), False, False, ResponseClass.NEGATIVE_INSUFFICIENT),
        (pnq(), False, False, ResponseClass.INTERMEDIATE),  # PNQ is never failure
        (quantifiable("9.9E-5"), False, False, ResponseClass.INTERMEDIATE),
        (quantifiable("9.9999E-5"), False, False, ResponseClass.INTERMEDIATE),
        (quantifiable("1E-4"), False, True, ResponseClass.FAILURE),  # MR-2: exactly 1E-4 fails
        (quantifiable("0.0001000"), False, True, ResponseClass.FAILURE),
        (quantifiable("2.3E-4"), False, True, ResponseClass.FAILURE),
        (quantifiable("1"), False, True, ResponseClass.FAILURE),
        (not_evaluable(), False, False, ResponseClass.NOT_EVALUABLE),
    ],
)
def test_mr1_mr2_response(result, negativity, failure, response):
    assert is_mrd_negativity(result) is negativity
    assert is_mrd_failure(result) is failure
    assert response_class(result) == response


@pytest.mark.verifies("MR-1", "MR-2")
def test_every_response_has_a_label():
    assert set(RESPONSE_LABELS) == set(ResponseClass)
    assert RESPONSE_LABELS[ResponseClass.NEGATIVITY] == "MRD negativity (MR-1)"
    assert RESPONSE_LABELS[ResponseClass.FAILURE] == "MRD failure (MR-2)"
    assert "not MRD negativity" in RESPONSE_LABELS[ResponseClass.NEGATIVE_INSUFFICIENT]


@pytest.mark.parametrize(
    "check", [is_mrd_negativity, is_mrd_failure, response_class], ids=lambda f: f.__name__
)
@pytest.mark.parametrize(
    "result", [MrdResult(NEG), MrdResult(QUANT), quantifiable("2"), MrdResult(NEG, value=D(1))]
)
def test_rules_refuse_a_result_the_form_would_refuse(check, result):
    with pytest.raises(MrdValueError, match="MRD result not usable"):
        check(result)


@pytest.mark.parametrize(
    ("response", "in_cr"),
    [("CR", True), ("CRi", True), ("refractory", False), ("cr", False), ("", False), (None, False)],
)
def test_haematological_cr(response, in_cr):
    assert is_haematological_cr(response) is in_cr


# --- MR-3: endpoint result -------------------------------------------------------------------

W11 = Timepoint.W11


@pytest.mark.verifies("MR-3")
@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([], None),
        ([pnq(timepoint=W11)], pnq(timepoint=W11)),  # NGS absent: the qPCR PNQ stands
        (  # MR-3: the week-11 PNQ re-tested by NGS; NGS decides
            [pnq(timepoint=W11), negative("1E-5", method=NGS, timepoint=W11)],
            negative("1E-5", method=NGS, timepoint=W11),
        ),
        (  # order does not matter
            [negative("1E-5", method=NGS, timepoint=W11), pnq(timepoint=W11)],
            negative("1E-5", method=NGS, timepoint=W11),
        ),
        (  # NGS confirms positivity
            [pnq(timepoint=W11), quantifiable("2E-5", method=NGS, timepoint=W11)],
            quantifiable("2E-5", method=NGS, timepoint=W11),
        ),
        (  # a failed NGS re-test decides nothing
            [pnq(timepoint=W11), not_evaluable(method=NGS, timepoint=W11)],
            pnq(timepoint=W11),
        ),
        ([negative(timepoint=W11)], negative(timepoint=W11)),
        ([not_evaluable(timepoint=W11)], not_evaluable(timepoint=W11)),
        (  # repeat samples: the latest by study day
            [negative(study_day=76), not_evaluable(study_day=72), pnq(study_day=71)],
            negative(study_day=76),
        ),
        (  # repeat samples without study days: the last given
            [pnq(), negative()],
            negative(),
        ),
        (  # other timepoints use the same rule (the cohort table asks for D40 and W18)
            [quantifiable("2E-4", timepoint=Timepoint.D40)],
            quantifiable("2E-4", timepoint=Timepoint.D40),
        ),
    ],
)
def test_mr3_endpoint_result(results, expected):
    assert endpoint_result(results) == expected


@pytest.mark.verifies("MR-3")
def test_endpoint_result_refuses_mixed_timepoints():
    with pytest.raises(MrdValueError, match=r"several timepoints \(D40, W11\)"):
        endpoint_result([pnq(timepoint=W11), negative(timepoint=Timepoint.D40)])


@pytest.mark.verifies("MR-3")
def test_mr3_endpoint_is_mrd_negativity_after_ngs():
    deciding = endpoint_result([pnq(timepoint=W11), negative("1E-5", method=NGS, timepoint=W11)])
    assert deciding is not None and is_mrd_negativity(deciding)


@pytest.mark.verifies("MR-3")
@pytest.mark.parametrize(
    ("results", "due"),
    [
        ([], False),
        ([pnq()], True),  # AL-W11-NGS
        ([pnq(), negative(method=NGS)], False),
        ([negative()], False),
        ([quantifiable("2E-4")], False),
    ],
)
def test_w11_ngs_retest_due(results, due):
    assert w11_ngs_retest_due(results) is due


# --- MR-4: MRD-triggered blinatumomab --------------------------------------------------------


@pytest.mark.verifies("MR-4")
@pytest.mark.parametrize(
    ("result", "timepoint", "study_day", "in_cr", "fires"),
    [
        (quantifiable("2.3E-4"), Timepoint.W11, 77, True, False),  # before week 18
        (quantifiable("2.3E-4"), Timepoint.UNSCHEDULED, 119, True, False),
        (quantifiable("2.3E-4"), Timepoint.UNSCHEDULED, 120, True, True),  # from day 120 on
        (quantifiable("2.3E-4"), None, 400, True, True),
        (quantifiable("2.3E-4"), Timepoint.W18, 120, True, True),
        (quantifiable("2.3E-4"), Timepoint.W18, 115, True, True),  # W18 early in its window
        (quantifiable("2.3E-4"), Timepoint.W18, None, True, True),
        (quantifiable("1E-4"), Timepoint.FOLLOW_UP, 300, True, True),  # exactly 1E-4
        (quantifiable("9.9E-5"), Timepoint.W18, 122, True, False),
        (quantifiable("2.3E-4"), Timepoint.W18, 122, False, False),  # not in CR
        (pnq(), Timepoint.W18, 122, True, False),  # a PNQ never fires
        (pnq(), Timepoint.UNSCHEDULED, 200, True, False),
        (negative(), Timepoint.W18, 122, True, False),
        (negative("1E-3"), Timepoint.W18, 122, True, False),
        (not_evaluable(), Timepoint.W18, 122, True, False),
    ],
)
def test_mr4_triggered(result, timepoint, study_day, in_cr, fires):
    assert mr4_triggered(result, timepoint, study_day, in_cr) is fires


@pytest.mark.verifies("MR-4")
def test_mr4_needs_the_study_day_of_an_unscheduled_failure():
    with pytest.raises(MrdValueError, match="from study day 120 on"):
        mr4_triggered(quantifiable("2E-4"), Timepoint.UNSCHEDULED, None, True)


# --- MR-5: molecular relapse -----------------------------------------------------------------


@pytest.mark.verifies("MR-5")
@pytest.mark.parametrize(
    ("previous", "result", "relapse"),
    [
        ([negative("1E-4")], quantifiable("1E-4"), True),
        ([negative("1E-5"), pnq()], quantifiable("3E-3"), True),
        ([pnq(), negative("1E-5")], quantifiable("3E-3"), True),
        ([negative("1E-4")], quantifiable("9.9E-5"), False),  # below failure
        ([negative("1E-4")], pnq(), False),
        ([negative("1E-3")], quantifiable("3E-3"), False),  # never reached MRD negativity
        ([pnq(), quantifiable("2E-4")], quantifiable("3E-3"), False),
        ([], quantifiable("3E-3"), False),
        ([not_evaluable()], quantifiable("3E-3"), False),
    ],
)
def test_mr5_molecular_relapse(previous, result, relapse):
    assert mr5_molecular_relapse(previous, result) is relapse


@pytest.mark.verifies("MR-5")
def test_mr5_refuses_a_later_previous_result():
    with pytest.raises(MrdValueError, match="study day 300 is after the result on study day 200"):
        mr5_molecular_relapse([negative(study_day=300)], quantifiable("2E-4", study_day=200))


# --- Cohort table ----------------------------------------------------------------------------


@pytest.mark.verifies("UR-MRD-03", "MR-1", "MR-2")
def test_cohort_table_reproduces_the_paper():
    # paper: D40 14 negative, 10 PNQ, 1 quantifiable of 25; W11 21 / 2 / 2 of 25
    d40, w11 = Timepoint.D40, Timepoint.W11
    per_subject = (
        [(d40, negative(), True)] * 14
        + [(d40, pnq(), True)] * 10
        + [(d40, quantifiable("2E-3"), True)]
        + [(d40, not_evaluable(), False)] * 3  # no target, refractory
        + [(w11, negative("1E-5"), True)] * 21
        + [(w11, pnq(), True)] * 2
        + [(w11, quantifiable("3E-4"), True)] * 2
    )
    rows = cohort_table(per_subject)
    assert rows == [
        CohortRow(Timepoint.D40, 25, 14, 10, 1, failure=1),
        CohortRow(Timepoint.W11, 25, 21, 2, 2, failure=2),
        CohortRow(Timepoint.W18, 0, 0, 0, 0),
    ]
    assert (rows[0].negative_percent, rows[0].pnq_percent, rows[0].quantifiable_percent) == (
        D(56),
        D(40),
        D(4),
    )
    assert rows[1].negative_percent == D(84)
    assert rows[1].pnq_percent == rows[1].quantifiable_percent == D(8)
    assert rows[2].negative_percent is None  # no evaluable patient: no percentage


@pytest.mark.verifies("UR-MRD-03", "MR-1")
def test_cohort_table_keeps_insufficient_negatives_apart():
    w18 = Timepoint.W18
    rows = cohort_table(
        [
            (w18, negative("1E-4"), True),
            (w18, negative("1E-3"), True),  # not MRD negativity, and not PNQ either
            (w18, quantifiable("5E-5", quantitative_range=D("1E-5")), True),  # intermediate
            (w18, quantifiable("1E-4"), True),  # failure
            (w18, None, True),  # evaluable patient, no result yet
            (w18, not_evaluable(), True),
            (w18, negative(), False),  # not evaluable: not counted
            (Timepoint.FOLLOW_UP, negative(), True),  # not part of the table
            (Timepoint.UNSCHEDULED, negative(), True),
        ]
    )
    assert [row.timepoint for row in rows] == [Timepoint.D40, Timepoint.W11, Timepoint.W18]
    assert rows[2] == CohortRow(
        Timepoint.W18,
        evaluable=6,
        negative=1,
        pnq=0,
        quantifiable=2,
        negative_insufficient=1,
        failure=1,
        missing=2,
    )
    row = rows[2]
    assert (
        row.negative + row.negative_insufficient + row.pnq + row.quantifiable + row.missing
        == row.evaluable
    )
    assert row.negative_insufficient_percent == row.failure_percent == D(100) / 6
    assert row.missing_percent == D(100) / 3
