"""Queries: a monitor's or data manager's question about a field of a record, the site's answer,
and its closing. Services write (each step audited, each step a QueryMessage); selectors read,
scoped to the sites the user sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import capfirst

from audit.services import audited_save
from crf.access import Capability, sites_where, user_can
from crf.models import EditCheckConfirmation
from crf.records import record_name, records_named, subject_of

from .models import Query, QueryMessage
from .records import content_fields, field_label, is_clinical

# Statuses that still wait for someone: the site (open) or the monitor (answered).
UNRESOLVED = (Query.Status.OPEN, Query.Status.ANSWERED)
# The field a soft edit check is about, by its code (visit windows: the record's date field).
EDIT_CHECK_FIELDS = {
    "height_implausible": ("height_cm",),
    "weight_implausible": ("weight_kg",),
    "weight_change": ("weight_kg",),
    "visit_out_of_window": ("actual_date", "assessed_on"),
}


def _require(user, capability: Capability, subject, message: str) -> None:
    if not user_can(user, capability, subject.site):
        raise PermissionDenied(message)


def _text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _message(query: Query, action: str, *, text: str, user, value_changed: bool = False):
    return QueryMessage.objects.create(
        query=query, action=action, text=text, author=user, value_changed=value_changed
    )


def query_open(*, record: models.Model, field_name: str = "", text: str, user) -> Query:
    """Open a query on one field of a clinical record (or on the whole record if no field)."""
    model = type(record)
    if not is_clinical(model) or record.pk is None:
        raise ValidationError("Queries can only be raised on a saved clinical record.")
    subject = subject_of(record)
    _require(user, Capability.RAISE_QUERIES, subject, "Only monitors and data managers query.")
    text = _text(text, "text", "Write the question for the site.")
    field_name = (field_name or "").strip()
    if field_name and field_name not in {f.name for f in content_fields(model)}:
        raise ValidationError(
            {"field_name": f"{capfirst(record._meta.verbose_name)} has no field {field_name}."}
        )
    with transaction.atomic():
        query = audited_save(
            Query(
                subject=subject,
                content_type=ContentType.objects.get_for_model(model),
                object_id=record.pk,
                field_name=field_name,
                field_label=field_label(model, field_name) if field_name else "",
                text=text,
                opened_by=user,
            ),
            user=user,
        )
        _message(query, QueryMessage.Action.OPENED, text=text, user=user)
    return query


def query_from_edit_check(*, confirmation: EditCheckConfirmation) -> Query:
    """The automatic query for a soft edit check the investigator overrode: the monitor reviews
    it like any other query. Called in the transaction that keeps the confirmation."""
    model = confirmation.content_type.model_class()
    names = {f.name for f in content_fields(model)}
    field_name = next(
        (n for n in EDIT_CHECK_FIELDS.get(confirmation.check_code, ()) if n in names), ""
    )
    query = audited_save(
        Query(
            subject_id=confirmation.subject_id,
            content_type=confirmation.content_type,
            object_id=confirmation.object_id,
            field_name=field_name,
            field_label=field_label(model, field_name) if field_name else "",
            text=confirmation.message,
            origin=Query.Origin.EDIT_CHECK,
            edit_check=confirmation,
            opened_by=confirmation.confirmed_by,
        ),
        user=confirmation.confirmed_by,
    )
    _message(query, QueryMessage.Action.OPENED, text=query.text, user=confirmation.confirmed_by)
    return query


def queries_from_edit_checks(confirmations) -> None:
    """query_from_edit_check for each confirmation of a save (the write pipeline's follow-up)."""
    for confirmation in confirmations:
        query_from_edit_check(confirmation=confirmation)


def query_answer(*, query: Query, text: str, user, value_changed: bool = False) -> Query:
    """The site's answer to an open query (`value_changed` when the value was corrected in the
    same step: see query_answer_with_change)."""
    _require(
        user,
        Capability.ENTER_CLINICAL_DATA,
        query.subject,
        "Only the site's investigators answer queries.",
    )
    text = _text(text, "answer", "Write the answer to the query.")
    with transaction.atomic():
        query = Query.objects.select_for_update().get(pk=query.pk)
        if query.status != Query.Status.OPEN:
            raise ValidationError(f"Query #{query.pk} is {query.get_status_display().lower()}.")
        query.status = Query.Status.ANSWERED
        query.answer = text
        query.answered_by = user
        query.answered_at = timezone.now()
        audited_save(query, user=user, reason="query answered")
        _message(
            query, QueryMessage.Action.ANSWERED, text=text, user=user, value_changed=value_changed
        )
    return query


def query_for_answer(*, query_id, record: models.Model) -> Query:
    """The open query on `record` that a correction of the record will answer, or a
    ValidationError saying why it cannot."""
    content_type = ContentType.objects.get_for_model(type(record))
    query = Query.objects.filter(
        pk=query_id if str(query_id).isdigit() else None,
        content_type=content_type,
        object_id=record.pk,
    ).first()
    if query is None:
        raise ValidationError("The query to answer is not a query on this record.")
    if query.status != Query.Status.OPEN:
        raise ValidationError(f"Query #{query.pk} is {query.get_status_display().lower()}.")
    return query


def query_answer_with_change(*, query_id, record: models.Model, answer: str, user) -> Query:
    """Answer a query by the correction just saved to `record` (its reason is the answer).
    Call inside the transaction of the record's save so that both stand or neither."""
    query = query_for_answer(query_id=query_id, record=record)
    return query_answer(query=query, text=answer, user=user, value_changed=True)


def query_close(*, query: Query, text: str = "", user) -> Query:
    """The monitor or data manager closes a query (answered, or raised in error)."""
    _require(user, Capability.RAISE_QUERIES, query.subject, "Only monitors close queries.")
    with transaction.atomic():
        query = Query.objects.select_for_update().get(pk=query.pk)
        if query.status == Query.Status.CLOSED:
            raise ValidationError(f"Query #{query.pk} is already closed.")
        query.status = Query.Status.CLOSED
        query.closed_by = user
        query.closed_at = timezone.now()
        text = (text or "").strip()
        audited_save(query, user=user, reason=f"query closed: {text}" if text else "query closed")
        _message(query, QueryMessage.Action.CLOSED, text=text, user=user)
    return query


def query_reopen(*, query: Query, text: str, user) -> Query:
    """Re-open an answered or closed query: the answer did not resolve it."""
    _require(user, Capability.RAISE_QUERIES, query.subject, "Only monitors re-open queries.")
    text = _text(text, "text", "Say why the query is re-opened.")
    with transaction.atomic():
        query = Query.objects.select_for_update().get(pk=query.pk)
        if query.status == Query.Status.OPEN:
            raise ValidationError(f"Query #{query.pk} is already open.")
        query.status = Query.Status.OPEN
        query.closed_by = None
        query.closed_at = None
        audited_save(query, user=user, reason=f"query re-opened: {text}")
        _message(query, QueryMessage.Action.REOPENED, text=text, user=user)
    return query


# --- Selectors ------------------------------------------------------------------------------


def queries_visible_to(user) -> QuerySet[Query]:
    """The queries of the subjects the user may see, with what lists show."""
    return Query.objects.filter(
        subject__site__in=sites_where(user, Capability.VIEW_SUBJECTS)
    ).select_related("subject__site", "opened_by", "content_type")


def record_queries(record: models.Model) -> QuerySet[Query]:
    content_type = ContentType.objects.get_for_model(type(record))
    return Query.objects.filter(content_type=content_type, object_id=record.pk).select_related(
        "opened_by", "answered_by", "closed_by"
    )


def query_age_days(query: Query, now: datetime | None = None) -> int | None:
    """Days since the query was opened while it waits (open or answered); None once closed."""
    if query.status not in UNRESOLVED:
        return None
    now = now or timezone.now()
    return (timezone.localdate(now) - timezone.localdate(query.opened_at)).days


@dataclass(frozen=True)
class QueryRow:
    query: Query
    age_days: int | None
    record_name: str = ""  # the queried record in the trial's words (crf.records.record_name)


def query_rows(
    queries, now: datetime | None = None, *, record: models.Model | None = None
) -> list[QueryRow]:
    """The rows of a list of queries: each with its age and its record's name (one query per
    kind of record queried; none for the queries of `record`, a record already loaded)."""
    now = now or timezone.now()
    queries = list(queries)
    names: dict[tuple[int, int], str] = {}
    if record is not None:
        ct = ContentType.objects.get_for_model(type(record)).pk
        names[(ct, record.pk)] = record_name(record, with_subject=False)
    wanted: dict[int, set[int]] = {}
    for q in queries:
        if (q.content_type_id, q.object_id) not in names:
            wanted.setdefault(q.content_type_id, set()).add(q.object_id)
    for ct_id, pks in wanted.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        if model is not None:
            for pk, name in records_named(model, pks).items():
                names[(ct_id, pk)] = name
    return [
        QueryRow(
            q,
            query_age_days(q, now),
            names.get((q.content_type_id, q.object_id), "record no longer recorded"),
        )
        for q in queries
    ]
