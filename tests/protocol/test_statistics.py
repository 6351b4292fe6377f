"""protocol/statistics.py: N (%), median (range), exact binomial, Kaplan-Meier, Aalen-Johansen.

Expected values are worked by hand (or by a formula independent of the code's, e.g. the
Clopper-Pearson limits as beta quantiles)."""

from decimal import Decimal

import pytest
from scipy.stats import beta

from protocol.statistics import (
    DAYS_PER_MONTH,
    CountPercent,
    cumulative_incidence,
    exact_proportion,
    format_p_value,
    kaplan_meier,
    median_range,
    one_sided_binomial_test,
    percent_of,
)

pytestmark = pytest.mark.verifies("UR-REP-01")


@pytest.mark.parametrize(
    ("count", "total", "percent", "text"),
    [
        (19, 28, 68, "19 (68)"),  # Table 1: Male 19 (68)
        (9, 28, 32, "9 (32)"),
        (15, 28, 54, "15 (54)"),  # 53.57 -> 54
        (24, 28, 86, "24 (86)"),
        (26, 29, 90, "26 (90)"),  # Table 2: hepatic impairment 26 (90)
        (1, 8, 13, "1 (13)"),  # 12.5: halves round up, not to even
        (1, 40, 3, "1 (3)"),  # 2.5 -> 3
        (0, 28, 0, "0"),  # the paper prints a bare 0: "t(9;22) 0"
        (0, 0, None, "0"),
        (5, 5, 100, "5 (100)"),
    ],
)
def test_count_percent_as_the_paper_rounds(count, total, percent, text):
    assert percent_of(count, total) == percent
    assert str(CountPercent(count, total)) == text


@pytest.mark.parametrize(
    ("values", "median", "low", "high", "text"),
    [
        ([41, 19, 65], Decimal(41), Decimal(19), Decimal(65), "41 (19–65)"),  # odd count
        ([1, 2, 3, 4], Decimal("2.5"), Decimal(1), Decimal(4), "2.5 (1–4)"),  # even: mean
        (
            [Decimal("5.9"), Decimal("0.6"), Decimal("67.7"), Decimal("6.0")],
            Decimal("5.95"),
            Decimal("0.6"),
            Decimal("67.7"),
            "5.95 (0.6–67.7)",
        ),
        ([Decimal("81.0")], Decimal("81.0"), Decimal("81.0"), Decimal("81.0"), "81 (81–81)"),
        ([None, 7, None], Decimal(7), Decimal(7), Decimal(7), "7 (7–7)"),  # None not recorded
        ([100, 300], Decimal(200), Decimal(100), Decimal(300), "200 (100–300)"),  # no 2E+2
    ],
)
def test_median_range(values, median, low, high, text):
    result = median_range(values)
    assert (result.median, result.minimum, result.maximum) == (median, low, high)
    assert str(result) == text
    assert result.n == sum(v is not None for v in values)


def test_median_range_of_nothing_is_not_recorded():
    result = median_range([None, None])
    assert (result.n, result.median) == (0, None)
    assert str(result) == "not recorded"


def _clopper_pearson(k: int, n: int) -> tuple[float, float]:
    """The exact limits as beta quantiles: an oracle independent of scipy's binomtest."""
    lower = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    upper = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    return lower, upper


@pytest.mark.parametrize(
    ("k", "n", "lower", "upper"),
    [
        (20, 25, 0.5930, 0.9317),  # the brief's example: 0.593-0.932
        (21, 25, 0.6392, 0.9546),  # the paper's 21/25
        (25, 25, 0.8628, 1.0),  # all: upper limit 1
        (0, 5, 0.0, 0.5218),  # none: lower limit 0
        (1, 3, 0.0084, 0.9057),
    ],
)
def test_exact_proportion_clopper_pearson(k, n, lower, upper):
    result = exact_proportion(k, n)
    assert result.estimate == pytest.approx(k / n)
    assert result.lower == pytest.approx(lower, abs=5e-5)
    assert result.upper == pytest.approx(upper, abs=5e-5)
    assert (result.lower, result.upper) == pytest.approx(_clopper_pearson(k, n), abs=1e-9)


def test_exact_proportion_of_no_trials_has_no_estimate():
    result = exact_proportion(0, 0)
    assert (result.estimate, result.lower, result.upper) == (None, None, None)
    assert result.text == "0/0: no estimate"


def test_exact_proportion_text():
    assert exact_proportion(21, 25).text == "21/25 = 84.0% (95% CI 63.9%–95.5%)"


@pytest.mark.parametrize(("k", "n"), [(6, 5), (-1, 5), (1, -1)])
def test_impossible_counts_are_refused(k, n):
    with pytest.raises(ValueError):
        exact_proportion(k, n)
    with pytest.raises(ValueError):
        one_sided_binomial_test(k, n, 0.6)


@pytest.mark.parametrize(
    ("k", "n", "p_value"),
    [
        (20, 25, 0.029362),  # the brief's example: p = 0.0294
        (21, 25, 0.009471),  # the paper's 21/25 against 60%
        (1, 3, 1 - 0.4**3),  # by hand: P(X >= 1) = 1 - P(X = 0)
        (2, 3, 3 * 0.6**2 * 0.4 + 0.6**3),  # by hand: P(X = 2) + P(X = 3)
        (0, 4, 1.0),
        (25, 25, 0.6**25),
    ],
)
def test_one_sided_binomial_test_against_60_percent(k, n, p_value):
    result = one_sided_binomial_test(k, n, 0.6)
    assert result.p_value == pytest.approx(p_value, rel=1e-4)
    assert result.alternative == "greater"


