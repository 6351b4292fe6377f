"""The read endpoints: one per file of the CSV export, with the export's field names and codes
(exports.domains owns them), scoped to the sites whose data the user may export or see, paged by
an opaque cursor (records in id order), filtered by `updated_since` and, where records belong to
a subject, by `subject`."""

from __future__ import annotations

import base64
import binascii
import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import create_model

from exports.domains import Column, Domain, domains
from exports.freezes import freezes_for_sites, reading
from exports.services import export_sites_for

from .problems import COMMON_PROBLEMS

MAX_LIMIT = 1000
READ_REFUSED = "Your role gives you no study data to read."

_KEY_TYPES = {"username": str, "study_id": str, "number": int, "meddra_code": int, "model": str}
_KIND_TYPES = {
    "integer": int,
    "decimal": str,  # the digits as stored (a JSON number would round them)
    "text": str,
    "code": str,
    "date": datetime.date,
    "datetime": datetime.datetime,
    "boolean": bool,
}


def resource_name(domain: Domain) -> str:
    """The endpoint of an export file: mrd_results.csv -> mrd-results."""
    return domain.file.removesuffix(".csv").replace("_", "-")


def _column_type(column: Column):
    if column.kind == "reference":
        return _KEY_TYPES.get(column.path.rsplit("__", 1)[-1], int) if "__" in column.path else int
    if column.kind == "list":
        return list[str] if column.field.get_internal_type() == "ArrayField" else Any
    return _KIND_TYPES[column.kind]


def _subject_path(domain: Domain) -> str | None:
    if domain.model._meta.label == "crf.Subject":
        return "study_id"
    if domain.site_path and domain.site_path.endswith("subject__site_id"):
        return domain.site_path.removesuffix("site_id") + "study_id"
    return None


def _json_value(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC)
    return value


FREEZE_HELP = (
    "The name of a data freeze: the records as they were frozen (the live data if omitted). "
    "Combine with the other filters as usual."
)


class Page(Schema):
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


class ReadFilters(Schema):
    cursor: str | None = Field(None, description="From the previous page's next_cursor.")
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Records per page.")
    updated_since: datetime.datetime | None = Field(
        None,
        description="Only records created or changed at or after this time (ISO 8601 with a "
        "zone). To poll, pass the time your previous full read started.",
    )
    subject: str | None = Field(
        None, max_length=12, description="Only this subject's records (study ID, e.g. 1-01)."
    )
    freeze: str | None = Field(None, max_length=100, description=FREEZE_HELP)


class OneFilters(Schema):
    freeze: str | None = Field(None, max_length=100, description=FREEZE_HELP)


def _freeze(user, name: str | None):
    """The freeze named (None for the live data); a name the user has no freeze of is refused."""
    if name is None:
        return None
    numbers = [site.number for site in export_sites_for(user)]
    found = next((f for f in freezes_for_sites(numbers) if f.name == name), None)
    if found is None:
        raise ValidationError({"freeze": "No freeze of this name holds data of your sites."})
    return found


