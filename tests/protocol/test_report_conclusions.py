"""What a trial statistician signs under the study report, as tables of cases: the primary
endpoint's decision rule and conclusion, the median follow-up by reverse Kaplan-Meier, the numbers
at risk, the events of each endpoint, Table 2's publication rows and footnote filter, and the one
rounding rule."""

from decimal import Decimal

import pytest

from protocol import reports
from protocol.reports import Decision, primary_decision
from protocol.safety import (
    CRS,
    HEPATIC,
    INFECTION,
    LABORATORY,
    NEUROLOGIC,
    TABLE_2_CATEGORIES,
    AeFact,
    ae_summary,
    publication_rows,
    table_2_label,
)
from protocol.statistics import (
    DAYS_PER_MONTH,
    exact_proportion,
    follow_up,
    format_percent,
    kaplan_meier,
    one_sided_binomial_test,
    percent_of,
)

pytestmark = pytest.mark.verifies("UR-REP-02")


# --- The primary endpoint: decision rule and conclusion (MR-3) -------------------------------


@pytest.mark.verifies("MR-3")
@pytest.mark.parametrize(
    ("k", "n", "decision", "conclusion"),
    [
        pytest.param(
            21, 25, Decision.REJECTED_BELOW_TARGET,
            "Null hypothesis rejected (p = 0.0095), but the observed 84.0% is below the 85% "
            "target: target not met.",
            id="the publication: 21/25 rejects 60% but is below 85%",
        ),
        pytest.param(
            22, 25, Decision.TARGET_MET,
            "Null hypothesis rejected (p = 0.0024) and the observed 88.0% reaches the 85% "
            "target: target met.",
            id="22/25: target met",
        ),
        pytest.param(
            85, 100, Decision.TARGET_MET,
            "Null hypothesis rejected (p < 0.0001) and the observed 85.0% reaches the 85% "
            "target: target met.",
            id="exactly 85%: reaches the target",
        ),
        pytest.param(
            45, 53, Decision.REJECTED_BELOW_TARGET,
            "Null hypothesis rejected (p < 0.0001), but the observed 84.9% is below the 85% "
            "target: target not met.",
            id="84.9%: below, though it rounds to 85%",
        ),
        pytest.param(
            17, 25, Decision.NOT_REJECTED,
            "Null hypothesis not rejected (p = 0.2735 > 0.05): the observed 68.0% is not "
            "significantly above 60%: target not met.",
            id="17/25: not rejected",
        ),
        pytest.param(
            3, 3, Decision.NOT_REJECTED,
            "Null hypothesis not rejected (p = 0.2160 > 0.05): the observed 100.0% reaches the "
            "85% target, but with 3 patients it is not significantly above 60%: target not met.",
            id="3/3: above the target but too few patients",
        ),
        pytest.param(
            0, 0, Decision.NO_DATA,
            "No evaluable week-11 result yet: no test and no conclusion.",
            id="no result yet",
        ),
    ],
)  # fmt: skip
def test_primary_decision(k, n, decision, conclusion):
    p_value = one_sided_binomial_test(k, n, reports.PRIMARY_NULL_RATE).p_value
    assert primary_decision(k, n, p_value) == (decision, conclusion)


@pytest.mark.verifies("MR-3")
def test_the_publication_s_interval_and_the_rule_stated():
    assert exact_proportion(21, 25).text == "21/25 = 84.0% (95% CI 63.9%–95.5%)"
    assert "H0: the rate of MRD negativity at week 11 is 60% or less" in reports.HYPOTHESES
    assert "Target (the rate the trial aimed at): 85%" in reports.HYPOTHESES
    assert "rejects H0 (p ≤ 0.05) and the observed rate reaches 85%" in reports.DECISION_RULE


@pytest.mark.verifies("MR-3")
def test_an_interim_conclusion_says_who_is_not_counted_yet():
    from protocol import mrd

    row = mrd.CohortRow(
        mrd.Timepoint.W11, evaluable=27, negative=21, pnq=2, quantifiable=2, missing=2
    )
    endpoint = reports.primary_endpoint(row)
    assert endpoint.decision == Decision.REJECTED_BELOW_TARGET
    assert endpoint.interim.startswith("Interim: 2 evaluable patients without an evaluable")


# --- Follow-up, numbers at risk, events ------------------------------------------------------


def _months(days: float) -> float:
    return days / DAYS_PER_MONTH


