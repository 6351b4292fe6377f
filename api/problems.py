"""Every API error as an RFC 9457 problem: a type, a title, the status, what happened, and for
refused input each field with its message. No input gives a 500."""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestInvalid

from audit.errors import StaleVersionError
from crf.services.records import SoftChecksPending

from .tokens import RateLimited, TokenRefused

CONTENT_TYPE = "application/problem+json"
logger = logging.getLogger(__name__)


class FieldError(Schema):
    field: str  # the field's name as the request or the export names it; "" for the record
    message: str


class SoftCheck(Schema):
    code: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
    # Soft edit checks waiting for confirmation: send again with their codes in confirmed_checks.
    checks: list[SoftCheck] = []


def _type(slug: str) -> str:
    return f"urn:blinacell:problem:{slug}"


def problem_response(
    api: NinjaAPI,
    request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[tuple[str, str]] = (),
    checks: list[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
):
    body = {
        "type": _type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"field": f, "message": m} for f, m in errors],
        "checks": [{"code": c, "message": m} for c, m in checks],
    }
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = CONTENT_TYPE
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def validation_errors(invalid: ValidationError, rename: dict[str, str] | None = None):
    """(field, message) pairs of a Django ValidationError; "__all__" becomes ""."""
    rename = rename or {}
    if hasattr(invalid, "error_dict"):
        return [
            ("" if field == "__all__" else rename.get(field, field), message)
            for field, messages in invalid.message_dict.items()
            for message in messages
        ]
    return [("", message) for message in invalid.messages]


def _request_field(location) -> str:
    # ninja names a field by where it is ("body", "payload", "value") or ("query", "limit").
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(parts)


def problems_register(api: NinjaAPI) -> None:
    """The API's exception handlers, each writing a problem."""

    def handle(exception_class, status, slug, title, detail=None, **extra):
        def handler(request, exc):
            return problem_response(
                api, request, status=status, slug=slug, title=title,
                detail=detail(exc) if detail else str(exc), **{k: f(exc) for k, f in extra.items()},
            )  # fmt: skip

        api.add_exception_handler(exception_class, handler)

    handle(
        RequestInvalid,
        422,
        "invalid-request",
        "The request does not fit the schema",
        detail=lambda exc: "Nothing was saved: correct the fields named below.",
        errors=lambda exc: [
            (_request_field(e.get("loc", ())), e.get("msg", "")) for e in exc.errors
        ],
    )
    handle(
        AuthenticationError,
        401,
        "unauthenticated",
        "A token is needed",
        detail=lambda exc: "Send a personal API token: Authorization: Bearer <token>.",
        headers=lambda exc: {"WWW-Authenticate": "Bearer"},
    )
    handle(
        TokenRefused, 401, "token-refused", "Token refused",
        headers=lambda exc: {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )  # fmt: skip
    handle(
        RateLimited, 429, "rate-limited", "Too many requests",
        headers=lambda exc: {"Retry-After": str(exc.retry_after)},
    )  # fmt: skip
    handle(PermissionDenied, 403, "forbidden", "Not allowed", detail=lambda exc: str(exc) or
           "Your role does not allow this.")  # fmt: skip
    handle(Http404, 404, "not-found", "Not found", detail=lambda exc: "No such record here.")
    handle(
        ObjectDoesNotExist, 404, "not-found", "Not found",
        detail=lambda exc: "No such record here.",
    )  # fmt: skip
    handle(
        StaleVersionError, 409, "version-conflict", "Changed meanwhile",
        detail=lambda exc: f"Not saved: {exc.changed_by} changed this record after the version "
        "you sent. Read it again and send the change with its current version.",
    )  # fmt: skip
    handle(
        SoftChecksPending,
        422,
        "soft-checks",
        "Confirmation needed",
        detail=lambda exc: (
            "Nothing was saved: the values raise the checks below. If they are "
            "right, send the request again with these codes in confirmed_checks."
        ),
        checks=lambda exc: [(w.code, w.message) for w in exc.warnings],
    )
    handle(
        ValidationError,
        422,
        "refused",
        "Refused by the checks",
        detail=lambda exc: "Nothing was saved: correct the fields named below.",
        errors=lambda exc: validation_errors(exc),
    )
    api.add_exception_handler(
        HttpError,
        lambda request, exc: problem_response(
            api, request, status=exc.status_code, slug="http-error", title="Refused",
            detail=str(exc),
        ),
    )  # fmt: skip

    def unexpected(request, exc):
        logger.exception("API request failed", exc_info=exc)
        return problem_response(
            api, request, status=500, slug="server-error", title="Server error",
            detail="The request failed on the server; nothing was saved. The error is logged.",
        )  # fmt: skip

    api.add_exception_handler(Exception, unexpected)


def problems_document(schema: dict) -> None:
    """Document the problems in the OpenAPI schema with the media type they are sent with, and
    the 400 of a body that is not JSON."""
    problem = {"$ref": "#/components/schemas/Problem"}
    for operations in schema["paths"].values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"].setdefault(
                    "400",
                    {"description": "The body is not JSON",
                     "content": {"application/json": {"schema": problem}}},
                )  # fmt: skip
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if content.get("application/json", {}).get("schema") == problem:
                    content[CONTENT_TYPE] = content.pop("application/json")


# Every operation may answer these (besides its own success and 422 for refused input).
COMMON_PROBLEMS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
