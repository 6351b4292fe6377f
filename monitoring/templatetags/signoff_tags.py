"""Template hooks of locks and investigator signatures (filled in by the sign-off feature)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def subject_signoff_panel(context, subject):
    """Locks and signatures of the subject, on the subject's casebook page."""
    return ""


@register.simple_tag(takes_context=True)
def record_lock_notice(context, record):
    """A notice naming the lock when the record (or its subject or site) is locked."""
    return ""
