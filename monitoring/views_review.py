"""Pages of queries and source data verification: the record review page, query pages, lists.

Views parse, authorise (crf.access, subject first so that other sites' subjects are a 404),
call the services of monitoring.queries and monitoring.sdv, and render.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst

from audit.clock import local_time_text
from audit.forms import add_errors
from crf.access import (
    Capability,
    may_open,
    require,
    sites_where,
    subject_for,
    subjects_visible_to,
    user_can,
)
from crf.models import Subject
from crf.records import record_page_url, records_named, subject_path

from . import sdv
from .audit_review import record_history
from .forms_review import (
    QUERY_STEP_FORMS,
    QueryFilterForm,
    QueryOpenForm,
    SdvFilterForm,
    VerifyForm,
    WithdrawForm,
    query_openers,
)
from .models import Query, SourceVerification
from .queries import (
    UNRESOLVED,
    queries_visible_to,
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_rows,
    record_queries,
)
from .records import content_fields, record_pointer, record_resolve, record_title

PER_PAGE = 25
EMPTY = "—"


# --- Reads for the review pages -------------------------------------------------------------


def display_value(record: models.Model, fld: models.Field) -> str:
    """A record's current value as people read it: coded values with their label, dates in
    ISO, local times. A change in its history is shown as the audit trail shows it
    (audit_review.record_history)."""
    value = fld.value_from_object(record)
    if value is None or value == "":
        return ""
    if fld.choices:
        return str(dict(fld.flatchoices).get(value, value))
    if isinstance(fld, models.ForeignKey):
        return str(getattr(record, fld.name))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        return local_time_text(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass
class FieldRow:
    name: str
    label: str
    value: str
    verified: bool
    queries: list[Query] = field(default_factory=list)


def record_field_rows(record, queries: list[Query], verified: set[str]) -> list[FieldRow]:
    by_field: dict[str, list[Query]] = {}
    for query in queries:
        by_field.setdefault(query.field_name, []).append(query)
    return [
        FieldRow(
            name=f.name,
            label=capfirst(str(f.verbose_name)),
            value=display_value(record, f),
            verified=f.name in verified,
            queries=by_field.get(f.name, []),
        )
        for f in content_fields(type(record))
    ]


def _record(subject: Subject, ct: int, pk: int):
    record = record_resolve(subject, ct, pk)
    if subject_path(type(record)) == "subject_id":
        record.subject = subject  # shown by its subject: no query
    return record


# --- Record review ----------------------------------------------------------------------------


@login_required
def record_review(request, study_id, ct, pk):
    """One record as a monitor reviews it: values, queries, SDV and its history."""
    subject = subject_for(request.user, study_id)
    record = _record(subject, ct, pk)
    return _render_review(request, subject, record)


def _page_for(user, record, subject) -> str | None:
    """The page where the record is entered, if the user's role may open it (a monitor or
    data manager reads it here, on the review page)."""
    url = record_page_url(record)
    return url if may_open(user, url, subject.site) else None


def _render_review(request, subject, record, *, open_form=None, verify_form=None, status=200):
    model = type(record)
    queries = list(record_queries(record))
    state = sdv.record_sdv(record)
    can_query = user_can(request.user, Capability.RAISE_QUERIES, subject.site)
    can_verify = user_can(request.user, Capability.VERIFY_SOURCE_DATA, subject.site)
    ct, pk = record_pointer(record)
    context = {
        "subject": subject,
        "record": record,
        "ct": ct,
        "title": record_title(record),
        "record_url": _page_for(request.user, record, subject),
        "rows": record_field_rows(record, queries, state.verified_fields),
        "record_queries": [q for q in queries if not q.field_name],
        "queries": query_rows(queries, record=record),
        "unresolved": sum(q.status in UNRESOLVED for q in queries),
        "sdv": state,
        "history": record_history(record, subject),
        "can_query": can_query,
        "can_verify": can_verify,
        "can_answer": user_can(request.user, Capability.ENTER_CLINICAL_DATA, subject.site),
        "open_form": open_form or (QueryOpenForm(model=model) if can_query else None),
        "verify_form": verify_form or (VerifyForm(model=model) if can_verify else None),
        "withdraw_form": WithdrawForm() if can_verify else None,
    }
    return render(request, "monitoring/record_review.html", context, status=status)


@login_required
def subject_review(request, study_id):
    """Every clinical record of a subject with its SDV state and unresolved queries."""
    subject = subject_for(request.user, study_id)
    states = sdv.marks_by_record([subject.pk])
    pointers = sdv.record_pointers([subject.pk])
    unresolved: dict[tuple[int, int], int] = {}
    for q in subject.queries.filter(status__in=UNRESOLVED).only("content_type_id", "object_id"):
        key = (q.content_type_id, q.object_id)
        unresolved[key] = unresolved.get(key, 0) + 1
    rows = []
    for ct_id, pk, _ in sorted(pointers):
        state = states.get((ct_id, pk))
        rows.append(
            {
                "ct": ct_id,
                "pk": pk,
                "kind": _kind(ct_id),
                "verified": bool(state and state.verified),
                "partly": bool(state and state.valid and not state.verified),
                "changed": bool(state and state.changed_after_verification),
                "queries": unresolved.get((ct_id, pk), 0),
            }
        )
    rows.sort(key=lambda r: (r["kind"], r["pk"]))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    _name_rows(page.object_list)
    progress = sdv.sdv_progress([subject.pk], states)[subject.pk]
    return render(
        request,
        "monitoring/record_review_list.html",
        {"subject": subject, "page": page, "progress": progress, "query": ""},
    )


def _name_rows(rows: list[dict]) -> None:
    """Each row's record by its name in the trial's words (one query per kind on the page)."""
    wanted: dict[int, set[int]] = {}
    for row in rows:
        wanted.setdefault(row["ct"], set()).add(row["pk"])
    names = {
        (ct_id, pk): name
        for ct_id, pks in wanted.items()
        for pk, name in records_named(
            ContentType.objects.get_for_id(ct_id).model_class(), pks
        ).items()
    }
    for row in rows:
        row["name"] = names.get((row["ct"], row["pk"]), row["kind"])


def _kind(ct_id: int) -> str:
    return capfirst(str(ContentType.objects.get_for_id(ct_id).model_class()._meta.verbose_name))


# --- Queries ----------------------------------------------------------------------------------


@login_required
def query_new(request, study_id, ct, pk):
    """Raise a query on a record (?field=name pre-selects the field)."""
    subject = subject_for(request.user, study_id, Capability.RAISE_QUERIES)
    record = _record(subject, ct, pk)
    model = type(record)
    if request.method != "POST":
        form = QueryOpenForm(model=model, initial={"field_name": request.GET.get("field", "")})
        return _render_query_new(request, subject, record, form)
    form = QueryOpenForm(request.POST, model=model)
    if form.is_valid():
        try:
            query = query_open(
                record=record,
                field_name=form.cleaned_data["field_name"],
                text=form.cleaned_data["text"],
                user=request.user,
            )
        except ValidationError as invalid:
            add_errors(form, invalid)
        else:
            messages.success(request, f"Query #{query.pk} opened.")
            return redirect(_review_url_for(subject, record))
    return _render_query_new(request, subject, record, form)


def _review_url_for(subject, record) -> str:
    ct, pk = record_pointer(record)
    return reverse("monitoring:record_review", args=[subject.study_id, ct, pk])


def _render_query_new(request, subject, record, form):
    return render(
        request,
        "monitoring/query_new.html",
        {
            "subject": subject,
            "record": record,
            "title": record_title(record),
            "review_url": _review_url_for(subject, record),
            "form": form,
        },
    )


@login_required
def query_detail(request, study_id, pk):
    """A query and its conversation; POST action=answer|close|reopen takes the next step."""
    subject = subject_for(request.user, study_id)
    query = get_object_or_404(
        Query.objects.select_related("opened_by", "answered_by", "closed_by", "content_type"),
        pk=pk,
        subject=subject,
    )
    forms = {name: cls(prefix=name) for name, cls in QUERY_STEP_FORMS.items()}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in QUERY_STEP_FORMS:
            messages.error(request, "Choose answer, close or re-open.")
        else:
            form = forms[action] = QUERY_STEP_FORMS[action](request.POST, prefix=action)
            if form.is_valid():
                try:
                    _query_step(action, query, form.cleaned_data, request.user)
                except ValidationError as invalid:
                    add_errors(form, invalid)
                else:
                    messages.success(request, f"Query #{query.pk} {_DONE[action]}.")
                    target = request.POST.get("next", "")
                    # A path on this site only: redirect() would try any other text as a URL
                    # name (a 500 for "+1"), and a relative one lands who knows where.
                    if target.startswith("/") and url_has_allowed_host_and_scheme(
                        target, allowed_hosts={request.get_host()}
                    ):
                        return HttpResponseRedirect(target)
                    return redirect("monitoring:query_detail", study_id=study_id, pk=query.pk)
            elif request.POST.get("next"):
                # Posted from another page (the record form): say what was wrong here.
                messages.error(request, "Not saved: " + " ".join(_errors(form)))
    record = query.record
    ct, object_pk = query.content_type_id, query.object_id
    return render(
        request,
        "monitoring/query_detail.html",
        {
            "subject": subject,
            "query": query,
            "age_days": query_rows([query])[0].age_days,
            "conversation": query.messages.select_related("author"),
            "history": query.history.select_related("history_user").order_by("-history_date"),
            "record_title": record_title(record) if record else "a record no longer kept",
            "review_url": reverse("monitoring:record_review", args=[study_id, ct, object_pk]),
            "can_answer": query.status == Query.Status.OPEN
            and user_can(request.user, Capability.ENTER_CLINICAL_DATA, subject.site),
            "can_manage": user_can(request.user, Capability.RAISE_QUERIES, subject.site),
            "correct_url": _correction_url(record),
            "forms": forms,
        },
    )


def _correction_url(record) -> str | None:
    """The record's edit form, where a correction can answer the query (casebook forms only)."""
    url = record_page_url(record) if record is not None else None
    if url and resolve(url).url_name == "record_edit":
        return url
    return None


