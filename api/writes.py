"""The write endpoints, each through the same services and write pipeline as the pages: MRD
results by accession (the central laboratory), lab panels (a site's laboratory system), answers
to queries. Each runs in one transaction: a refusal saves nothing. An Idempotency-Key header
makes a repeated post answer what the first one did, without writing again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone
from ninja import Field, Header, Router, Schema, Status
from pydantic import AfterValidator, StrictFloat, StrictInt, StrictStr, create_model

from crf.access import Capability, subjects_visible_to, user_can
from monitoring.queries import queries_visible_to, query_answer
from mrd.services import RESULTS_REFUSED, result_save
from mrd.upload import COLUMNS, results_check_writes, results_read
from protocol import ctcae
from safety.forms import LabPanelForm
from safety.services import lab_panel_alerts, lab_panel_record, site_ranges

from .models import ApiToken, IdempotentResponse
from .problems import COMMON_PROBLEMS, Problem
from .reads import Resource

WRITE_REFUSED = "This token may only read: create a read-and-write token to write."
KEY_REUSED = (
    "This Idempotency-Key was used for a different request: use a new key for a new request."
)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text cannot contain the NUL character (\\u0000).")
    return value


# Text as a person or a system sends it; a NUL character (which PostgreSQL cannot store) is
# refused like any other invalid input.
Text = Annotated[str, AfterValidator(_no_nul)]
# A number, or its text as typed (a decimal comma reads as a point); never true/false.
DecimalIn = Annotated[StrictStr, AfterValidator(_no_nul)] | StrictInt | StrictFloat


def _require_write(request) -> None:
    token: ApiToken = request.auth
    if token.scope != ApiToken.Scope.READ_WRITE:
        raise PermissionDenied(WRITE_REFUSED)


def _request_digest(request) -> str:
    return hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + request.body
    ).hexdigest()


def idempotent_write(request, key: str | None, write: Callable[[], tuple[int, dict]]):
    """Run `write` in one transaction; with a key, answer a repeated request from the stored
    response (the same account and key; the same method, path and body) and refuse a key
    reused for another request."""
    if key is not None:
        key = key.strip()
        if not key or len(key) > 200 or not key.isprintable():
            raise ValidationError(
                {"Idempotency-Key": "Send 1 to 200 printable characters (e.g. a UUID)."}
            )
    with transaction.atomic():
        if key is None:
            return Status(*write())
        user = request.user
        with connection.cursor() as cursor:
            # Two requests with one key wait for each other: the second sees the first's answer.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{user.pk}:{key}"])
        digest = _request_digest(request)
        stored = IdempotentResponse.objects.filter(user=user, key=key).first()
        if stored is not None:
            if stored.request_digest != digest:
                raise ValidationError({"Idempotency-Key": KEY_REUSED})
            return Status(stored.status_code, stored.body)
        status, body = write()
        IdempotentResponse.objects.create(
            user=user, key=key, request_digest=digest, status_code=status, body=body
        )
        return Status(status, body)


def _text(value: DecimalIn | None) -> str:
    if value is None:
        return ""
    return str(value)


# --- MRD results ---------------------------------------------------------------------------------


class MrdResultIn(Schema):
    accession: Text = Field(..., max_length=40, description="The sample's accession (worklist).")
    method: Text = Field(..., max_length=10, description="qpcr or ngs")
    result: Text = Field(
        ..., max_length=20, description="negative, pnq, quantifiable or not_evaluable"
    )
    value: DecimalIn | None = Field(None, description="MRD level, quantifiable only (e.g. 2E-4)")
    sensitivity: DecimalIn | None = None
    quantitative_range: DecimalIn | None = None
    markers: Text = Field("", max_length=200)
    report_date: Text = Field(..., max_length=20, description="YYYY-MM-DD")
    not_evaluable_reason: Text = Field("", max_length=200)
    comment: Text = Field("", max_length=2000)
    reason_for_change: Text = Field(
        "", max_length=500, description="Needed when the result corrects a stored one."
    )
    version: int | None = Field(
        None, ge=1, description="For a correction: the version you read (refused if changed)."
    )


def _mrd_result_post(request, payload: MrdResultIn, resources: dict[str, Resource]):
    if not user_can(request.user, Capability.ENTER_MRD_RESULTS):
        raise PermissionDenied(RESULTS_REFUSED)
    data = payload.dict()
    row_data = {column: _text(data.get(column)) for column in COLUMNS}
    rows = results_read([row_data], request.user)
    results_check_writes(rows, request.user)
    row = rows[0]
    if row.errors:
        raise ValidationError({column: message for column, message in reversed(row.errors)})
    if row.action == "new":
        saved = result_save(row.result, user=request.user, reason="reported through the API")
        status, action = 201, "created"
    elif row.action == "correction":
        saved = result_save(
            row.result, user=request.user, reason=row.reason, expected_version=payload.version
        )
        status, action = 200, "corrected"
    else:
        saved, status, action = row.result, 200, "unchanged"
    return status, {"action": action, "result": resources["mrd-results"].one(request, saved.pk)}


# --- Lab panels ------------------------------------------------------------------------------


class LabValueIn(Schema):
    test: Text = Field(..., max_length=12, description="Test code, as in lab_values.csv")
    value: DecimalIn
    unit: Text | None = Field(None, max_length=12, description="Default: the standard unit")
    lln: DecimalIn | None = Field(None, description="Default: the site's reference range")
    uln: DecimalIn | None = Field(None, description="Default: the site's reference range")


class LabPanelIn(Schema):
    subject: Text = Field(..., max_length=12, description="Study ID, e.g. 1-01")
    sampled_at: datetime = Field(
        ..., description="ISO 8601; without a zone, the trial's local time"
    )
    local_lab: Text = Field(..., max_length=120)
    values: list[LabValueIn] = Field(..., min_length=1, max_length=len(ctcae.LabTest))


class RaisedAlertOut(Schema):
    id: int
    rule: str
    severity: str
    message: str
    action: str


def _lab_panel_form(subject, payload: LabPanelIn) -> LabPanelForm:
    """The page's form reads the values: the same units, limits and typed numbers."""
    ranges = site_ranges(subject.site)
    sampled_at = payload.sampled_at
    if timezone.is_aware(sampled_at):
        try:
            sampled_at = timezone.localtime(sampled_at).replace(tzinfo=None)
        except (OverflowError, ValueError):  # year 1 or 9999 moved past the calendar's ends
            raise ValidationError({"sampled_at": "Not a date and time of this era."}) from None
    data = {"sampled_at": sampled_at.isoformat(), "local_lab": payload.local_lab}
    tests = {test.value for test in ctcae.LabTest}
    errors = {}
    for n, entry in enumerate(payload.values):
        if entry.test not in tests:
            errors[f"values.{n}.test"] = f"{entry.test!r}: one of {', '.join(sorted(tests))}."
            continue
        if f"{entry.test}_value" in data:
            errors[f"values.{n}.test"] = f"{entry.test} is given twice."
        default = ranges.get(entry.test)
        data[f"{entry.test}_value"] = _text(entry.value)
        data[f"{entry.test}_unit"] = entry.unit or ctcae.STANDARD_UNIT[ctcae.LabTest(entry.test)]
        for limit in ("lln", "uln"):
            given = getattr(entry, limit)
            if given is None and default is not None:
                given = getattr(default, limit)
            data[f"{entry.test}_{limit}"] = "" if given is None else _text(given)
    if errors:
        raise ValidationError(errors)
    return LabPanelForm(data=data, ranges=ranges)