def test_binomial_test_of_no_trials_has_no_p_value():
    assert one_sided_binomial_test(0, 0, 0.6).p_value is None


@pytest.mark.parametrize(
    ("p", "text"), [(0.029362, "0.0294"), (0.00001, "< 0.0001"), (None, "–"), (1.0, "1.0000")]
)
def test_p_value_text(p, text):
    assert format_p_value(p) == text


def test_null_rate_must_be_a_proportion():
    with pytest.raises(ValueError):
        one_sided_binomial_test(1, 2, 60)


# --- Kaplan-Meier: product-limit by hand ----------------------------------------------------

MONTH = DAYS_PER_MONTH


def test_kaplan_meier_by_hand():
    # 6 patients; deaths at 100, 300 and 800 days, censored at 200, 400 and 900 days.
    # S(100) = 5/6; S(300) = 5/6 * 3/4 = 0.625; S(800) = 0.625 * 1/2 = 0.3125.
    durations = [100, 200, 300, 400, 800, 900]
    events = [True, False, True, False, True, False]
    summary = kaplan_meier(durations, events, horizons_months=(6, 12, 24, 36))
    assert (summary.subjects, summary.events) == (6, 3)
    six, twelve, twenty_four, thirty_six = summary.rates
    assert six.estimate == pytest.approx(5 / 6)  # 182.6 days
    assert twelve.estimate == pytest.approx(0.625)  # 365.25 days
    assert twelve.at_risk == 3  # still followed at 365.25 days: 400, 800 and 900
    assert twenty_four.estimate == pytest.approx(0.625)  # 730.5 days: before the third death
    assert [step.estimate for step in summary.steps][-2:] == pytest.approx([0.3125, 0.3125])
    assert thirty_six.estimate is None  # 1095.75 days: longer than anyone was followed
    assert summary.median_months == pytest.approx(800 / MONTH)  # first time S <= 0.5
    assert summary.censored_months == pytest.approx((200 / MONTH, 400 / MONTH, 900 / MONTH))
    assert twelve.lower < 0.625 < twelve.upper
    assert 0 <= twelve.lower and twelve.upper <= 1


def test_kaplan_meier_median_not_reached():
    summary = kaplan_meier([100, 200, 300], [True, False, False], horizons_months=(6,))
    assert summary.median_months is None
    assert summary.median_text == "not reached"
    assert summary.rates[0].estimate == pytest.approx(2 / 3)


def test_kaplan_meier_event_at_time_zero_starts_below_one():
    # EFS: refractory at day 40 is an event at time 0.
    summary = kaplan_meier([0, 500, 600, 700], [True, False, False, False], horizons_months=(12,))
    assert summary.steps[0].months == 0
    assert summary.steps[0].estimate == pytest.approx(0.75)
    assert summary.rates[0].estimate == pytest.approx(0.75)


def test_kaplan_meier_after_the_last_event_is_known():
    # Everyone died: the curve is 0 beyond the last death, estimable at any later time.
    summary = kaplan_meier([100, 200], [True, True], horizons_months=(24,))
    assert summary.rates[0].estimate == 0


def test_kaplan_meier_of_nobody():
    summary = kaplan_meier([], [], horizons_months=(24,))
    assert summary.subjects == 0
    assert summary.steps == ()
    assert summary.rates[0].estimate is None
    assert summary.rates[0].text.startswith("not estimable")


def test_kaplan_meier_refuses_negative_durations():
    with pytest.raises(ValueError):
        kaplan_meier([-1, 5], [True, False])


# --- Cumulative incidence with a competing event (Aalen-Johansen) ---------------------------


def test_cumulative_incidence_by_hand():
    # 5 patients: relapse at 100 (1), death without relapse at 200 (2), relapse at 300 (1),
    # censored at 400 and 900. F(100) = 1/5; after the death S = 3/5; F(300) = 1/5 + 3/5 * 1/3.
    durations = [100, 200, 300, 400, 900]
    outcomes = [1, 2, 1, 0, 0]
    summary = cumulative_incidence(durations, outcomes, horizons_months=(6, 12, 24))
    assert (summary.subjects, summary.events, summary.competing_events) == (5, 2, 1)
    six, twelve, twenty_four = summary.rates
    assert six.estimate == pytest.approx(0.2)  # 182.6 days: one relapse
    assert twelve.estimate == pytest.approx(0.4)  # 365.25 days
    assert twenty_four.estimate == pytest.approx(0.4)  # 730.5 days, followed to 900
    assert twelve.lower < 0.4 < twelve.upper
    # The competing death is not counted as relapse: a 1 - KM of relapse would give 1 - 4/5 *
    # 2/3 = 0.467 at 300 days.
    assert summary.median_months is None


def test_cumulative_incidence_is_the_same_whichever_tied_event_comes_first():
    # A relapse and a death on the same day with 4 at risk: 1/4 either way.
    summary = cumulative_incidence([365, 365, 1000, 1100], [1, 2, 0, 0], horizons_months=(12, 24))
    assert [rate.estimate for rate in summary.rates] == pytest.approx([0.25, 0.25])


def test_cumulative_incidence_outcome_codes():
    with pytest.raises(ValueError):
        cumulative_incidence([1, 2], [1, 3])
    assert cumulative_incidence([], []).subjects == 0
