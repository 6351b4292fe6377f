"""The records of a subject as monitoring sees them: which models hold clinical data, and a hash
of their content (how a record reaches its subject and which page shows it: crf.records).

Queries, source data verification, locks and signatures all point at records through a content
type and a primary key; this module is the one place that turns such a pointer back into a
record of a given subject, and a record into the digest that SDV marks and signatures keep.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import cache

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import Http404
from django.utils.text import capfirst

from crf.models import Subject
from crf.records import naming_relations, record_name, subject_path

# Apps whose models hold a subject's clinical data (locks, SDV and signatures apply to these).
CLINICAL_APPS = ("crf", "mrd", "safety")
# Models of those apps that are study configuration or bookkeeping, not a subject's data.
_NOT_SUBJECT_DATA = {"crf.Site", "crf.Membership", "crf.ProtocolVersion", "crf.Screening",
                     "crf.EditCheckConfirmation", "mrd.MrdUpload", "safety.CtcaeTerm",
                     "safety.SiteLabRange"}  # fmt: skip
# Fields every audited record has that say nothing about its content.
BOOKKEEPING_FIELDS = frozenset(
    {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}
)


@cache
def clinical_models() -> tuple[type[models.Model], ...]:
    """Every model holding a subject's clinical data, Subject first, in a stable order."""
    found = [
        m
        for m in apps.get_models()
        if m._meta.app_label in CLINICAL_APPS
        and hasattr(m, "history")
        and m._meta.label not in _NOT_SUBJECT_DATA
        and subject_path(m) is not None
    ]
    return tuple(sorted(found, key=lambda m: (m is not Subject, m._meta.label)))


def is_clinical(model: type[models.Model]) -> bool:
    return model in clinical_models()


def content_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields that make up a record's content (not its bookkeeping)."""
    return [f for f in model._meta.concrete_fields if f.name not in BOOKKEEPING_FIELDS]


def field_label(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    return capfirst(str(field.verbose_name))  # "CNS status", never capitalize()'s "Cns status"


def record_title(record: models.Model, *, with_subject: bool = False) -> str:
    """How people name a record on a page of its subject: the model's own name in the trial's
    words ("Lab panel 2026-11-25 08:00 CET, ALT 250 U/L"); `with_subject` adds whose it is."""
    return record_name(record, with_subject=with_subject)


def record_resolve(subject: Subject, content_type_id: int, object_id: int) -> models.Model:
    """The clinical record of `subject` that a (content type, id) pair names, or 404."""
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist as exc:
        raise Http404("No such kind of record.") from exc
    if model is None or not is_clinical(model):
        raise Http404("No such kind of record.")
    # For the subject itself the path is "pk": one lookup, and it must be this subject.
    path = subject_path(model)
    if path == "pk" and object_id != subject.pk:
        raise Http404("No such record for this subject.")
    record = model.objects.filter(**{path: subject.pk}).filter(pk=object_id).first()
    if record is None:
        raise Http404("No such record for this subject.")
    return record


def record_pointer(record: models.Model) -> tuple[int, int]:
    return ContentType.objects.get_for_model(type(record)).pk, record.pk


def _canonical(value) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal | float):
        # 81, 81.0 and Decimal("81.00") are one value: the hash must not see the difference
        # between a value as typed and as stored.
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def record_content(record: models.Model, fields: Iterable[str] | None = None) -> dict:
    """A record's content as plain values, by field name (all content fields by default)."""
    wanted = set(fields) if fields else None
    return {
        f.name: _canonical(f.value_from_object(record))
        for f in content_fields(type(record))
        if wanted is None or f.name in wanted
    }


def _digest(items: Iterable) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(json.dumps(item, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def record_hash(record: models.Model, fields: Iterable[str] | None = None) -> str:
    """SHA-256 of a record's content (or of the named fields): changes when any of them does."""
    return _digest([[record._meta.label, record.pk, record_content(record, fields)]])


def subject_records(subject: Subject) -> Iterator[models.Model]:
    """Every clinical record of a subject, entered-in-error ones included, in a stable order."""
    for model in clinical_models():
        path = subject_path(model)
        records = model.objects.filter(**{path: subject.pk}).order_by("pk")
        yield from records.select_related(*naming_relations(model))


def casebook_hash(subject: Subject) -> str:
    """SHA-256 of everything in a subject's casebook: what a casebook signature is bound to."""
    return _digest([r._meta.label, r.pk, record_content(r)] for r in subject_records(subject))
