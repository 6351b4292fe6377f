"""How records and values read for people: numbers as they are written (no trailing zeros, no
exponent), moments on the site's clock. Models name themselves with these in `__str__`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from .clock import local_time_text


def plain_number(value) -> str:
    """0.002500000000000 -> "0.0025", 250.0000 -> "250", 1E-7 -> "0.0000001"."""
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        return str(number)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def day_text(value: date | datetime | None) -> str:
    """A date as YYYY-MM-DD (a moment: its day on the site's clock)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time_text(value)[:10]
    return f"{value:%Y-%m-%d}"


def moment_text(value: datetime | None) -> str:
    """A moment on the site's clock with its zone: "2026-11-25 08:00 CET"."""
    return local_time_text(value) if value is not None else ""
