"""Measurable residual disease (MRD): values, result classes, MR-1 .. MR-5, the cohort table.

Source: rules §7, and the methods of the Blina-CELL paper: qPCR of patient-specific
IG/TR rearrangements by EuroMRD standards, minimum sensitivity and quantitative range 1E-4,
a week-11 positive-not-quantifiable (PNQ) result re-tested by NGS. MRD is a fraction of cells
(0 to 1), kept as an exact Decimal and never as a float.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from protocol.schedule import WEEK_18, study_days_of_week

# --- Thresholds ------------------------------------------------------------------------------

MRD_THRESHOLD = Decimal("1E-4")  # MR-1, MR-2; paper: sensitivity and QR of 1E-4
MRD_MAX = Decimal(1)  # MRD is a fraction of cells: at most 1 (every cell)
# MR-4: any sample from study day 120 on, the first day of week 18 (days 120-126)
MR4_FIRST_STUDY_DAY = study_days_of_week(WEEK_18)[0]

# rules §7 "evaluable only with a documented haematological CR". The paper reports 26 CR and
# 2 refractory of 28 patients at day 40, with no CRi group, so it counted every complete
# remission as CR. CRi is a complete remission of the marrow (the MRD sample) with incomplete
# blood count recovery: it is counted here too. Remove "CRi" to count CR only.
HAEMATOLOGICAL_CR = frozenset({"CR", "CRi"})


class MrdValueError(ValueError):
    """An MRD value or result that cannot be used; the message says what is expected."""


class ResultClass(StrEnum):
    """rules §7: the result classes a laboratory reports."""

    NEGATIVE = "negative"  # with the sensitivity reached
    PNQ = "pnq"  # positive, not quantifiable: below the quantitative range
    QUANTIFIABLE = "quantifiable"  # with a value
    NOT_EVALUABLE = "not_evaluable"  # no IG/TR target, sample failure


RESULT_CLASS_LABELS: dict[ResultClass, str] = {
    ResultClass.NEGATIVE: "negative",
    ResultClass.PNQ: "positive, not quantifiable (PNQ)",
    ResultClass.QUANTIFIABLE: "quantifiable",
    ResultClass.NOT_EVALUABLE: "not evaluable",
}


class Method(StrEnum):
    QPCR = "qpcr"  # paper: qPCR of patient-specific IG/TR rearrangements (EuroMRD)
    NGS = "ngs"  # paper: EuroClonality-NGS amplicon sequencing, re-test of a week-11 PNQ


class Timepoint(StrEnum):
    D40 = "D40"  # rules §1: end of Induction I
    W11 = "W11"  # rules §1, MR-3: the primary endpoint
    W18 = "W18"  # rules §1, MR-4
    FOLLOW_UP = "FU"  # rules §1: monitoring in consolidation and maintenance
    UNSCHEDULED = "U"


# MR-4: scheduled samples at week 18 or later; any other sample counts by its study day
MR4_SCHEDULED_TIMEPOINTS = frozenset({Timepoint.W18, Timepoint.FOLLOW_UP})
COHORT_TIMEPOINTS = (Timepoint.D40, Timepoint.W11, Timepoint.W18)


# --- Reading and writing values --------------------------------------------------------------

MAX_EXPONENT = 99  # far beyond any assay (1E-6); keeps typing errors such as 1E-9999999 out
_EXAMPLE = "write MRD as a fraction, e.g. 1.2E-4"
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUPERSCRIPT_RUN = re.compile(r"[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_DASHES = str.maketrans({"\u2212": "-", "\u2013": "-"})  # minus sign, en dash
_NUMBER = re.compile(
    r"""
    (?P<sign>[+-])?\s*
    (?:
        (?P<mantissa>\d*[.,]\d+|\d+)
        (?:
            \s*[eE]\s*(?P<e_exponent>[+-]?\d+)
          | \s*[x×X*·]\s*10\s*(?:\^\s*(?P<caret_exponent>[+-]?\d+)|(?P<signed_exponent>[+-]\d+))
        )?
      | 10\s*\^\s*(?P<power_exponent>[+-]?\d+)
    )
    """,
    re.VERBOSE,
)


def _canonical(value: Decimal) -> Decimal:
    """The same number without trailing zeros (0.000120 -> 0.00012), exactly, for any size."""
    if value == 0:
        return Decimal(0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    while len(digits) > 1 and digits[-1] == 0:
        digits = digits[:-1]
        exponent += 1
    return Decimal((sign, digits, exponent))


def _read_number(text: str) -> Decimal:
    """The number in `text`, in any of the accepted notations, without range checks."""
    normal = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), text)
    normal = normal.translate(_DASHES)
    match = _NUMBER.fullmatch(normal)
    if match is None:
        raise MrdValueError(
            f"'{text}' is not a number; {_EXAMPLE}, 0.00012 or 1,2E-4 (for a negative, PNQ "
            "or not evaluable result, choose the result class and leave the value empty)."
        )
    exponent_text = next(
        (
            match[name]
            for name in ("e_exponent", "caret_exponent", "signed_exponent", "power_exponent")
            if match[name] is not None
        ),
        None,
    )
    mantissa = match["mantissa"] or "1"  # "10^-4" alone is 1E-4
    if exponent_text is None and _thousands_ambiguous(mantissa):
        raise MrdValueError(
            f"'{text}' is ambiguous: the separator may mark thousands or decimals; {_EXAMPLE}."
        )
    exponent = int(exponent_text or 0)
    if abs(exponent) > MAX_EXPONENT:
        raise MrdValueError(
            f"'{text}' has the exponent {exponent}, outside -{MAX_EXPONENT} to {MAX_EXPONENT}; "
            f"{_EXAMPLE}."
        )
    number = Decimal(f"{mantissa.replace(',', '.')}E{exponent}")
    return -number if match["sign"] == "-" else number


def _thousands_ambiguous(mantissa: str) -> bool:
    """'1,200' or '1.000' could be a thousands separator (1200) or a decimal one (1.2)."""
    whole, separator, decimals = mantissa.replace(",", ".").partition(".")
    return bool(separator) and whole.strip("0") != "" and len(decimals) == 3


def parse_mrd_value(text: str) -> Decimal:
    """An MRD value as laboratories write it, as an exact Decimal between 0 and 1.

    Accepted: 1.2E-4, 1.2e-04, 0.00012, a decimal comma (1,2E-4), spaces around the text and
    around the exponent (1.2 E-4, 1.2 x 10^-4), and the 'times ten to the power' notation
    1.2x10^-4, 1.2×10-4, 1.2*10^-4, 1.2×10⁻⁴, 10^-4. Without a caret the exponent needs its sign
    (1.2x10-4), so that 1.2x104 is refused. Each of these gives Decimal("0.00012") (1E-4 for
    10^-4). Zero parses: result_errors refuses it for a quantifiable result.

    Refused with MrdValueError: empty text, text that is not a number (NaN, Infinity, "neg",
    "<1E-4"), a percentage, a value below zero or above 1, and 1,200 or 1.000 (thousands or
    decimals?).
    """
    stripped = text.strip()
    if not stripped:
        raise MrdValueError(f"Enter the MRD value; {_EXAMPLE}.")
    if stripped[0] in "<>≤≥":
        raise MrdValueError(
            f"'{stripped}' is a limit, not a value; a result below a limit is negative or "
            "positive not quantifiable: choose that result class and give the sensitivity."
        )
    percentage = stripped.endswith("%")
    value = _canonical(_read_number(stripped.removesuffix("%").strip()))
    if percentage:
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        value = Decimal((sign, digits, exponent - 2))  # / 100, exactly
    if value < 0:
        raise MrdValueError(
            f"MRD {stripped} is below zero; MRD is a fraction of cells: 0 or more, e.g. 1.2E-4."
        )
    if value > MRD_MAX:
        raise MrdValueError(
            f"MRD {stripped} is above 1; MRD is a fraction of cells: at most 1 ({_EXAMPLE})."
        )
    if percentage:
        raise MrdValueError(
            f"MRD is written as a fraction of cells, not a percentage: {stripped} is "
            f"{format_mrd(value)}; enter {format_mrd(value)}."
        )
    return value


def format_mrd(value: Decimal) -> str:
    """An MRD value in the laboratory's notation: 0.00012 -> "1.2E-4", 0.05 -> "5E-2", 1 -> "1E0".

    The mantissa keeps up to 2 decimals and is cut, not rounded: 9.996E-5 shows as 9.99E-5, never
    as 1E-4, so a shown value is on the same side of the 1E-4 threshold as the real one. Zero is
    "0".
    """
    if not value.is_finite() or value < 0:
        raise MrdValueError(f"MRD {value} cannot be shown: MRD is a fraction of cells, 0 to 1.")
    if value == 0:
        return "0"
    _, digits, _ = value.as_tuple()
    mantissa = Decimal((0, digits, 1 - len(digits)))  # one digit before the point
    mantissa = mantissa.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return f"{_canonical(mantissa)}E{value.adjusted()}"


# --- Results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MrdResult:
    """One laboratory result by one method; fractions of cells, exact Decimals (rules §7)."""

    result_class: ResultClass
    value: Decimal | None = None  # quantifiable results only
    sensitivity: Decimal | None = None  # the sensitivity reached; required for a negative
    quantitative_range: Decimal | None = None
    method: Method = Method.QPCR
    timepoint: Timepoint | None = None
    study_day: int | None = None


def _fraction_error(name: str, number: Decimal) -> str | None:
    """Error for a sensitivity or quantitative range outside 0 < x <= 1."""
    if not number.is_finite():
        return f"The {name} {number} is not a number; write it as a fraction, e.g. 1E-4."
    if not 0 < number <= MRD_MAX:
        return (
            f"The {name} {number} is outside 0-1; it is a fraction of cells above 0 and at "
            "most 1, e.g. 1E-4 or 1E-5."
        )
    return None


def _value_error(result: MrdResult) -> str | None:
    value = result.value
    if result.result_class != ResultClass.QUANTIFIABLE:
        if value is None:
            return None
        if result.result_class == ResultClass.NEGATIVE:
            return (
                "A negative result has no value; give its sensitivity (clear the value, or "
                "choose 'quantifiable' if the sample was quantified)."
            )
        if result.result_class == ResultClass.PNQ:
            return (
                "A positive not quantifiable result has no value: it is below the quantitative "
                "range; clear the value, or choose 'quantifiable'."
            )
        return "A not evaluable result has no value; clear the value, or choose another class."
    if value is None:
        return (
            f"A quantifiable result needs its MRD value, {_EXAMPLE}; a positive result below "
            "the quantitative range is 'positive not quantifiable'."
        )
    if not value.is_finite():
        return f"MRD {value} is not a number; {_EXAMPLE}."
    if value < 0:
        return f"MRD {value} is below zero; MRD is a fraction of cells: 0 or more."
    if value == 0:
        return (
            "MRD 0 is not quantifiable: a quantifiable result is above zero; for no MRD "
            "detected choose 'negative' and give its sensitivity."
        )
    if value > MRD_MAX:
        return f"MRD {value} is above 1; MRD is a fraction of cells: at most 1 ({_EXAMPLE})."
    for name, limit in (
        ("quantitative range", result.quantitative_range),
        ("sensitivity", result.sensitivity),
    ):
        if limit is not None and limit.is_finite() and value < limit:
            return (
                f"MRD {format_mrd(value)} is below the {name} {format_mrd(limit)} of the assay; "
                "a quantifiable value is at or above it: below the quantitative range the "
                "result is 'positive not quantifiable'."
            )
    return None


def result_errors(result: MrdResult) -> dict[str, str]:
    """Hard checks of one result: field name ("result_class", "value", "sensitivity",
    "quantitative_range") -> what is wrong and what is expected. Empty when acceptable."""
    try:
        ResultClass(result.result_class)
    except ValueError:
        choices = ", ".join(member.value for member in ResultClass)
        return {"result_class": f"'{result.result_class}' is not a result class; choose {choices}."}
    errors: dict[str, str] = {}
    if (value_error := _value_error(result)) is not None:
        errors["value"] = value_error
    if result.sensitivity is not None:
        if (sensitivity_error := _fraction_error("sensitivity", result.sensitivity)) is not None:
            errors["sensitivity"] = sensitivity_error
    elif result.result_class == ResultClass.NEGATIVE:
        errors["sensitivity"] = (
            "A negative result needs the sensitivity reached, e.g. 1E-4 or 1E-5: MRD negativity "
            "(MR-1) needs a sensitivity of 1E-4 or better."
        )
    if result.quantitative_range is not None:
        qr_error = _fraction_error("quantitative range", result.quantitative_range)
        if qr_error is not None:
            errors["quantitative_range"] = qr_error
        elif (
            "sensitivity" not in errors
            and result.sensitivity is not None
            and result.quantitative_range < result.sensitivity
        ):
            errors["quantitative_range"] = (
                f"The quantitative range {format_mrd(result.quantitative_range)} is below the "
                f"sensitivity {format_mrd(result.sensitivity)}; an assay quantifies only what "
                "it detects: the quantitative range is at or above the sensitivity."
            )
    return errors


def _require_valid(result: MrdResult) -> None:
    """The rules are never decided on a result that the form would refuse."""
    errors = result_errors(result)
    if errors:
        raise MrdValueError("MRD result not usable: " + " ".join(errors.values()))


# --- MR-1, MR-2: response classes ------------------------------------------------------------


def is_mrd_negativity(result: MrdResult) -> bool:
    """MR-1: negative with a sensitivity of 1E-4 or better (1E-4, 1E-5 ...).

    A negative result with a worse sensitivity (1E-3) is not MRD negativity.
    """
    _require_valid(result)
    return (
        result.result_class == ResultClass.NEGATIVE
        and result.sensitivity is not None
        and result.sensitivity <= MRD_THRESHOLD
    )


def is_mrd_failure(result: MrdResult) -> bool:
    """MR-2: quantifiable MRD of 1E-4 or more (exactly 1E-4 is failure); PNQ is not."""
    _require_valid(result)
    return (
        result.result_class == ResultClass.QUANTIFIABLE
        and result.value is not None
        and result.value >= MRD_THRESHOLD
    )


class ResponseClass(StrEnum):
    """The MRD response of one result (MR-1, MR-2)."""

    NEGATIVITY = "negativity"  # MR-1
    # Negative, but the assay reached only a sensitivity worse than 1E-4: not MRD negativity
    # (MR-1), and not positive either, so not "intermediate" (MR-2 speaks of positives).
    NEGATIVE_INSUFFICIENT = "negative_insufficient"
    INTERMEDIATE = "intermediate"  # MR-2: PNQ, or quantifiable below 1E-4
    FAILURE = "failure"  # MR-2
    NOT_EVALUABLE = "not_evaluable"


RESPONSE_LABELS: dict[ResponseClass, str] = {
    ResponseClass.NEGATIVITY: "MRD negativity (MR-1)",
    ResponseClass.NEGATIVE_INSUFFICIENT: (
        "Negative, sensitivity worse than 1E-4: not MRD negativity (MR-1)"
    ),
    ResponseClass.INTERMEDIATE: "Intermediate: positive below 1E-4 or not quantifiable (MR-2)",
    ResponseClass.FAILURE: "MRD failure (MR-2)",
    ResponseClass.NOT_EVALUABLE: "Not evaluable",
}


def response_class(result: MrdResult) -> ResponseClass:
    """The MRD response of a result (MR-1, MR-2); MrdValueError if result_errors refuses it."""
    if is_mrd_negativity(result):
        return ResponseClass.NEGATIVITY
    if is_mrd_failure(result):
        return ResponseClass.FAILURE
    return {
        ResultClass.NEGATIVE: ResponseClass.NEGATIVE_INSUFFICIENT,
        ResultClass.PNQ: ResponseClass.INTERMEDIATE,
        ResultClass.QUANTIFIABLE: ResponseClass.INTERMEDIATE,
        ResultClass.NOT_EVALUABLE: ResponseClass.NOT_EVALUABLE,
    }[result.result_class]


def is_haematological_cr(response: str | None) -> bool:
    """rules §7: MRD response is evaluable only with a documented CR (see HAEMATOLOGICAL_CR)."""
    return response in HAEMATOLOGICAL_CR


# --- MR-3: the deciding result at a timepoint (the primary endpoint at week 11) --------------


def _latest(results: list[MrdResult]) -> MrdResult:
    """The latest result: by study day when every one has it, else the last one given."""
    if all(result.study_day is not None for result in results):
        return max(enumerate(results), key=lambda pair: (pair[1].study_day, pair[0]))[1]
    return results[-1]


def endpoint_result(results: Sequence[MrdResult]) -> MrdResult | None:
    """MR-3: the result that decides, among one subject's results at one timepoint.

    At week 11 a PNQ by qPCR is re-tested by NGS and the NGS result decides (both are kept): an
    evaluable NGS result wins over any qPCR result. An NGS result that is not evaluable (the
    re-test failed) decides nothing, and the qPCR result stands. With several results of the
    deciding method (repeat samples), the latest decides: by study day when all results have
    one, else the last given, so pass them in sampling order. None when there is no result; a
    not evaluable result when nothing else is there.
    """
    if not results:
        return None
    timepoints = {result.timepoint for result in results if result.timepoint is not None}
    if len(timepoints) > 1:
        shown = ", ".join(sorted(timepoints))
        raise MrdValueError(f"The results are from several timepoints ({shown}); pass one.")
    evaluable = [r for r in results if r.result_class != ResultClass.NOT_EVALUABLE]
    for method in (Method.NGS, Method.QPCR):
        candidates = [r for r in evaluable if r.method == method]
        if candidates:
            return _latest(candidates)
    return _latest(list(results))


def w11_ngs_retest_due(results: Sequence[MrdResult]) -> bool:
    """AL-W11-NGS: the week-11 qPCR result is PNQ and no NGS result is entered yet."""
    qpcr = [r for r in results if r.method == Method.QPCR]
    has_ngs = any(r.method == Method.NGS for r in results)
    return bool(qpcr) and _latest(qpcr).result_class == ResultClass.PNQ and not has_ngs


# --- MR-4, MR-5: MRD-triggered blinatumomab and molecular relapse ----------------------------


def mr4_triggered(
    result: MrdResult, timepoint: Timepoint | None, study_day: int | None, in_cr: bool
) -> bool:
    """MR-4: in CR, MRD failure (quantifiable >= 1E-4) at week 18 or later.

    "Week 18 or later" is a W18 or follow-up scheduled sample, or any sample from study day 120
    (MR4_FIRST_STUDY_DAY) on: a week-11 sample on day 77 does not fire. A PNQ never fires.
    A sample that is neither W18 nor follow-up needs its study day to be placed.
    """
    if not in_cr or not is_mrd_failure(result):
        return False
    if timepoint in MR4_SCHEDULED_TIMEPOINTS:
        return True
    if study_day is None:
        raise MrdValueError(
            f"MR-4 needs the study day of this {timepoint or 'undated'} sample with MRD failure: "
            f"it fires from study day {MR4_FIRST_STUDY_DAY} on."
        )
    return study_day >= MR4_FIRST_STUDY_DAY


def mr5_molecular_relapse(previous_results: Sequence[MrdResult], result: MrdResult) -> bool:
    """MR-5: MRD failure (quantifiable >= 1E-4) after MRD negativity (MR-1) earlier.

    `previous_results` are the subject's earlier results; a negative with a sensitivity worse
    than 1E-4 is not MRD negativity and does not count. A "previous" result with a later study
    day than `result` is refused.
    """
    if result.study_day is not None:
        for previous in previous_results:
            if previous.study_day is not None and previous.study_day > result.study_day:
                raise MrdValueError(
                    f"A previous result on study day {previous.study_day} is after the result "
                    f"on study day {result.study_day}; pass only earlier results."
                )
    if not is_mrd_failure(result):
        return False
    return any(is_mrd_negativity(previous) for previous in previous_results)


# --- Cohort table (paper: results at D40, W11, W18 among evaluable patients) -----------------


@dataclass(frozen=True)
class CohortRow:
    """MRD at one timepoint among evaluable patients (in CR, with an IG/TR target).

    negative + negative_insufficient + pnq + quantifiable + missing == evaluable. `negative`
    is MRD negativity (MR-1) only; a negative with a sensitivity worse than 1E-4 is counted in
    `negative_insufficient`, never as negative. `failure` is the part of `quantifiable` at
    1E-4 or more (MR-2). `missing`: evaluable patients without an evaluable result.
    """

    timepoint: Timepoint
    evaluable: int
    negative: int
    pnq: int
    quantifiable: int
    negative_insufficient: int = 0
    failure: int = 0
    missing: int = 0

    def percent(self, count: int) -> Decimal | None:
        """`count` as a percentage of the evaluable patients, unrounded; None if there are none."""
        if self.evaluable == 0:
            return None
        return Decimal(count) * 100 / Decimal(self.evaluable)

    @property
    def negative_percent(self) -> Decimal | None:
        return self.percent(self.negative)

    @property
    def negative_insufficient_percent(self) -> Decimal | None:
        return self.percent(self.negative_insufficient)

    @property
    def pnq_percent(self) -> Decimal | None:
        return self.percent(self.pnq)

    @property
    def quantifiable_percent(self) -> Decimal | None:
        return self.percent(self.quantifiable)

    @property
    def failure_percent(self) -> Decimal | None:
        return self.percent(self.failure)

    @property
    def missing_percent(self) -> Decimal | None:
        return self.percent(self.missing)


def cohort_table(
    per_subject: Sequence[tuple[Timepoint, MrdResult | None, bool]],
) -> list[CohortRow]:
    """Rows for D40, W11 and W18, in that order, from (timepoint, the subject's deciding result
    there or None, evaluable) per subject and timepoint.

    Only evaluable subjects are counted. Tuples for follow-up or unscheduled samples are not
    part of the table and are skipped.
    """
    columns = ("evaluable", "negative", "negative_insufficient", "pnq", "quantifiable")
    counts = {
        timepoint: dict.fromkeys((*columns, "failure", "missing"), 0)
        for timepoint in COHORT_TIMEPOINTS
    }
    column = {
        ResponseClass.NEGATIVITY: "negative",
        ResponseClass.NEGATIVE_INSUFFICIENT: "negative_insufficient",
        ResponseClass.NOT_EVALUABLE: "missing",
    }
    for timepoint, result, evaluable in per_subject:
        if timepoint not in counts or not evaluable:
            continue
        row = counts[timepoint]
        row["evaluable"] += 1
        if result is None:
            row["missing"] += 1
            continue
        response = response_class(result)
        if result.result_class == ResultClass.PNQ:
            row["pnq"] += 1
        elif result.result_class == ResultClass.QUANTIFIABLE:
            row["quantifiable"] += 1
            row["failure"] += response == ResponseClass.FAILURE
        else:
            row[column[response]] += 1
    return [CohortRow(timepoint=timepoint, **counts[timepoint]) for timepoint in COHORT_TIMEPOINTS]
