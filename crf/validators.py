from django.core.exceptions import ValidationError
from django.utils import timezone


def not_in_future(value) -> None:
    """Clinical dates are recorded after the fact: today at the latest (site's local date)."""
    today = timezone.localdate()
    if value > today:
        raise ValidationError(
            "%(value)s is in the future; enter a date on or before today (%(today)s).",
            params={"value": value.isoformat(), "today": today.isoformat()},
            code="future_date",
        )
