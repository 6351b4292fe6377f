"""Investigator signatures: the site's principal investigator approves a subject's casebook (or
one form) by re-entering the password; the signature is bound to a hash of what was signed and
shown as invalid as soon as any of it changes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.models import AccountEvent
from accounts.services import AccountLockedOut, account_event_record, password_reverify
from accounts.two_factor import second_factor_asked, second_factor_verify, totp_device_of
from audit.services import audited_save
from crf.models import Membership, Role, Site, Subject
from crf.records import subject_of

from .models import Signature
from .records import casebook_hash, record_hash, record_title

INVALIDATED = "invalidated: the data changed after signing"


def is_principal_investigator(user, site: Site) -> bool:
    """Whether `user` is the principal investigator of `site` (who signs its casebooks)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return Membership.objects.filter(
        user=user, site=site, role=Role.INVESTIGATOR, principal_investigator=True
    ).exists()


def printed_name(user) -> str:
    return user.get_full_name() or user.get_username()


def signature_create(
    *,
    subject: Subject,
    record: models.Model | None = None,
    password: str,
    user,
    request=None,
    second_factor: str = "",
) -> Signature:
    """Sign a subject's casebook (or, with `record`, one of its forms) as the site's principal
    investigator, re-authenticating with the password, and with a second-factor code where the
    signer has an authenticator (or their role requires one).

    A wrong password or code saves no signature and is recorded as a failed signature
    (AccountEvent); a success writes the signature with its history and an AccountEvent SIGNED.
    Locks do not matter: signing changes no clinical data.
    """
    if not is_principal_investigator(user, subject.site):
        raise PermissionDenied("Only the site's principal investigator signs its casebooks.")
    if record is not None and subject_of(record).pk != subject.pk:
        raise ValidationError("This record is not one of the subject's.")
    signer_verify(user=user, request=request, password=password, second_factor=second_factor)
    signature = Signature(
        subject=subject,
        signer=user,
        printed_name=printed_name(user),
        signed_at=timezone.now(),
    )
    with transaction.atomic():
        if record is None:
            signature.meaning = Signature.MEANING
            signature.content_hash = casebook_hash(subject)
        else:
            signature.content_type = ContentType.objects.get_for_model(type(record))
            signature.object_id = record.pk
            signature.meaning = Signature.FORM_MEANING
            signature.content_hash = record_hash(record)
        audited_save(signature, user=user, reason=signature.meaning)
        account_event_record(kind=AccountEvent.Kind.SIGNED, request=request, user=user)
    return signature


def signer_verify(*, user, request, password: str, second_factor: str = "") -> None:
    """Re-authenticate a signer: their password, and a second-factor code where they have an
    authenticator (or their role requires one). A wrong one raises ValidationError (on
    `password` or `second_factor`) and is recorded as a failed signature (AccountEvent)."""
    try:
        verified = password_reverify(request=request, user=user, password=password)
    except AccountLockedOut as locked:
        account_event_record(kind=AccountEvent.Kind.SIGNATURE_FAILED, request=request, user=user)
        raise ValidationError({"password": f"Nothing was signed. {locked}"}) from None
    if not verified:
        account_event_record(kind=AccountEvent.Kind.SIGNATURE_FAILED, request=request, user=user)
        raise ValidationError(
            {"password": "The password is not correct: nothing was signed. Enter your password "
             "to sign (wrong passwords count toward the account's lockout, as at login)."}
        )  # fmt: skip
    if second_factor_asked(user):
        _second_factor_check(user=user, request=request, code=second_factor)


def _second_factor_check(*, user, request, code: str) -> None:
    """Refuse (ValidationError on `second_factor`) unless `code` is a right second-factor code."""
    if totp_device_of(user) is None:  # required of the signer's role, not set up yet
        account_event_record(kind=AccountEvent.Kind.SIGNATURE_FAILED, request=request, user=user)
        raise ValidationError(
            {"second_factor": "Nothing was signed: your role requires two-step sign-in. Set it "
             "up first (Two-step sign-in, in your account menu)."}
        )  # fmt: skip
    try:
        verified = second_factor_verify(request=request, user=user, code=code, purpose="signature")
    except AccountLockedOut as locked:
        account_event_record(kind=AccountEvent.Kind.SIGNATURE_FAILED, request=request, user=user)
        raise ValidationError({"second_factor": f"Nothing was signed. {locked}"}) from None
    if verified:
        return
    account_event_record(kind=AccountEvent.Kind.SIGNATURE_FAILED, request=request, user=user)
    raise ValidationError(
        {"second_factor": "The code is not correct: nothing was signed. Enter the 6-digit code "
         "your authenticator app shows now (each code works once), or a recovery code; wrong "
         "codes count toward the account's lockout."}
    )  # fmt: skip


@dataclass(frozen=True)
class SignatureStatus:
    signature: Signature
    what: str  # "Casebook" or the record's title
    valid: bool


def signatures_of(subject: Subject) -> list[SignatureStatus]:
    """The subject's signatures, newest first, each checked against the current content."""
    signatures = list(subject.signatures.select_related("signer"))
    if not signatures:
        return []
    current_casebook = None
    if any(s.content_type_id is None for s in signatures):
        current_casebook = casebook_hash(subject)
    wanted = defaultdict(set)
    for s in signatures:
        if s.content_type_id is not None:
            wanted[s.content_type_id].add(s.object_id)
    records = {}
    for content_type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        for record in model.objects.filter(pk__in=ids):
            records[content_type_id, record.pk] = record
    statuses = []
    for s in signatures:
        if s.content_type_id is None:
            statuses.append(SignatureStatus(s, "Casebook", s.content_hash == current_casebook))
            continue
        record = records.get((s.content_type_id, s.object_id))
        if record is None:
            statuses.append(SignatureStatus(s, "A record no longer kept", False))
            continue
        statuses.append(
            SignatureStatus(s, record_title(record), s.content_hash == record_hash(record))
        )
    return statuses
