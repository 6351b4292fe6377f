"""Template hooks of locks and investigator signatures."""

from django import template
from django.template.loader import get_template

from crf.access import Capability, user_can
from monitoring.locks import (
    SubjectLocks,
    lock_description,
    lock_message,
    lock_refusing,
    lock_targets,
    locks_of_subject,
)
from monitoring.records import is_clinical, record_pointer
from monitoring.signatures import INVALIDATED, is_principal_investigator, signatures_of

register = template.Library()


def _user(context):
    request = context.get("request")
    return context.get("user") or (request.user if request is not None else None)


def _is_pi(user, site) -> bool:
    # The membership cache answers most users without a query.
    return user_can(user, Capability.ENTER_CLINICAL_DATA, site) and is_principal_investigator(
        user, site
    )


@register.simple_tag(takes_context=True)
def subject_signoff_panel(context, subject):
    """Locks and signatures of the subject, on the subject's casebook page."""
    user = _user(context)
    if user is None:
        return ""
    locks = [
        (lock, target, lock_description(lock))
        for lock, target in lock_targets(locks_of_subject(subject))
    ]
    return get_template("monitoring/_signoff_panel.html").render(
        {
            "subject": subject,
            "locks": locks,
            "can_lock": user_can(user, Capability.LOCK_DATA, subject.site),
            "can_sign": _is_pi(user, subject.site),
            "signatures": signatures_of(subject),
            "invalidated": INVALIDATED,
        }
    )


@register.simple_tag(takes_context=True)
def record_lock_notice(context, record):
    """A notice naming the lock when the record (or its subject or site) is locked; and, for the
    principal investigator, a link to sign the form."""
    user = _user(context)
    if user is None or record.pk is None or not is_clinical(type(record)):
        return ""
    lock = lock_refusing(record)
    # A lock of monitoring's, or another write guard's refusal the page found (the study lock).
    message = lock_message(lock) if lock else (context.get("locked") or "")
    subject = context.get("subject")
    can_sign = subject is not None and _is_pi(user, subject.site)
    if not message and not can_sign:
        return ""
    content_type_id, object_id = record_pointer(record)
    return get_template("monitoring/_signoff_lock_notice.html").render(
        {
            "message": message,
            "can_sign": can_sign,
            "subject": subject,
            "content_type_id": content_type_id,
            "object_id": object_id,
        }
    )


@register.simple_tag
def subject_locks(subject):
    """`{% subject_locks subject as locks %}`: the subject's active locks, read once, for
    `record|locked_in:locks` (no write action is offered on locked data)."""
    return SubjectLocks(subject)


@register.filter
def locked_in(record, locks) -> bool:
    """Whether one of `locks` (subject_locks) refuses a change of `record`."""
    return locks is not None and record is not None and locks.refusing(record) is not None
