"""Instants and spans of time as the protocol counts them: in elapsed hours, whatever the clock
on the ward's wall does.

Python subtracts two times of the same zone by their wall-clock readings, so across the change
to or from summer time a 24-hour day would count 23 or 25 hours. Every span the protocol
measures (infusion days, interruptions, 24-hour clocks) goes through these two functions, which
count in UTC and give a time back in the zone it came in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def span(start: datetime, end: datetime) -> timedelta:
    """The time elapsed from `start` to `end` (negative when `end` is earlier)."""
    if start.tzinfo is None or end.tzinfo is None:
        return end - start  # times without a zone: nothing to convert
    return end.astimezone(UTC) - start.astimezone(UTC)


def after(moment: datetime, elapsed: timedelta) -> datetime:
    """The instant `elapsed` after `moment`, in `moment`'s own zone."""
    if moment.tzinfo is None:
        return moment + elapsed
    return (moment.astimezone(UTC) + elapsed).astimezone(moment.tzinfo)
