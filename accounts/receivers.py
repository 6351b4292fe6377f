"""Django's and django-axes' authentication signals, recorded as account events.

These are the only hooks authentication offers; the receivers only record, they decide nothing.
"""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import AccountEvent
from .services import account_event_record


@receiver(user_logged_in, dispatch_uid="accounts.login")
def _logged_in(sender, request, user, **kwargs):
    account_event_record(kind=AccountEvent.Kind.LOGIN, request=request, user=user)


@receiver(user_logged_out, dispatch_uid="accounts.logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        account_event_record(kind=AccountEvent.Kind.LOGOUT, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="accounts.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")
    account_event_record(
        kind=AccountEvent.Kind.LOGIN_FAILED,
        request=request,
        user=get_user_model().objects.filter(username=username).first(),
        username=username,
    )


@receiver(user_locked_out, dispatch_uid="accounts.locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    account_event_record(
        kind=AccountEvent.Kind.LOCKED_OUT,
        request=request,
        user=get_user_model().objects.filter(username=username).first(),
        username=username or "",
    )
