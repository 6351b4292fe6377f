"""Spans and instants across the clock changes of the sites' zone (Europe/Prague: summer time
from the last Sunday of March 02:00, back on the last Sunday of October 03:00)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from protocol.clock import after, span

pytestmark = pytest.mark.verifies("UR-REC-02")

PRAGUE = ZoneInfo("Europe/Prague")
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("start", "end", "elapsed"),
    [
        # the spring night is an hour short: 01:00 to 04:00 wall clock is two hours
        (datetime(2026, 3, 29, 1, 0), datetime(2026, 3, 29, 4, 0), 2 * H),
        # the autumn night is an hour long: 01:00 to 04:00 wall clock is four hours
        (datetime(2026, 10, 25, 1, 0), datetime(2026, 10, 25, 4, 0), 4 * H),
        # a calendar day over the spring change is 23 hours, over the autumn change 25
        (datetime(2026, 3, 28, 12, 0), datetime(2026, 3, 29, 12, 0), 23 * H),
        (datetime(2026, 10, 24, 12, 0), datetime(2026, 10, 25, 12, 0), 25 * H),
        (datetime(2026, 6, 1, 12, 0), datetime(2026, 6, 2, 12, 0), 24 * H),
    ],
)
def test_span_counts_elapsed_hours(start, end, elapsed):
    assert span(start.replace(tzinfo=PRAGUE), end.replace(tzinfo=PRAGUE)) == elapsed


@pytest.mark.parametrize(
    ("moment", "elapsed", "wall_clock"),
    [
        (datetime(2026, 3, 28, 12, 0), 24 * H, datetime(2026, 3, 29, 13, 0)),
        (datetime(2026, 10, 24, 12, 0), 24 * H, datetime(2026, 10, 25, 11, 0)),
        (datetime(2026, 10, 1, 9, 0), 28 * 24 * H, datetime(2026, 10, 29, 8, 0)),
    ],
)
def test_after_adds_elapsed_hours_and_answers_in_the_same_zone(moment, elapsed, wall_clock):
    later = after(moment.replace(tzinfo=PRAGUE), elapsed)
    assert later.tzinfo is PRAGUE
    assert later.replace(tzinfo=None) == wall_clock


def test_times_without_a_zone_are_plain_arithmetic():
    start = datetime(2026, 10, 25, 1, 0)
    assert span(start, start + 3 * H) == 3 * H
    assert after(start, H) == datetime(2026, 10, 25, 2, 0)
