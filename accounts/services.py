"""Recording account events."""

from .models import AccountEvent


def _client(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    ip = request.META.get("REMOTE_ADDR") or None
    agent = (request.META.get("HTTP_USER_AGENT") or "")[:300]
    return ip, agent


def account_event_record(*, kind: str, request=None, user=None, username: str = "") -> AccountEvent:
    """Append one account event (login, failure, lockout, logout, password change)."""
    ip, agent = _client(request)
    if user is not None and not username:
        username = user.get_username()
    return AccountEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or "")[:150],
        ip_address=ip,
        user_agent=agent,
    )
