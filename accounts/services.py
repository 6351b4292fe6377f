"""Recording account events; passwords entered again by a signed-in user."""

from axes.handlers.proxy import AxesProxyHandler

from .models import AccountEvent


def _client(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    ip = request.META.get("REMOTE_ADDR") or None
    agent = (request.META.get("HTTP_USER_AGENT") or "")[:300]
    return ip, agent


def account_event_record(
    *, kind: str, request=None, user=None, username: str = "", detail: str = ""
) -> AccountEvent:
    """Append one account event (login, failure, lockout, logout, password change, second factor,
    API token)."""
    ip, agent = _client(request)
    if user is not None and not username:
        username = user.get_username()
    return AccountEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or "")[:150],
        ip_address=ip,
        user_agent=agent,
        detail=detail[:200],
    )


class AccountLockedOut(Exception):
    """Too many wrong passwords or codes for this account: refused until the lockout ends."""

    message = (
        "This account is locked after repeated wrong passwords or second-factor codes (at login, "
        "signature or password change): try again in 30 minutes, or ask an administrator to "
        "unlock it."
    )

    def __init__(self):
        super().__init__(self.message)


def password_reverify(*, request, user, password: str) -> bool:
    """Check a password the signed-in user enters again (an electronic signature, a password
    change). A wrong one counts toward the login lockout like a failed login (django-axes: the
    account's username, the same limit and window); a locked-out account is refused even with
    the right password (AccountLockedOut). Without a request (a service called from code) only
    the password is checked."""
    if request is None:
        return bool(password) and user.check_password(password)
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        raise AccountLockedOut()
    if password and user.check_password(password):
        return True
    AxesProxyHandler.user_login_failed(sender=password_reverify, credentials=credentials,
                                       request=request)  # fmt: skip
    if AxesProxyHandler.is_locked(request, credentials):
        raise AccountLockedOut()
    return False