@pytest.mark.parametrize(
    ("durations", "died", "median_days", "minimum_days", "maximum_days"),
    [
        # reverse KM: censorings at 400 (4 at risk: 3/4), 900 (2 at risk: 3/8 <= 1/2)
        pytest.param([100, 400, 800, 900, 1000], [1, 0, 1, 0, 0], 900, 400, 1000, id="mixed"),
        # everyone alive: the median of the follow-up times
        pytest.param([100, 200, 300], [0, 0, 0], 200, 100, 300, id="nobody died"),
        pytest.param([100, 200], [1, 1], None, None, None, id="everyone died: not estimable"),
    ],
)
def test_median_follow_up_by_reverse_kaplan_meier(
    durations, died, median_days, minimum_days, maximum_days
):
    result = follow_up(durations, [bool(d) for d in died])
    if median_days is None:
        assert result.median_months is None and result.minimum_months is None
        assert result.text == "median not estimable (no patient alive at the last contact)"
        return
    assert result.median_months == pytest.approx(_months(median_days))
    assert result.minimum_months == pytest.approx(_months(minimum_days))
    assert result.maximum_months == pytest.approx(_months(maximum_days))
    assert result.censored == len(died) - sum(died)


def test_follow_up_text():
    text = follow_up([100, 400, 800, 900, 1000], [True, False, True, False, False]).text
    assert text.startswith("median 29.6 months (95% CI ")
    assert text.endswith(
        "reverse Kaplan-Meier; minimum 13.1, maximum 32.9 months (3 patients alive at the last "
        "contact)"
    )


@pytest.mark.parametrize(
    ("durations", "events", "expected"),
    [
        pytest.param(
            [100, 400, 800, 900, 1000], [True, False, True, False, False],
            ((0, 5), (6, 4), (12, 4), (18, 3), (24, 3), (30, 1)),
            id="every 6 months to the longest follow-up",
        ),
        pytest.param(
            [100, 200], [True, False], ((0, 2), (6, 1), (12, 0), (18, 0), (24, 0)),
            id="to the 2-year horizon when followed less",
        ),
    ],
)  # fmt: skip
def test_numbers_at_risk_every_six_months(durations, events, expected):
    summary = kaplan_meier(durations, events, horizons_months=(12, 24))
    assert summary.at_risk == expected


@pytest.mark.parametrize(
    ("endpoint", "durations", "outcomes", "text"),
    [
        ("overall", [10] * 25 + [5, 6, 7], [0] * 25 + [1, 1, 1], "OS: 3 deaths in 28 patients"),
        ("overall", [10], [1], "OS: 1 death in 1 patient"),
        (
            "event_free", [10, 20], [1, 0],
            "EFS: 1 event in 2 patients (refractory at day 40, relapse, second malignancy or "
            "death, whichever came first)",
        ),
        (
            "relapse_in_cr1", [10, 20, 30], [1, 2, 0],
            "Relapse in CR1: 1 relapse and 1 death without a prior relapse (competing) in 3 "
            "patients in CR at day 40",
        ),
    ],
)  # fmt: skip
def test_events_stated_next_to_each_figure(endpoint, durations, outcomes, text):
    from protocol.statistics import cumulative_incidence

    if endpoint == "relapse_in_cr1":
        summary = cumulative_incidence(durations, outcomes)
    else:
        summary = kaplan_meier(durations, [bool(o) for o in outcomes])
    assert reports.events_text(endpoint, summary) == text


# --- Table 2: the publication's rows, verbatim terms, the footnote filter ---------------------

OTHER_INFECTION = "Infections and infestations - Other, specify"


@pytest.mark.parametrize(
    ("term", "verbatim", "label"),
    [
        ("Alanine aminotransferase increased", "", ("ALT increased", False)),
        ("Concentration impairment", "", ("Attention disturbance", False)),
        ("Fibrinogen decreased", "", ("Hypofibrinogenemia", False)),
        ("Muscle cramp", "", ("Muscle cramps", False)),
        (OTHER_INFECTION, "COVID-19 pneumonia", ("SARS-CoV-2 infection", False)),
        (OTHER_INFECTION, "SARS-CoV-2 infection", ("SARS-CoV-2 infection", False)),
        (OTHER_INFECTION, "  herpes   zoster ", ("Herpes zoster", True)),
        (OTHER_INFECTION, "", (OTHER_INFECTION, False)),
        ("Sepsis", "", ("Sepsis", False)),  # not a publication row: the CTCAE term
    ],
)
def test_table_2_label(term, verbatim, label):
    assert table_2_label(term, verbatim) == label