_DONE = {"answer": "answered", "close": "closed", "reopen": "re-opened"}


def _errors(form) -> list[str]:
    return [str(e) for errors in form.errors.values() for e in errors]


def _query_step(action: str, query: Query, data: dict, user) -> Query:
    if action == "answer":
        return query_answer(query=query, text=data["answer"], user=user)
    if action == "close":
        return query_close(query=query, text=data["text"], user=user)
    return query_reopen(query=query, text=data["text"], user=user)


@login_required
def query_list(request):
    """Queries of the user's sites, filterable by status, site, who opened them and origin."""
    require(request.user, Capability.VIEW_SUBJECTS)
    visible = queries_visible_to(request.user)
    sites = sites_where(request.user, Capability.VIEW_SUBJECTS)
    filters = QueryFilterForm(
        request.GET or {"status": QueryFilterForm.UNRESOLVED},
        sites=sites,
        openers=query_openers(visible),
    )
    queries = filters.apply(visible) if filters.is_valid() else visible.none()
    page = Paginator(queries.order_by("opened_at", "id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = query_rows(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/query_list.html",
        {"page": page, "filters": filters, "query": query.urlencode()},
    )


# --- Source data verification -----------------------------------------------------------------


@login_required
def record_verify(request, study_id, ct, pk):
    subject = subject_for(request.user, study_id, Capability.VERIFY_SOURCE_DATA)
    record = _record(subject, ct, pk)
    if request.method != "POST":
        return redirect(_review_url_for(subject, record))
    form = VerifyForm(request.POST, model=type(record))
    if form.is_valid():
        try:
            sdv.record_verify(record=record, fields=form.chosen_fields(), user=request.user)
        except ValidationError as invalid:
            add_errors(form, invalid)
        else:
            chosen = form.chosen_fields()
            what = f"{len(chosen)} field(s)" if chosen else "The whole record"
            messages.success(request, f"{what} of {record_title(record)} marked verified.")
            return redirect(_review_url_for(subject, record))
    return _render_review(request, subject, record, verify_form=form, status=400)


@login_required
def verification_withdraw(request, study_id, pk):
    subject = subject_for(request.user, study_id, Capability.VERIFY_SOURCE_DATA)
    mark = get_object_or_404(SourceVerification, pk=pk, subject=subject)
    record = _record(subject, mark.content_type_id, mark.object_id)
    if request.method != "POST":
        return redirect(_review_url_for(subject, record))
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            sdv.verification_withdraw(
                verification=mark, reason=form.cleaned_data["reason"], user=request.user
            )
        except ValidationError as invalid:
            messages.error(request, " ".join(invalid.messages))
        else:
            messages.success(request, "Verification withdrawn.")
    else:
        messages.error(request, "Not withdrawn: " + " ".join(_errors(form)))
    return redirect(_review_url_for(subject, record))


def _visible_subjects(request):
    sites = sites_where(request.user, Capability.VIEW_SUBJECTS)
    filters = SdvFilterForm(request.GET or None, sites=sites)
    subjects = subjects_visible_to(request.user).select_related("site").order_by("study_id")
    if filters.is_valid() and filters.cleaned_data["site"]:
        subjects = subjects.filter(site=filters.cleaned_data["site"])
    return filters, subjects


@login_required
def sdv_overview(request):
    """SDV progress per site and per subject."""
    require(request.user, Capability.VIEW_SUBJECTS)
    filters, visible = _visible_subjects(request)
    subjects = list(visible)
    summary = sdv.sdv_summary(s.pk for s in subjects)
    progress = summary.progress
    rows = [(s, progress[s.pk]) for s in subjects]
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/sdv_overview.html",
        {
            "filters": filters,
            "sites": sorted(
                sdv.site_progress(subjects, progress).items(), key=lambda kv: kv[0].number
            ),
            "changed": len(summary.changed),
            "page": page,
            "query": query.urlencode(),
        },
    )


@login_required
def sdv_changed(request):
    """Verified records that changed after their verification: to verify again."""
    require(request.user, Capability.VIEW_SUBJECTS)
    filters, subjects = _visible_subjects(request)
    rows = sdv.sdv_summary(subjects.values_list("pk", flat=True)).changed
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/sdv_changed.html",
        {"filters": filters, "page": page, "query": query.urlencode()},
    )
