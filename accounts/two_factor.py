"""The second factor at sign-in and signature: a TOTP authenticator app (django-otp), enrolled by
QR code, with single-use recovery codes. Wrong codes count toward the account's lockout as wrong
passwords do; every step is an account event.

Who must have a second factor is a study rule (roles): the crf app registers it here
(`requirement_register`), so that accounts depends on no app above it."""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import AccountEvent
from .services import AccountLockedOut, account_event_record

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def _nobody(user) -> bool:
    return False


_requirement: Callable[[object], bool] = _nobody  # until crf registers its rule


def requirement_register(rule: Callable[[object], bool]) -> None:
    """Set the rule deciding whether a user must sign in with a second factor."""
    global _requirement
    _requirement = rule


def second_factor_required(user) -> bool:
    """Whether `user` must sign in (and sign) with a second factor (TWO_FACTOR_REQUIRED_ROLES)."""
    return bool(user.is_authenticated) and _requirement(user)


def second_factor_asked(user) -> bool:
    """Whether an electronic signature by `user` needs a code besides the password: they have an
    authenticator, or their role requires one."""
    return totp_device_of(user) is not None or second_factor_required(user)


def totp_device_of(user) -> TOTPDevice | None:
    """The user's confirmed authenticator app, or None."""
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def enrolment_start(user) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator device: the same one until it is confirmed,
    so that reloading the page shows the QR code already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an inline SVG QR code (no style, no script)."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title="QR code for your authenticator app"
    )


def _digits(code: str) -> str:
    return "".join(code.split())


def _locked(request, user) -> bool:
    """Locked by django-axes (wrong passwords and codes), or by wrong codes since the last right
    one: a right password resets axes' count, so without this an attacker knowing the password
    could try codes forever, a few per login."""
    if request is not None and AxesProxyHandler.is_locked(
        request, {"username": user.get_username()}
    ):
        return True
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    last_success = (
        AccountEvent.objects.filter(
            user=user,
            kind__in=[
                AccountEvent.Kind.TWO_FACTOR_VERIFIED,
                AccountEvent.Kind.RECOVERY_CODE_USED,
                AccountEvent.Kind.TWO_FACTOR_ENROLLED,
            ],
            occurred_at__gt=since,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    failures = AccountEvent.objects.filter(
        user=user, kind=AccountEvent.Kind.TWO_FACTOR_FAILED, occurred_at__gt=last_success or since
    )
    return failures.count() >= settings.AXES_FAILURE_LIMIT


def _failed(request, user, detail: str) -> None:
    account_event_record(
        kind=AccountEvent.Kind.TWO_FACTOR_FAILED, request=request, user=user, detail=detail
    )
    if request is not None:
        AxesProxyHandler.user_login_failed(
            sender=second_factor_verify,
            credentials={"username": user.get_username()},
            request=request,
        )


def _mark_session_verified(request, device) -> None:
    if request is not None and hasattr(request, "session"):
        # A session that gains the second factor gets a new key (as a login does).
        request.session.cycle_key()
        django_otp.login(request, device)


def enrolment_confirm(*, request, user, device: TOTPDevice, code: str) -> bool:
    """Confirm a pending authenticator with a code it shows; the session counts as verified.
    A wrong code confirms nothing, is recorded and counts toward the lockout."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationError("This is not your pending authenticator.")
    if _locked(request, user):
        raise AccountLockedOut()
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        verified = device.verify_token(_digits(code))
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            account_event_record(
                kind=AccountEvent.Kind.TWO_FACTOR_ENROLLED, request=request, user=user
            )
    if not verified:
        _failed(request, user, "enrolment")
        if _locked(request, user):
            raise AccountLockedOut()
        return False
    _mark_session_verified(request, device)
    return True


def recovery_codes_create(*, request, user) -> list[str]:
    """Ten new single-use recovery codes, replacing any earlier ones (shown to the user once)."""
    if totp_device_of(user) is None:
        raise ValidationError("Set up an authenticator app before creating recovery codes.")
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
        account_event_record(
            kind=AccountEvent.Kind.RECOVERY_CODES_CREATED, request=request, user=user
        )
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_verify(*, request, user, code: str, purpose: str = "sign-in") -> bool:
    """Check a code from the user's authenticator app, or one of their recovery codes (which
    works once). A wrong code is recorded and counts toward the login lockout (django-axes, the
    account's username); a locked-out account is refused even with the right code
    (AccountLockedOut). `purpose` is kept in the account event."""
    if _locked(request, user):
        raise AccountLockedOut()
    code = _digits(code or "")
    totp = totp_device_of(user)
    matched = None
    if code and totp is not None:
        if code.isdigit():
            matched = django_otp.verify_token(user, totp.persistent_id, code)
        else:
            recovery = StaticDevice.objects.filter(user=user, confirmed=True).first()
            if recovery is not None:
                matched = django_otp.verify_token(
                    user, recovery.persistent_id, code.lower().replace("-", "")
                )
    if matched is None:
        _failed(request, user, purpose)
        if _locked(request, user):
            raise AccountLockedOut()
        return False
    kind = (
        AccountEvent.Kind.RECOVERY_CODE_USED
        if isinstance(matched, StaticDevice)
        else AccountEvent.Kind.TWO_FACTOR_VERIFIED
    )
    account_event_record(kind=kind, request=request, user=user, detail=purpose)
    if purpose == "sign-in":
        _mark_session_verified(request, matched)
    return True


def second_factor_remove(*, request, user, code: str) -> None:
    """Remove the user's authenticator and recovery codes, with a current code; refused where
    the study requires a second factor of the user."""
    if second_factor_required(user):
        raise ValidationError(
            "Your role requires two-step sign-in: the second factor cannot be removed."
        )
    if not second_factor_verify(request=request, user=user, code=code, purpose="removal"):
        raise ValidationError(
            {"code": "The code is not correct: nothing was removed (wrong codes count toward "
             "the account's lockout, as wrong passwords do)."}
        )  # fmt: skip
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        account_event_record(kind=AccountEvent.Kind.TWO_FACTOR_REMOVED, request=request, user=user)
