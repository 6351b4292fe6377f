"""Template hooks of queries and source data verification (filled in by the review feature)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def subject_review_panel(context, subject):
    """Open queries and SDV progress on the subject's casebook page."""
    return ""


@register.simple_tag(takes_context=True)
def record_review_panel(context, record):
    """Queries on a record's fields and its own history, on the record's form page."""
    return ""
