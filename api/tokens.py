"""Personal API tokens: created by their user (shown once), checked on every API request,
revoked; every step an account event. A token acts as its user, narrowed to one site and to
reading where it says so."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AccountEvent
from accounts.services import account_event_record
from crf.access import memberships_limit_to_site, memberships_of
from crf.models import Site

from .models import ApiToken, IdempotentResponse

TOKEN_START = "bcl_"  # noqa: S105 - how a token starts, not a secret
MAX_NAME = 100
LIFETIMES_DAYS = (7, 30, 90, 180, 365)
# How long a write's answer is kept for a repeat with its Idempotency-Key (a key may be used
# again after that).
IDEMPOTENCY_KEEP = timedelta(days=7)


class TokenRefused(Exception):
    """The request's token is missing, unknown, expired or revoked (401)."""


class RateLimited(Exception):
    """Too many requests with this token in the current minute (429)."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            f"More than {settings.API_REQUESTS_PER_MINUTE} requests in a minute with this token: "
            f"wait {retry_after} s."
        )


def _digest(token: str) -> str:
    # A token has 256 random bits: a fast digest suffices (a password hash protects guessable
    # secrets; nothing about a random token is guessable).
    return hashlib.sha256(token.encode()).hexdigest()


def token_sites(user) -> list[Site]:
    """The sites a token of `user` may be narrowed to: those of their memberships (every site
    for a study-wide one)."""
    site_ids = {site_id for _, site_id in memberships_of(user)}
    sites = Site.objects.all() if None in site_ids else Site.objects.filter(pk__in=site_ids)
    return list(sites.order_by("number"))


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token, shown once


def token_create(
    *, user, name: str, scope: str, days: int, site: Site | None = None, request=None
) -> NewToken:
    """A new token for `user`; the secret is returned once and only its digest is kept."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "Name the token after what will use it (e.g. 'LIMS', 'weekly R pull')."
    elif len(name) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters."
    if scope not in ApiToken.Scope.values:
        errors["scope"] = "Choose read, or read and write."
    if days not in LIFETIMES_DAYS:
        errors["days"] = f"Choose one of {', '.join(map(str, LIFETIMES_DAYS))} days."
    if site is not None and site.pk not in {s.pk for s in token_sites(user)}:
        errors["site"] = "You have no role at this site."
    if errors:
        raise ValidationError(errors)
    if not memberships_of(user):
        raise PermissionDenied("Tokens are for accounts with a study role.")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            digest=_digest(secret),
            scope=scope,
            site=site,
            expires_at=timezone.now() + timedelta(days=days),
        )
        detail = f"{token.label}, {token.get_scope_display().lower()}"
        if site is not None:
            detail += f", site {site.number} only"
        account_event_record(
            kind=AccountEvent.Kind.TOKEN_CREATED, request=request, user=user, detail=detail
        )
    return NewToken(token, secret)


def token_revoke(*, token: ApiToken, user, request=None) -> ApiToken:
    """Revoke one of the user's own tokens: refused from the next request on."""
    if token.user_id != user.pk:
        raise PermissionDenied("You revoke only your own tokens.")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            raise ValidationError(f"The {token.label} was already revoked.")
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        account_event_record(
            kind=AccountEvent.Kind.TOKEN_REVOKED, request=request, user=user, detail=token.label
        )
    return token


def tokens_of(user):
    return ApiToken.objects.filter(user=user).select_related("site")


def token_status(token: ApiToken, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    return "active"


def _refuse(request, message: str, *, token: ApiToken | None = None, shown: str = ""):
    account_event_record(
        kind=AccountEvent.Kind.TOKEN_REFUSED,
        request=request,
        user=token.user if token is not None else None,
        username=token.user.get_username() if token is not None else "(unknown token)",
        detail=f"{token.label if token is not None else shown}: {message}",
    )
    raise TokenRefused(message)


def token_authenticate(request, secret: str) -> ApiToken:
    """The token of this request, refused (TokenRefused, with an account event) when unknown,
    expired, revoked or its account inactive; rate limited (RateLimited). Sets request.user to
    the token's user, narrowed to the token's site."""
    secret = (secret or "").strip()
    shown = f"token {secret[:12]}…" if secret else "no token"
    if not secret.startswith(TOKEN_START) or len(secret) > 200:
        _refuse(request, "This is not a BlinaCell API token.", shown=shown)
    token = ApiToken.objects.select_related("user", "site").filter(digest=_digest(secret)).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
        _refuse(request, "Unknown token.", shown=shown)
    now = timezone.now()
    if token.revoked_at is not None:
        _refuse(request, "This token was revoked.", token=token)
    if token.expires_at <= now:
        _refuse(request, "This token has expired: create a new one.", token=token)
    if not token.user.is_active:
        _refuse(request, "The token's account is deactivated.", token=token)
    _count_request(token, now)
    today = timezone.localdate(now)
    if token.last_used_on != today:
        # The first use of the day is an account event (not every request: a pull of a study
        # makes thousands).
        updated = ApiToken.objects.filter(pk=token.pk).exclude(last_used_on=today)
        if updated.update(last_used_on=today):
            account_event_record(
                kind=AccountEvent.Kind.TOKEN_USED, request=request, user=token.user,
                detail=token.label,
            )  # fmt: skip
    user = token.user
    if token.site_id is not None:
        memberships_limit_to_site(user, token.site_id)
    request.user = user
    return token


def _count_request(token: ApiToken, now: datetime) -> None:
    """One more request this minute; RateLimited past the limit. A single upsert, committed at
    once, so that parallel requests with one token do not wait for each other."""
    minute = now.replace(second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO api_tokenrequestcount (token_id, minute, requests) VALUES (%s, %s, 1) "
            "ON CONFLICT (token_id, minute) DO UPDATE "
            "SET requests = api_tokenrequestcount.requests + 1 RETURNING requests",
            [token.pk, minute],
        )
        (requests,) = cursor.fetchone()
        if requests == 1:
            # A new minute: forget the counts of earlier ones.
            cursor.execute(
                "DELETE FROM api_tokenrequestcount WHERE token_id = %s AND minute < %s",
                [token.pk, minute],
            )
    if requests > settings.API_REQUESTS_PER_MINUTE:
        raise RateLimited(retry_after=max(1, 60 - now.second))


def idempotent_responses_forget(now: datetime | None = None) -> int:
    """Delete the answers kept longer than IDEMPOTENCY_KEEP; return how many."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEEP
    deleted, _ = IdempotentResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted
