"""charts.axis: day geometry, tick choice at a few scales, tick marks and day labels."""

import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from charts.axis import (
    DayScale,
    axis_line,
    day_label,
    day_ticks,
    days_label,
    tick_label,
    tick_mark,
    tick_step,
)
from charts.text import text_width
from protocol.schedule import LANDMARK_DAYS

pytestmark = pytest.mark.verifies("UR-REC-05", "UR-MRD-03")


def near(value: float):
    return pytest.approx(value, abs=1e-9)


# --- geometry -----------------------------------------------------------------------------------

SCALE = DayScale(x0=100, x1=500, lo=0.5, hi=40.5)  # 10 pixels per day, day 1 from pixel 100


@pytest.mark.parametrize(
    ("day", "x"),
    [
        (1, 105),  # the centre of day 1's cell
        (1.5, 110),
        (40, 495),
        (-3, 100),  # before the axis: clamped to the left edge
        (90, 500),  # after it: clamped to the right edge
    ],
)
def test_point_is_the_centre_of_the_day(day, x):
    assert SCALE.point(day) == near(x)


@pytest.mark.parametrize(
    ("first", "last", "pixels"),
    [
        (1, 1, (100, 110)),  # one day is one cell
        (12, 40, (210, 500)),  # inclusive of both ends
        (40, 12, (210, 500)),  # given the wrong way round
        (60, 61, (500, 502)),  # past the right edge: clamped, still 2 pixels wide
    ],
)
def test_span_covers_its_days_inclusively(first, last, pixels):
    assert SCALE.span(first, last) == (near(pixels[0]), near(pixels[1]))


def test_scale_properties():
    assert SCALE.px_per_day == near(10)
    assert SCALE.last_day == 40
    assert SCALE.first_day == 1


@pytest.mark.parametrize(
    ("first", "last", "room_before", "expected"),
    [
        # At least 2 days after the last day; the axis starts at day 1's left edge.
        (1.0, 20.0, False, DayScale(0, 100, lo=0.5, hi=22.5, first_day=1)),
        # 4% of the days shown when that is more than 2 days.
        (1.0, 101.0, False, DayScale(0, 100, lo=0.5, hi=105.5, first_day=1)),
        # Room before the first day: a third of the room after the last.
        (-5.0, 70.0, True, DayScale(0, 100, lo=-6.5, hi=73.5, first_day=-5)),
        (-2.5, 10.0, True, DayScale(0, 100, lo=-3 - 2 / 3, hi=12.5, first_day=-2)),
    ],
)
def test_fitted_scale(first, last, room_before, expected):
    scale = DayScale.fitted(first, last, 0, 100, room_before=room_before)
    assert scale.x0 == expected.x0 and scale.x1 == expected.x1
    assert scale.lo == near(expected.lo) and scale.hi == near(expected.hi)
    assert scale.first_day == expected.first_day


# --- ticks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "max_ticks", "step"),
    [
        (1, 2, 1),
        (5, 2, 5),
        (129, 21, 10),
        (60, 10, 10),
        (61, 10, 10),  # 6.1 steps of 10
        (729, 7, 200),  # 100 would give 7.29 steps
        (100_000, 2, 80_000),  # past the nice steps: 5000 doubled until few enough
    ],
)
def test_tick_step_is_the_smallest_nice_step_that_is_few_enough(days, max_ticks, step):
    assert tick_step(days, max_ticks) == step


@pytest.mark.parametrize(
    ("scale", "landmarks", "ticks"),
    [
        pytest.param(
            DayScale(0, 1200, 0.5, 130.5),
            LANDMARK_DAYS,
            [1, 7, 11, 20, 30, 40, 50, 60, 71, 80, 90, 100, 110, 120, 130],
            id="first-weeks-wide: landmarks, day 12 too close to 11, 10 and 70 to landmarks",
        ),
        pytest.param(
            DayScale(0, 2400, 0.5, 130.5),
            LANDMARK_DAYS,
            [1, 5, 7, 11, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 71, 75, 80, 85, 90, 95, 100]
            + [105, 110, 115, 120, 125, 130],
            id="first-weeks-wider: step 5",
        ),
        pytest.param(
            DayScale(0, 1000, 0.5, 50.5),
            LANDMARK_DAYS,
            [1, 5, 7, 10, 11, 12, 15, 20, 25, 30, 35, 40, 45, 50],
            id="induction-20px-a-day: 11 and 12 both fit, and 10 beside 11",
        ),
        pytest.param(
            DayScale(0, 1200, 0.5, 130.5),
            (),
            [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130],
            id="no-landmarks: the regular step only",
        ),
        pytest.param(
            DayScale(0, 400, 0.5, 730.5),
            LANDMARK_DAYS,
            [1, 200, 400, 600],
            id="two-years-narrow: days too thin for landmarks, day 1 and a step of 200",
        ),
        pytest.param(
            DayScale.fitted(-5, 60, 0, 600, room_before=True),
            LANDMARK_DAYS,
            [-5, 1, 7, 11, 20, 30, 40, 50, 60],
            id="before-day-1: the first day, then landmarks and steps",
        ),
        pytest.param(
            DayScale(0, 60, 0.5, 6.5),
            LANDMARK_DAYS,
            [1, 5],
            id="tiny: landmark 1, step 5",
        ),
    ],
)
def test_tick_choice(scale, landmarks, ticks):
    assert day_ticks(scale, landmarks) == ticks


@pytest.mark.parametrize("width", [320, 480, 720, 960, 1400, 3000])
@pytest.mark.parametrize("last", [3.0, 20.0, 130.0, 400.0, 2000.0])
def test_tick_labels_never_touch(width, last):
    scale = DayScale.fitted(1.0, last, 50, width - 20, room_before=False)
    ticks = day_ticks(scale, LANDMARK_DAYS)
    assert ticks == sorted(set(ticks)) and ticks
    for a, b in pairwise(ticks):
        room = (text_width(tick_label(a), 10) + text_width(tick_label(b), 10)) / 2 + 8
        assert scale.point(b) - scale.point(a) >= room


def test_tick_mark_is_a_line_and_its_label():
    g = ET.fromstring(tick_mark(104.567, 80, 71))  # noqa: S314 - our own output
    assert g.get("class") == "tick" and g.get("data-day") == "71"
    line, label = list(g)
    assert (line.get("x1"), line.get("x2"), line.get("y1"), line.get("y2")) == (
        "104.57",
        "104.57",
        "80",
        "85",
    )
    assert label.text == "71" and label.get("x") == "104.57" and label.get("y") == "96"


def test_axis_line():
    line = ET.fromstring(axis_line(10, 300.5, 42))  # noqa: S314 - our own output
    assert (line.get("x1"), line.get("x2"), line.get("y1"), line.get("y2")) == (
        "10",
        "300.5",
        "42",
        "42",
    )


# --- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "label"),
    [(12, "12"), (12.0, "12"), (20.5, "20.5"), (-3, "-3"), (-0.25, "-0.25"), (1.333, "1.33")],
)
def test_day_label(day, label):
    assert day_label(day) == label


@pytest.mark.parametrize(
    ("first", "last", "label"),
    [
        (3, 3, "day 3"),
        (12, 40, "days 12\u201340"),
        (-2, 7, "days -2\u20137"),
        (50, None, "from day 50 (ongoing)"),
        (20.5, 21, "days 20.5\u201321"),
    ],
)
def test_days_label(first, last, label):
    assert days_label(first, last) == label