def _cursor_after(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
        kind, _, number = text.partition(":")
        after = int(number)
        if kind != "id" or after < 0 or after > 2**63:
            raise ValueError
    except (ValueError, UnicodeError, binascii.Error):
        raise ValidationError(
            {"cursor": "Not a cursor of this API: pass next_cursor as given."}
        ) from None
    return after


def _cursor(after: int) -> str:
    return base64.urlsafe_b64encode(f"id:{after}".encode()).decode().rstrip("=")


def readable_site_ids(user) -> list[int]:
    """The sites whose records the user reads: the export's rule (export or see subjects)."""
    site_ids = [site.pk for site in export_sites_for(user)]
    if not site_ids:
        raise PermissionDenied(READ_REFUSED)
    return site_ids


def scoped(domain: Domain, user) -> models.QuerySet:
    qs = domain.model._default_manager.all()
    site_ids = readable_site_ids(user)
    if domain.site_path is not None:
        qs = qs.filter(**{f"{domain.site_path}__in": site_ids})
    return qs


class Resource:
    """One export file served as a list endpoint and a record endpoint."""

    def __init__(self, domain: Domain):
        self.domain = domain
        self.name = resource_name(domain)
        self.subject_path = _subject_path(domain)
        fields = {
            c.name: (_column_type(c) | None, Field(None, description=c.label))
            for c in domain.columns
        }
        fields["version"] = (int, Field(description="Raised by every change: send it back to "
                                        "change the record."))  # fmt: skip
        fields["updated_at"] = (datetime.datetime, Field(description="Last change (UTC)."))
        model_name = "".join(part.title() for part in self.name.split("-"))
        self.schema = create_model(model_name, __base__=Schema, **fields)
        self.page_schema = create_model(
            f"{model_name}Page", __base__=Page, results=(list[self.schema], ...)
        )
        self._paths = [c.path for c in domain.columns] + ["version", "updated_at"]
        self._names = [c.name for c in domain.columns] + ["version", "updated_at"]

    def _rows(self, qs: models.QuerySet) -> list[dict]:
        return [
            {name: _json_value(value) for name, value in zip(self._names, row, strict=True)}
            for row in qs.values_list(*self._paths)
        ]

    def list(self, request, filters: ReadFilters) -> dict:
        qs = scoped(self.domain, request.user)
        after = _cursor_after(filters.cursor)
        if filters.updated_since is not None:
            since = filters.updated_since
            if timezone.is_naive(since):
                raise ValidationError({"updated_since": "Give the time with its zone (Z)."})
            try:  # the database takes offsets up to 15:59; the time in UTC has none
                since = since.astimezone(datetime.UTC)
            except OverflowError:
                raise ValidationError(
                    {"updated_since": "Give a time in years 1 to 9999."}
                ) from None
            qs = qs.filter(updated_at__gte=since)
        if filters.subject is not None:
            if self.subject_path is None:
                raise ValidationError({"subject": f"{self.name} are not a subject's records."})
            if "\x00" in filters.subject:  # which the database cannot compare
                raise ValidationError({"subject": "Not a study ID (e.g. 1-01)."})
            qs = qs.filter(**{self.subject_path: filters.subject})
        freeze = _freeze(request.user, filters.freeze)
        with reading(freeze):  # the user's access is the live one; the data, the freeze's
            rows = self._rows(qs.filter(pk__gt=after).order_by("pk")[: filters.limit + 1])
        more = len(rows) > filters.limit
        rows = rows[: filters.limit]
        return {"results": rows, "next_cursor": _cursor(rows[-1]["id"]) if more else None}

    def one(self, request, record_id: int, freeze_name: str | None = None) -> dict:
        if not 0 < record_id < 2**63:
            raise Http404
        qs = scoped(self.domain, request.user).filter(pk=record_id)
        with reading(_freeze(request.user, freeze_name)):
            rows = self._rows(qs)
        if not rows:
            raise Http404
        return rows[0]


def _views(resource: Resource):
    def list_view(request, filters: Query[ReadFilters]):
        return resource.list(request, filters)

    def one_view(request, record_id: int, filters: Query[OneFilters]):
        return resource.one(request, record_id, filters.freeze)

    return list_view, one_view


def reads_router() -> tuple[Router, dict[str, Resource]]:
    router = Router(tags=["read"])
    resources = {}
    for domain in domains():
        resource = Resource(domain)
        resources[resource.name] = resource
        label = domain.model._meta.verbose_name_plural
        list_view, one_view = _views(resource)
        router.add_api_operation(
            f"/{resource.name}",
            ["GET"],
            list_view,
            response={200: resource.page_schema, **COMMON_PROBLEMS},
            url_name=f"{resource.name}-list",
            operation_id=f"list_{resource.name.replace('-', '_')}",
            summary=f"List {label} ({domain.file})",
        )
        router.add_api_operation(
            f"/{resource.name}/{{record_id}}",
            ["GET"],
            one_view,
            response={200: resource.schema, **COMMON_PROBLEMS},
            url_name=f"{resource.name}-one",
            operation_id=f"get_{resource.name.replace('-', '_')}",
            summary=f"One of the {label} by id",
        )
    return router, resources
