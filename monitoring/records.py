"""The records of a subject as monitoring sees them: which models hold clinical data, how each
reaches its subject, where it is shown, and a hash of its content.

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
from django.urls import NoReverseMatch, reverse

from crf import editchecks
from crf.models import Subject

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
# How a record without a subject field reaches its subject.
_PARENTS = {
    "course": "crf.TreatmentCourse",
    "infusion": "crf.BlinatumomabInfusion",
    "panel": "safety.LabPanel",
    "adverse_event": "safety.AdverseEvent",
    "sample": "mrd.MrdSample",
}


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


def subject_path(model: type[models.Model]) -> str | None:
    """The ORM path from `model` to its subject's primary key ("pk" for Subject itself)."""
    if model is Subject:
        return "pk"
    names = {f.name for f in model._meta.concrete_fields}
    if "subject" in names:
        return "subject_id"
    for parent, label in _PARENTS.items():
        if parent in names:
            parent_path = subject_path(apps.get_model(label))
            return f"{parent}__{parent_path}" if parent_path else None
    return None


def is_clinical(model: type[models.Model]) -> bool:
    return model in clinical_models()


def subject_of(record: models.Model) -> Subject:
    """The subject a clinical record belongs to (the edit checks' own rule)."""
    return editchecks.subject_of(record)


def content_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields that make up a record's content (not its bookkeeping)."""
    return [f for f in model._meta.concrete_fields if f.name not in BOOKKEEPING_FIELDS]


def field_label(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    return str(field.verbose_name).capitalize()


def record_title(record: models.Model) -> str:
    """How people name a record: its kind and number, e.g. "Lab value #12"."""
    return f"{record._meta.verbose_name.capitalize()} #{record.pk}"


def record_resolve(subject: Subject, content_type_id: int, object_id: int) -> models.Model:
    """The clinical record of `subject` that a (content type, id) pair names, or 404."""
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist as exc:
        raise Http404("No such kind of record.") from exc
    if model is None or not is_clinical(model):
        raise Http404("No such kind of record.")
    record = model.objects.filter(pk=object_id, **{subject_path(model): subject.pk}).first()
    if record is None:
        raise Http404("No such record for this subject.")
    return record


def record_pointer(record: models.Model) -> tuple[int, int]:
    return ContentType.objects.get_for_model(type(record)).pk, record.pk


def record_page_url(record: models.Model) -> str | None:
    """The page on which a record is shown and, for forms, edited."""
    from crf.casebook import FORM_SPECS

    subject = subject_of(record)
    study_id = subject.study_id
    label = record._meta.label
    for spec in FORM_SPECS:
        if spec.model is type(record):
            return reverse("crf:record_edit", args=[study_id, spec.slug, record.pk])
    pages = {
        "crf.Subject": ("crf:subject_detail", [study_id]),
        "crf.TreatmentCourse": ("crf:course", [study_id, record.pk]),
        "crf.DrugAdministration": ("crf:administration", [study_id, record.pk]),
        "safety.LabValue": ("safety:lab_value", [study_id, record.pk]),
        "safety.LabPanel": ("safety:labs", [study_id]),
        "safety.AdverseEvent": ("safety:adverse_event", [study_id, record.pk]),
        "mrd.MrdSample": ("mrd:subject", [study_id]),
        "mrd.MrdResult": ("mrd:subject", [study_id]),
    }
    name, args = pages.get(label, ("crf:subject_detail", [study_id]))
    if label.startswith("crf.") and ("infusion" in label.lower() or label == "crf.Premedication"):
        name, args = "crf:infusion", [study_id]
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return reverse("crf:subject_detail", args=[study_id])


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
        yield from model.objects.filter(**{path: subject.pk}).order_by("pk")


def casebook_hash(subject: Subject) -> str:
    """SHA-256 of everything in a subject's casebook: what a casebook signature is bound to."""
    return _digest([r._meta.label, r.pk, record_content(r)] for r in subject_records(subject))