def _lab_panel_post(request, payload: LabPanelIn, resources: dict[str, Resource]):
    subject = subjects_visible_to(request.user).filter(study_id=payload.subject).first()
    if subject is None:
        raise Http404
    form = _lab_panel_form(subject, payload)
    if not form.is_valid():
        raise ValidationError(
            {_value_field(payload, name): list(messages) for name, messages in form.errors.items()}
        )
    try:
        panel = lab_panel_record(
            subject=subject,
            sampled_at=form.cleaned_data["sampled_at"],
            local_lab=form.cleaned_data["local_lab"],
            entries=form.entries(),
            user=request.user,
        )
    except ValidationError as refused:
        if not hasattr(refused, "error_dict"):
            raise
        raise ValidationError(
            {
                _value_field(payload, name): messages
                for name, messages in refused.message_dict.items()
            }
        ) from None
    raised = lab_panel_alerts(panel, user=request.user, evaluate=True)
    values = resources["lab-values"]
    return 201, {
        "panel": resources["lab-panels"].one(request, panel.pk),
        "values": [values.one(request, v.pk) for v in panel.values.order_by("pk")],
        "alerts": None
        if raised is None
        else [
            {
                "id": a.pk,
                "rule": a.rule,
                "severity": a.severity,
                "message": a.message,
                "action": a.action,
            }
            for a in raised
        ],  # fmt: skip
    }


