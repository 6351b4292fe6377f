from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.clock import local_time_text


def not_in_future(value) -> None:
    """Clinical dates are recorded after the fact: today at the latest (site's local date)."""
    today = timezone.localdate()
    if value > today:
        raise ValidationError(
            "%(value)s is in the future; enter a date on or before today (%(today)s).",
            params={"value": value.isoformat(), "today": today.isoformat()},
            code="future_date",
        )


def not_in_future_datetime(value) -> None:
    """A moment that has already happened (a few minutes' clock drift allowed)."""
    from datetime import timedelta

    if value > timezone.now() + timedelta(minutes=5):
        raise ValidationError(
            "%(value)s is in the future; enter a time that has already happened.",
            params={"value": local_time_text(value)},
            code="future_datetime",
        )