def test_table_2_rows_in_the_publication_s_order_with_other_infections_by_verbatim():
    events = [
        AeFact("1", "Hypoalbuminemia", LABORATORY, 1),
        AeFact("1", "Fibrinogen decreased", LABORATORY, 2),
        AeFact("2", "Hypophosphatemia", LABORATORY, 3),
        AeFact("1", "Sepsis", INFECTION, 3),
        AeFact("2", OTHER_INFECTION, INFECTION, 2, verbatim="Herpes zoster"),
        AeFact("3", OTHER_INFECTION, INFECTION, 1, verbatim="herpes zoster"),
        AeFact("3", OTHER_INFECTION, INFECTION, 1, verbatim="COVID-19"),
        AeFact("1", "Febrile neutropenia", INFECTION, 3),
        AeFact("2", "Concentration impairment", NEUROLOGIC, 1),
        AeFact("2", "Ataxia", NEUROLOGIC, 2),
        AeFact("3", "Cytokine release syndrome", CRS, 2),
        AeFact("3", "Aspartate aminotransferase increased", HEPATIC, 1),
        AeFact("3", "Blood bilirubin increased", HEPATIC, 1),
    ]
    rows = ae_summary(events, treated=3, categories=TABLE_2_CATEGORIES)
    assert [(r.label, r.verbatim) for r in rows] == [
        (HEPATIC, False), ("Bilirubin increased", False), ("AST increased", False),
        (CRS, False),  # the term row would only repeat the category
        (INFECTION, False), ("Febrile neutropenia", False), ("SARS-CoV-2 infection", False),
        ("Herpes zoster", True), ("Sepsis", False),  # not in the publication: alphabetically
        (NEUROLOGIC, False), ("Ataxia", False), ("Attention disturbance", False),
        (LABORATORY, False), ("Hypophosphatemia", False), ("Hypofibrinogenemia", False),
        ("Hypoalbuminemia", False),
    ]  # fmt: skip
    zoster = next(r for r in rows if r.label == "Herpes zoster")
    assert (zoster.any_grade, zoster.low_grade, zoster.severe) == (2, 2, 0)


@pytest.mark.parametrize(
    ("grades", "shown"),
    [
        pytest.param([[3]], True, id="grade 3 in one patient"),
        pytest.param([[4]], True, id="grade 4 in one patient"),
        pytest.param([[5]], True, id="grade 5 in one patient"),
        pytest.param([[1], [2]], True, id="grade 1-2 in two patients"),
        pytest.param([[1, 2]], False, id="grade 1 and 2 in one patient"),
        pytest.param([[2]], False, id="grade 2 in one patient"),
        pytest.param([[1], [3]], True, id="grade 1 and grade 3 in two patients"),
    ],
)
def test_publication_footnote_filter(grades, shown):
    events = [
        AeFact(str(patient), "Sepsis", INFECTION, grade)
        for patient, patient_grades in enumerate(grades)
        for grade in patient_grades
    ]
    events.append(AeFact("x", "Blood bilirubin increased", HEPATIC, 3))  # always shown
    rows = ae_summary(events, treated=10, categories=TABLE_2_CATEGORIES)
    kept = [r.label for r in publication_rows(rows)]
    assert ("Sepsis" in kept) is shown
    assert (INFECTION in kept) is shown  # the category by its own counts
    assert kept[:2] == [HEPATIC, "Bilirubin increased"]


# --- One rounding rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "total", "percent"),
    [(8, 28, 29), (1, 8, 13), (19, 28, 68), (21, 25, 84), (1, 3, 33), (2, 3, 67), (0, 5, 0)],
)
def test_percentages_round_half_up_the_same_in_table_1_and_table_2(count, total, percent):
    assert percent_of(count, total) == percent
    events = [AeFact(str(i), "Sepsis", INFECTION, 1) for i in range(count)]
    rows = ae_summary(events, treated=total, categories=TABLE_2_CATEGORIES) if count else []
    assert all(row.percent_any == Decimal(percent) for row in rows)


@pytest.mark.parametrize(
    ("fraction", "decimals", "text"),
    [
        (0.625, 0, "63%"), (0.125, 0, "13%"), (0.84, 1, "84.0%"), (0.8496, 1, "85.0%"),
        (None, 0, "–"),
    ],
)  # fmt: skip
def test_estimates_round_half_up_too(fraction, decimals, text):
    assert format_percent(fraction, decimals) == text


def test_the_rule_is_stated_in_the_report_definitions():
    assert "halves up" in reports.DEFINITIONS["rounding"]
    assert "8 of 28 = 28.57% -> 29%" in reports.DEFINITIONS["rounding"]
