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


# The one rounding rule of every report (Table 1, Table 2, MRD, the primary endpoint, survival
# rates): stated under each report page and in its JSON definitions.
ROUNDING_RULE = (
    "Percentages are of the denominator stated (of the row or column), each rounded on its own "
    "to a whole number, halves up (12.5% -> 13%, 8 of 28 = 28.57% -> 29%; the primary "
    "endpoint to one decimal, 84.0%). Rows rounded separately need not add up to 100%. The "
    "publication rounded the same way in most places; where it printed a value cut off instead "
    "(8 of 28 as 28%), this report differs from it by one."
)


def round_half_up(value: Decimal | int | float, decimals: int = 0) -> Decimal:
    """ROUNDING_RULE: `value` to `decimals` places, halves up (away from zero); a float is
    taken by its shortest text (62.5 -> 63, 0.845 at 2 places -> 0.85), not its binary value."""
    return _decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def percent_of(count: int, total: int) -> int | None:
    """`count` as a whole percentage of `total` (ROUNDING_RULE: halves up, as the paper prints
    it: 19 of 28 -> 68, 1 of 8 -> 13); None when `total` is 0."""
    if total == 0:
        return None
    return int(round_half_up(Decimal(count) * 100 / Decimal(total)))


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
    """0.84 -> "84%" (decimals=1: "84.0%"), halves up (ROUNDING_RULE: 0.625 -> "63%");
    None -> "–" (no estimate)."""
    if fraction is None:
        return "–"
    return f"{round_half_up(_decimal(fraction) * 100, decimals)}%"


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
    """Patients still followed at `day`: neither the event nor censoring before it."""
    return sum(1 for duration in durations if duration >= day)


AT_RISK_EVERY_MONTHS = 6  # the numbers at risk under each curve: at 0, 6, 12, 18, 24 ... months


def at_risk_marks(last_month: float, horizons_months: Sequence[float] = ()) -> list[float]:
    """The months at which the numbers at risk are given: every AT_RISK_EVERY_MONTHS from 0 to
    the longest follow-up or the furthest horizon (the plot's time axis), whichever is later."""
    end = max(last_month, *horizons_months) if horizons_months else last_month
    step = AT_RISK_EVERY_MONTHS
    return [float(step * index) for index in range(int(end // step) + 1)]


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
    marks = at_risk_marks(days_to_months(longest), horizons_months)
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


# --- Follow-up: reverse Kaplan-Meier ---------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """How long the patients were followed, by the reverse Kaplan-Meier method: the survival
    data with censoring as the event and the event (death) as censoring, so that a patient who
    died counts as followed for as long as they could have been. `minimum_months` and
    `maximum_months` are the shortest and longest follow-up of the patients censored (alive at
    their last contact); None without such a patient."""

    patients: int
    censored: int
    median_months: float | None  # None: not estimable (nobody censored, or not reached)
    lower_months: float | None  # 95% interval of the median (lifelines), None if unbounded
    upper_months: float | None
    minimum_months: float | None
    maximum_months: float | None

    @property
    def text(self) -> str:
        """ "median 36.1 months (95% CI 30.0–40.2; reverse Kaplan-Meier), minimum 24.0 months
        (patients alive at their last contact)"."""
        if self.median_months is None:
            if not self.patients:
                return "–"
            return "median not estimable (no patient alive at the last contact)"
        interval = ""
        if self.lower_months is not None:
            upper = "not reached" if self.upper_months is None else f"{self.upper_months:.1f}"
            interval = f" (95% CI {self.lower_months:.1f}–{upper})"
        text = f"median {self.median_months:.1f} months{interval}, reverse Kaplan-Meier"
        if self.minimum_months is not None:
            text += (
                f"; minimum {self.minimum_months:.1f}, maximum {self.maximum_months:.1f} months "
                f"({self.censored} patient{'s' if self.censored != 1 else ''} alive at the "
                "last contact)"
            )
        return text


def follow_up(durations_days: Sequence[float], events: Sequence[bool]) -> FollowUp:
    """Median follow-up by reverse Kaplan-Meier (censoring as the event) of survival data
    (days from time 0, whether each ended in the event), with its 95% interval (lifelines),
    and the minimum and maximum follow-up of the patients censored."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    outcomes = [1 if event else 0 for event in events]
    _validate(durations_days, outcomes)
    durations = list(map(float, durations_days))
    censored = [days_to_months(d) for d, o in zip(durations, outcomes, strict=True) if not o]
    if not censored:
        return FollowUp(len(durations), 0, None, None, None, None, None)
    fitter = KaplanMeierFitter(alpha=1 - CONFIDENCE_LEVEL).fit(
        durations, event_observed=[1 - outcome for outcome in outcomes]
    )
    median = _finite(fitter.median_survival_time_)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        bounds = median_survival_times(fitter.confidence_interval_).to_numpy()[0]
    lower, upper = (_finite(bound) for bound in bounds)
    return FollowUp(
        patients=len(durations),
        censored=len(censored),
        median_months=None if median is None else days_to_months(median),
        lower_months=None if lower is None else days_to_months(lower),
        upper_months=None if upper is None else days_to_months(upper),
        minimum_months=min(censored),
        maximum_months=max(censored),
    )
