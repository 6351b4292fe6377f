"""The statistics of the trial's reports: N (%), median (range), exact binomial proportions and
tests, Kaplan-Meier and cumulative incidence summaries.

Pure (no Django): numbers in, plain dataclasses out. The estimators are the libraries' own:
scipy for the exact binomial, lifelines for Kaplan-Meier and Aalen-Johansen; this module only
chooses their options, reads their results and states what they mean. scipy and lifelines are
imported inside the functions: they are slow to import and the rest of protocol/ never needs them.
"""

from __future__ import annotations

import math
import statistics as pystats
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CONFIDENCE_LEVEL = 0.95  # paper: 95% CI throughout
DAYS_PER_MONTH = 365.25 / 12  # survival is reported in months (paper: "2-year", "47 months")
# AalenJohansenFitter jitters tied event times of different kinds; a fixed seed keeps a report
# reproducible (the jitter is 1E-4 day, far below the day resolution of the data).
_AJ_SEED = 20190501


# --- N (%) and median (range): Table 1 -------------------------------------------------------


def _decimal(value: Decimal | int | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _plain(value: Decimal) -> str:
    """A Decimal without trailing zeros or exponent: 81.0 -> "81", 5.90 -> "5.9"."""
    text = f"{value.normalize():f}"
    return "0" if text in {"-0", ""} else text


def percent_of(count: int, total: int) -> int | None:
    """`count` as a whole percentage of `total`, halves rounded up, as the paper prints it
    (19 of 28 -> 68, 1 of 8 -> 13); None when `total` is 0."""
    if total == 0:
        return None
    exact = Decimal(count) * 100 / Decimal(total)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class CountPercent:
    """N (%) of a total, shown as the paper does: "19 (68)", and a plain "0" for none."""

    count: int
    total: int

    @property
    def percent(self) -> int | None:
        return percent_of(self.count, self.total)

    def __str__(self) -> str:
        if self.count == 0 or self.percent is None:
            return str(self.count)
        return f"{self.count} ({self.percent})"


@dataclass(frozen=True)
class MedianRange:
    """Median (range) of the recorded values; `n` values, none when nothing is recorded."""

    n: int
    median: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None

    def __str__(self) -> str:
        if self.median is None:
            return "not recorded"
        return f"{_plain(self.median)} ({_plain(self.minimum)}–{_plain(self.maximum)})"


def median_range(values: Iterable[Decimal | int | float | None]) -> MedianRange:
    """Median (range) of the values that are not None; an even count takes the mean of the two
    middle values (1, 2, 3, 4 -> 2.5). Exact: Decimals in, Decimals out."""
    numbers = sorted(_decimal(v) for v in values if v is not None)
    if not numbers:
        return MedianRange(n=0, median=None, minimum=None, maximum=None)
    return MedianRange(
        n=len(numbers), median=pystats.median(numbers), minimum=numbers[0], maximum=numbers[-1]
    )


# --- Exact binomial: the primary endpoint ----------------------------------------------------


def format_percent(fraction: float | None, decimals: int = 0) -> str:
    """0.84 -> "84%" (decimals=1: "84.0%"); None -> "–" (no estimate)."""
    return "–" if fraction is None else f"{100 * fraction:.{decimals}f}%"


def format_p_value(p_value: float | None) -> str:
    """Four decimals, "< 0.0001" below that; "–" when there is no test."""
    if p_value is None:
        return "–"
    return "< 0.0001" if p_value < 0.0001 else f"{p_value:.4f}"


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError(f"{successes} of {trials}: need 0 <= successes <= trials.")


@dataclass(frozen=True)
class ExactProportion:
    """successes / trials with its exact (Clopper-Pearson) two-sided interval; no estimate and
    no interval when there are no trials."""

    successes: int
    trials: int
    confidence_level: float
    estimate: float | None
    lower: float | None
    upper: float | None

    @property
    def text(self) -> str:
        """ "21/25 = 84.0% (95% CI 63.9%–95.5%)", or "0/0: no estimate"."""
        if self.estimate is None:
            return f"{self.successes}/{self.trials}: no estimate"
        return (
            f"{self.successes}/{self.trials} = {format_percent(self.estimate, 1)} "
            f"(95% CI {format_percent(self.lower, 1)}–{format_percent(self.upper, 1)})"
        )


def exact_proportion(
    successes: int, trials: int, confidence_level: float = CONFIDENCE_LEVEL
) -> ExactProportion:
    """The proportion with its exact Clopper-Pearson interval (scipy's binomtest, two-sided)."""
    from scipy.stats import binomtest

    _check_counts(successes, trials)
    if trials == 0:
        return ExactProportion(successes, trials, confidence_level, None, None, None)
    interval = binomtest(successes, trials).proportion_ci(
        confidence_level=confidence_level, method="exact"
    )
    return ExactProportion(
        successes=successes,
        trials=trials,
        confidence_level=confidence_level,
        estimate=successes / trials,
        lower=float(interval.low),
        upper=float(interval.high),
    )


@dataclass(frozen=True)
class BinomialTest:
    """One-sided exact binomial test of H0: rate <= null_rate against H1: rate > null_rate.
    p_value is P(X >= successes) under the null rate; None when there are no trials."""

    successes: int
    trials: int
    null_rate: float
    p_value: float | None
    alternative: str = "greater"

    @property
    def p_text(self) -> str:
        return format_p_value(self.p_value)


def one_sided_binomial_test(successes: int, trials: int, null_rate: float) -> BinomialTest:
    """Exact one-sided binomial test against `null_rate` (scipy's binomtest, "greater")."""
    from scipy.stats import binomtest

    _check_counts(successes, trials)
    if not 0 < null_rate < 1:
        raise ValueError(f"The null rate {null_rate} must be between 0 and 1.")
    if trials == 0:
        return BinomialTest(successes, trials, null_rate, None)
    result = binomtest(successes, trials, p=null_rate, alternative="greater")
    return BinomialTest(successes, trials, null_rate, float(result.pvalue))


# --- Time to event: Kaplan-Meier and cumulative incidence ------------------------------------


def days_to_months(days: float) -> float:
    return days / DAYS_PER_MONTH


@dataclass(frozen=True)
class CurveStep:
    """The estimate from `months` on (a step function), with its pointwise 95% interval."""

    months: float
    estimate: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class RateAt:
    """The estimate at `months`, with its 95% interval. Not estimable (estimate None) when no
    patient was followed that long and the curve had not reached its end value."""

    months: float
    estimate: float | None
    lower: float | None
    upper: float | None
    at_risk: int

    @property
    def text(self) -> str:
        """ "75% (95% CI 59%–91%)", as the paper gives a 2-year rate; "not estimable yet"."""
        if self.estimate is None:
            return "not estimable yet (no patient followed this long)"
        if self.lower is None:
            return format_percent(self.estimate)
        return (
            f"{format_percent(self.estimate)} "
            f"(95% CI {format_percent(self.lower)}–{format_percent(self.upper)})"
        )


@dataclass(frozen=True)
class TimeToEventSummary:
    """A Kaplan-Meier survival curve (`kind` "survival") or an Aalen-Johansen cumulative
    incidence curve ("cumulative_incidence"), as plain numbers; times in months."""

    kind: str
    subjects: int
    events: int
    competing_events: int
    steps: tuple[CurveStep, ...]
    censored_months: tuple[float, ...]
    median_months: float | None  # survival curves only; None when not reached
    rates: tuple[RateAt, ...]
    at_risk: tuple[tuple[float, int], ...]  # (months, number at risk) for the plot's table
    interval_method: str

    def rate_at(self, months: float) -> RateAt | None:
        return next((rate for rate in self.rates if rate.months == months), None)

    @property
    def median_text(self) -> str:
        if self.median_months is None:
            return "not reached" if self.subjects else "–"
        return f"{self.median_months:.1f} months"


KM_INTERVAL = "exponential Greenwood (log(-log)), lifelines' KaplanMeierFitter"
AJ_INTERVAL = "delta method on log(-log), lifelines' AalenJohansenFitter"


def _finite(value) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _step_row(frame, day: float):
    """The row of a step-function DataFrame (indexed by time) in force at `day`."""
    rows = frame.loc[frame.index <= day]
    return rows.iloc[-1] if len(rows) else frame.iloc[0]


def _interval(row) -> tuple[float | None, float | None]:
    # lifelines names the two columns lower/upper; AalenJohansenFitter swaps the names, so the
    # bounds are taken as the smaller and the larger value.
    bounds = [_finite(value) for value in row.to_numpy()]
    if any(bound is None for bound in bounds):
        return None, None
    return min(bounds), max(bounds)


def _at_risk(durations: Sequence[float], day: float) -> int:
    return sum(1 for duration in durations if duration >= day)


def _validate(durations: Sequence[float], outcomes: Sequence[int]) -> None:
    if len(durations) != len(outcomes):
        raise ValueError("durations and outcomes differ in length.")
    if any(duration < 0 for duration in durations):
        raise ValueError("A duration is negative: an event or censoring before time 0.")


def _empty(kind: str, horizons_months: Sequence[float], method: str) -> TimeToEventSummary:
    return TimeToEventSummary(
        kind=kind,
        subjects=0,
        events=0,
        competing_events=0,
        steps=(),
        censored_months=(),
        median_months=None,
        rates=tuple(RateAt(m, None, None, None, 0) for m in horizons_months),
        at_risk=(),
        interval_method=method,
    )


def _summary(
    *,
    kind: str,
    durations: Sequence[float],
    outcomes: Sequence[int],
    estimate,
    interval,
    horizons_months: Sequence[float],
    median_months: float | None,
    method: str,
) -> TimeToEventSummary:
    steps = []
    for day, value in estimate.iloc[:, 0].items():
        lower, upper = _interval(_step_row(interval, day))
        steps.append(CurveStep(days_to_months(float(day)), float(value), lower, upper))
    longest = max(durations)
    # After the longest follow-up the curve is known only if it ended in an event (nobody left
    # at risk), not if the last patient was censored.
    ended = all(o != 0 for d, o in zip(durations, outcomes, strict=True) if d == longest)
    rates = []
    for months in horizons_months:
        day = months * DAYS_PER_MONTH
        value = float(_step_row(estimate, day).iloc[0])
        if longest < day and not ended:
            rates.append(RateAt(months, None, None, None, 0))
            continue
        lower, upper = _interval(_step_row(interval, day))
        rates.append(RateAt(months, value, lower, upper, _at_risk(durations, day)))
    last_month = days_to_months(longest)
    marks = [12.0 * year for year in range(int(last_month // 12) + 1)]
    return TimeToEventSummary(
        kind=kind,
        subjects=len(durations),
        events=sum(1 for outcome in outcomes if outcome == 1),
        competing_events=sum(1 for outcome in outcomes if outcome not in (0, 1)),
        steps=tuple(steps),
        censored_months=tuple(
            sorted(days_to_months(d) for d, o in zip(durations, outcomes, strict=True) if o == 0)
        ),
        median_months=median_months,
        rates=tuple(rates),
        at_risk=tuple((m, _at_risk(durations, m * DAYS_PER_MONTH)) for m in marks),
        interval_method=method,
    )


def kaplan_meier(
    durations_days: Sequence[float],
    events: Sequence[bool],
    *,
    horizons_months: Sequence[float] = (12, 24),
) -> TimeToEventSummary:
    """Kaplan-Meier (product-limit) estimate of the probability of staying free of the event,
    from durations in days since time 0 and whether each ended in the event (else censored).
    Rates at `horizons_months` with the exponential Greenwood 95% interval; the median in
    months, None when the curve does not reach 0.5."""
    from lifelines import KaplanMeierFitter

    outcomes = [1 if event else 0 for event in events]
    _validate(durations_days, outcomes)
    if not durations_days:
        return _empty("survival", horizons_months, KM_INTERVAL)
    fitter = KaplanMeierFitter(alpha=1 - CONFIDENCE_LEVEL).fit(
        list(map(float, durations_days)), event_observed=outcomes
    )
    median = float(fitter.median_survival_time_)
    return _summary(
        kind="survival",
        durations=list(map(float, durations_days)),
        outcomes=outcomes,
        estimate=fitter.survival_function_,
        interval=fitter.confidence_interval_,
        horizons_months=horizons_months,
        median_months=days_to_months(median) if math.isfinite(median) else None,
        method=KM_INTERVAL,
    )


def cumulative_incidence(
    durations_days: Sequence[float],
    outcomes: Sequence[int],
    *,
    horizons_months: Sequence[float] = (12, 24),
) -> TimeToEventSummary:
    """Aalen-Johansen cumulative incidence of the event of interest (outcome 1) with competing
    events (outcome 2) and censoring (outcome 0), from durations in days since time 0. Rates at
    `horizons_months` with lifelines' 95% interval."""
    from lifelines import AalenJohansenFitter

    _validate(durations_days, outcomes)
    if any(outcome not in (0, 1, 2) for outcome in outcomes):
        raise ValueError("Outcomes are 0 (censored), 1 (event) or 2 (competing event).")
    if not durations_days:
        return _empty("cumulative_incidence", horizons_months, AJ_INTERVAL)
    durations = list(map(float, durations_days))
    fitter = AalenJohansenFitter(alpha=1 - CONFIDENCE_LEVEL, seed=_AJ_SEED)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tied event times")
        # lifelines divides by zero on the first row (incidence 0): that row has no interval
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        fitter.fit(durations, event_observed=list(outcomes), event_of_interest=1)
    estimate = fitter.cumulative_density_
    interval = fitter.confidence_interval_
    if interval is None:
        interval = estimate.assign(lower=float("nan"))
    return _summary(
        kind="cumulative_incidence",
        durations=durations,
        outcomes=list(outcomes),
        estimate=estimate,
        interval=interval,
        horizons_months=horizons_months,
        median_months=None,
        method=AJ_INTERVAL,
    )