def _value_field(payload: LabPanelIn, form_field: str) -> str:
    """values.N.value for the form's ALT value field (alt_value); the panel's own fields as
    they are; "" for the whole panel."""
    if form_field == "__all__":
        return ""
    test, _, column = form_field.rpartition("_")
    for n, entry in enumerate(payload.values):
        if entry.test == test:
            return f"values.{n}.{column}"
    return form_field


# --- Query answers ----------------------------------------------------------------------------


class QueryAnswerIn(Schema):
    answer: Text = Field(..., max_length=4000)


def _query_answer_post(request, query_id: int, payload: QueryAnswerIn, resources):
    if not 0 < query_id < 2**63:
        raise Http404
    query = queries_visible_to(request.user).filter(pk=query_id).first()
    if query is None:
        raise Http404
    query = query_answer(query=query, text=payload.answer, user=request.user)
    return 200, resources["queries"].one(request, query.pk)


def writes_register(router: Router, resources: dict[str, Resource]) -> None:
    """Add the write operations to the API's router (beside the reads of the same paths)."""
    mrd_result_written = create_model(
        "MrdResultWritten",
        __base__=Schema,
        action=(str, Field(..., description="created, corrected or unchanged")),
        result=(resources["mrd-results"].schema, ...),
    )
    value_schema = resources["lab-values"].schema
    lab_panel_written = create_model(
        "LabPanelWritten",
        __base__=Schema,
        panel=(resources["lab-panels"].schema, ...),
        values=(list[value_schema], ...),
        alerts=(
            list[RaisedAlertOut] | None,
            Field(None, description="Active alerts the values raised; null if not evaluated yet."),
        ),
    )
    key_header = Header(
        None,
        alias="Idempotency-Key",
        description="Optional: a repeated request with the same key is answered as the first, "
        "and writes nothing more.",
    )

    @router.post(
        "/mrd-results",
        response={
            200: mrd_result_written,
            201: mrd_result_written,
            409: Problem,
            **COMMON_PROBLEMS,
        },
        summary="Report (or correct) an MRD result, keyed by the sample's accession",
        tags=["write"],
    )
    def mrd_result_post(request, payload: MrdResultIn, idempotency_key: str | None = key_header):
        _require_write(request)
        return idempotent_write(
            request, idempotency_key, lambda: _mrd_result_post(request, payload, resources)
        )

    @router.post(
        "/lab-panels",
        response={201: lab_panel_written, 409: Problem, **COMMON_PROBLEMS},
        summary="Record a lab panel from a site's laboratory system",
        tags=["write"],
    )
    def lab_panel_post(request, payload: LabPanelIn, idempotency_key: str | None = key_header):
        _require_write(request)
        return idempotent_write(
            request, idempotency_key, lambda: _lab_panel_post(request, payload, resources)
        )

    @router.post(
        "/queries/{query_id}/answer",
        response={200: resources["queries"].schema, 409: Problem, **COMMON_PROBLEMS},
        summary="Answer an open query",
        tags=["write"],
    )
    def query_answer_post(
        request, query_id: int, payload: QueryAnswerIn, idempotency_key: str | None = key_header
    ):
        _require_write(request)
        return idempotent_write(
            request,
            idempotency_key,
            lambda: _query_answer_post(request, query_id, payload, resources),
        )
