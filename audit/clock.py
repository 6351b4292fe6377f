"""How people read a time: the site's clock (settings.TIME_ZONE) with its zone, e.g.
"2026-03-14 10:00 CET" or "2026-07-01 09:30 CEST". Times are stored in UTC; pages, messages and
e-mails show them this way (templates: the `date` filter with "Y-m-d H:i T")."""

from datetime import datetime

from django.utils import timezone


def local_time_text(moment: datetime, *, seconds: bool = False) -> str:
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
