"""The study-day axis: day geometry, the scale, the labelled ticks and day labels.

Day geometry: a study day is a cell on the axis. A point on day d is drawn at the centre of its
cell (axis position d) and a span covers its days inclusively, from the start of its first day
(position first - 0.5) to the end of its last (last + 0.5). Positions outside the axis are
clamped to its edges; the callers' tooltips keep the real days.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .colours import AXIS_COLOUR, TEXT_COLOUR
from .svg import number, tag
from .text import SMALL_FONT_SIZE, text_width

TICK_FONT_SIZE = SMALL_FONT_SIZE
TICK_LENGTH = 5
TICK_LABEL_DROP = 16  # baseline of a tick label below the axis line
PIXELS_PER_TICK = 56  # at most one regular tick per this many pixels of axis
TICK_LABEL_GAP = 8  # least room between two tick labels
LANDMARK_PIXELS_PER_DAY = 2  # landmark ticks only where days are at least this wide
NICE_STEPS: tuple[int, ...] = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)
END_ROOM = 0.04  # room after the last day, as a share of the days shown (at least 2 days)


@dataclass(frozen=True)
class DayScale:
    """Axis positions (study days) to pixels, from `lo` at pixel x0 to `hi` at pixel x1."""

    x0: float  # pixel of the left edge
    x1: float  # pixel of the right edge
    lo: float  # axis position of the left edge: day d is centred at position d
    hi: float  # axis position of the right edge
    first_day: int = 1  # the first day with a tick

    @classmethod
    def fitted(cls, first: float, last: float, x0: float, x1: float, *, room_before: bool):
        """A scale showing days `first`..`last` with a little room after the last day, and
        before the first one if `room_before` (so that a marker does not sit on a y axis)."""
        margin = max(2.0, (last - first) * END_ROOM)
        lo = first - 0.5 - margin / 3 if room_before else first - 0.5
        return cls(x0=x0, x1=x1, lo=lo, hi=last + 0.5 + margin, first_day=math.ceil(first))

    def x(self, position: float) -> float:
        position = min(max(position, self.lo), self.hi)
        return self.x0 + (position - self.lo) * (self.x1 - self.x0) / (self.hi - self.lo)

    @property
    def px_per_day(self) -> float:
        return (self.x1 - self.x0) / (self.hi - self.lo)

    @property
    def last_day(self) -> int:
        """The last day whose centre is on the axis."""
        return math.floor(self.hi - 0.5)

    def point(self, day: float) -> float:
        """Pixel of the centre of `day`."""
        return self.x(day)

    def span(self, first: float, last: float) -> tuple[float, float]:
        """Left and right pixel of days `first`..`last` inclusive; at least 2 pixels wide."""
        first, last = min(first, last), max(first, last)
        left = self.x(first - 0.5)
        right = max(self.x(last + 0.5), left + 2)
        return left, right


def tick_step(days: float, max_ticks: int) -> int:
    """The smallest nice step giving at most `max_ticks` steps over `days` days."""
    step = next((s for s in NICE_STEPS if days / s <= max_ticks), NICE_STEPS[-1])
    while days / step > max_ticks:
        step *= 2
    return step


def day_ticks(scale: DayScale, landmarks: Iterable[int] = ()) -> list[int]:
    """Labelled ticks, in order: the first day if it is before day 1, the landmark days when
    days are wide enough to tell them apart (else day 1), then multiples of a regular step;
    a candidate whose label would touch an already chosen one is left out."""
    first_day, last_day = scale.first_day, scale.last_day
    max_ticks = max(2, int((scale.x1 - scale.x0) // PIXELS_PER_TICK))
    step = tick_step(max(1, last_day - first_day), max_ticks)
    candidates: list[int] = []
    if first_day < 1:
        candidates.append(first_day)
    if scale.px_per_day >= LANDMARK_PIXELS_PER_DAY:
        candidates.extend(d for d in landmarks if first_day <= d <= last_day)
    elif first_day <= 1 <= last_day:
        candidates.append(1)
    candidates.extend(range(step, last_day + 1, step))
    chosen: list[int] = []
    for day in candidates:
        if day in chosen:
            continue
        x = scale.point(day)
        half = text_width(tick_label(day), TICK_FONT_SIZE) / 2
        if all(
            abs(x - scale.point(other))
            >= half + text_width(tick_label(other), TICK_FONT_SIZE) / 2 + TICK_LABEL_GAP
            for other in chosen
        ):
            chosen.append(day)
    return sorted(chosen)


def tick_label(day: int) -> str:
    return str(day)


def tick_mark(x: float, y: float, day: int) -> str:
    """A tick of day `day` at pixel x under an axis line at y: the mark and its label."""
    return tag(
        "g",
        {"class": "tick", "data-day": day},
        tag(
            "line",
            {
                "x1": x,
                "y1": y,
                "x2": x,
                "y2": y + TICK_LENGTH,
                "stroke": AXIS_COLOUR,
                "stroke-width": 1,
            },
        )
        + tag(
            "text",
            {
                "x": x,
                "y": y + TICK_LABEL_DROP,
                "text-anchor": "middle",
                "font-size": TICK_FONT_SIZE,
                "fill": TEXT_COLOUR,
            },
            tick_label(day),
        ),
    )


def axis_line(x0: float, x1: float, y: float) -> str:
    """The horizontal axis line from pixel x0 to x1 at y."""
    return tag(
        "line",
        {"x1": x0, "y1": y, "x2": x1, "y2": y, "stroke": AXIS_COLOUR, "stroke-width": 1},
    )


def day_label(day: float) -> str:
    """A study day for people: 12, 20.5, -3."""
    if float(day).is_integer():
        return str(int(day))
    return number(day)


def days_label(first: float, last: float | None) -> str:
    """Days first..last for people: 'day 3', 'days 12-40' (an en dash), 'from day 50
    (ongoing)'."""
    if last is None:
        return f"from day {day_label(first)} (ongoing)"
    if last == first:
        return f"day {day_label(first)}"
    return f"days {day_label(first)}\u2013{day_label(last)}"
