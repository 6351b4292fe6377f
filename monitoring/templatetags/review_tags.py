"""Template hooks of queries and source data verification on the casebook's pages."""

from django import template
from django.template.loader import render_to_string
from django.urls import reverse

from crf.access import Capability, user_can
from crf.records import subject_of

from .. import sdv
from ..models import Query
from ..queries import UNRESOLVED, query_rows, record_queries
from ..records import record_pointer

register = template.Library()


@register.simple_tag(takes_context=True)
def subject_review_panel(context, subject):
    """Unresolved queries and SDV progress on the subject's casebook page."""
    queries = (
        Query.objects.filter(subject=subject, status__in=UNRESOLVED)
        .select_related("opened_by", "content_type")
        .order_by("opened_at", "id")
    )
    progress = sdv.sdv_summary([subject.pk]).progress[subject.pk]
    return render_to_string(
        "monitoring/_review_subject_panel.html",
        {"subject": subject, "queries": query_rows(queries), "progress": progress},
        request=context.get("request"),
    )


@register.simple_tag(takes_context=True)
def record_review_panel(context, record):
    """Queries on the record's fields, with the answer forms, and the record's own history."""
    from ..audit_review import record_history

    request = context.get("request")
    user = request.user if request else None
    subject = context.get("subject")
    queries = list(record_queries(record))
    unresolved = [q for q in queries if q.status in UNRESOLVED]
    ct, pk = record_pointer(record)
    return render_to_string(
        "monitoring/_review_record_panel.html",
        {
            "subject": subject,
            "record": record,
            "ct": ct,
            "queries": query_rows(unresolved, record=record),
            "can_answer": bool(
                user and user_can(user, Capability.ENTER_CLINICAL_DATA, subject.site)
            ),
            "history": record_history(record, subject),
            "here": request.get_full_path() if request else "",
            "page_path": request.path if request else "",
        },
        request=request,
    )


@register.simple_tag(takes_context=True)
def query_being_answered(context, record):
    """On a record's correction form opened by "Correct the value and answer": the question the
    correction answers (text, who raised it, when in local time), shown above the form."""
    request = context.get("request")
    query_id = request.GET.get("answers_query", "") if request else ""
    if not query_id.isdigit():
        return ""
    query = record_queries(record).filter(pk=int(query_id), status=Query.Status.OPEN).first()
    return render_to_string(
        "monitoring/_review_answering.html",
        {"query": query, "subject": context.get("subject")},
        request=request,
    )


@register.simple_tag
def record_review_url(record) -> str:
    """The review page of a clinical record (values, queries, SDV, history)."""
    ct, pk = record_pointer(record)
    study_id = subject_of(record).study_id
    return reverse("monitoring:record_review", args=[study_id, ct, pk])
