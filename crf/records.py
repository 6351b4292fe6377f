"""A subject's records: how each reaches its subject, and which page shows it.

Every model holding a subject's data either has a `subject` field or names, in its class
attribute `subject_parent`, the field of the record it belongs to (a lab value its panel, an MRD
result its sample, a dose change its infusion cycle). Every model says which page shows it with
`get_absolute_url()`. This module is the one reader of those two declarations: locks, queries,
SDV, signatures, alerts, the write pipeline and the importer all ask it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from audit.services import write_guards_check

from .models import Subject


def subject_parent(model: type[models.Model]) -> str | None:
    """The field through which `model` belongs to its subject ("subject" or a parent record)."""
    if model is Subject:
        return None
    if any(f.name == "subject" for f in model._meta.concrete_fields):
        return "subject"
    return getattr(model, "subject_parent", None)


def subject_path(model: type[models.Model]) -> str | None:
    """The ORM path from `model` to its subject's primary key ("pk" for Subject itself), or
    None for a model that holds no subject's data."""
    if model is Subject:
        return "pk"
    parent = subject_parent(model)
    if parent is None:
        return None
    if parent == "subject":
        return "subject_id"
    above = subject_path(model._meta.get_field(parent).related_model)
    return f"{parent}__{above}" if above else None


def parent_of(record: models.Model) -> models.Model | None:
    """The record `record` belongs to (its panel, sample, cycle ...), None if it has a subject
    field itself."""
    parent = subject_parent(type(record))
    if parent in (None, "subject"):
        return None
    return getattr(record, parent)


def subject_of(record: models.Model) -> Subject:
    """The subject a record belongs to."""
    if isinstance(record, Subject):
        return record
    parent = subject_parent(type(record))
    if parent is None:
        raise TypeError(f"{type(record).__name__} does not belong to a subject")
    owner = getattr(record, parent)
    return owner if parent == "subject" else subject_of(owner)


def record_page_url(record: models.Model) -> str:
    """The page on which a record is shown (and, for forms, edited): the model's own
    get_absolute_url(), else its subject's casebook."""
    page = getattr(record, "get_absolute_url", None)
    if page is not None:
        return page()
    return subject_of(record).get_absolute_url()


def record_name(record: models.Model, *, with_subject: bool = True) -> str:
    """A record as people name it: its own name in the trial's words (the model's `__str__`),
    and, where the page does not already say whose it is, its subject: "Baseline, subject 1-03",
    "Lab panel 2026-11-25 08:00 CET, ALT 250 U/L, subject 1-03"."""
    name = str(record)
    if not with_subject or isinstance(record, Subject) or subject_parent(type(record)) is None:
        return name
    return f"{name}, subject {subject_of(record).study_id}"


def naming_relations(model: type[models.Model], depth: int = 3) -> list[str]:
    """The relations a record's name reads (its parent records up to the subject, its terms):
    what to select_related to name many records in one query."""
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType

    out: list[str] = []
    if depth == 0 or model is Subject:
        return out
    for f in model._meta.concrete_fields:
        if not (f.is_relation and f.many_to_one):
            continue
        target = f.related_model
        if target._meta.label == settings.AUTH_USER_MODEL or target is ContentType:
            continue
        out.append(f.name)
        out.extend(f"{f.name}__{sub}" for sub in naming_relations(target, depth - 1))
    return out


def records_named(
    model: type[models.Model], pks, *, with_subject: bool = False
) -> dict[object, str]:
    """The names (record_name) of the records `pks` of `model`, read in one query."""
    pks = {pk for pk in pks if pk is not None}
    if not pks:
        return {}
    records = model._default_manager.filter(pk__in=pks).select_related(*naming_relations(model))
    return {r.pk: record_name(r, with_subject=with_subject) for r in records}


# Records named by a key ("lab:13" is lab value 13): the kinds of key, and the fields that hold
# such keys (an alert's triggering record). The app that writes the keys registers them (alerts,
# in its ready()); pages and the audit trail show the record's name instead of the key.
RECORD_KEY_KINDS: dict[str, str] = {}  # key prefix -> model label
RECORD_KEY_FIELDS: set[tuple[str, str]] = set()  # (model label, field name)


def record_keys_register(*, kinds: dict[str, str], fields) -> None:
    RECORD_KEY_KINDS.update(kinds)
    RECORD_KEY_FIELDS.update(fields)


def is_record_key_field(field: models.Field) -> bool:
    return (field.model._meta.label, field.name) in RECORD_KEY_FIELDS


def write_refusal(record: models.Model) -> str | None:
    """Why a write of `record` would be refused by audit's write guards (a lock of its site, its
    subject or the record: the lock's message, naming who locked it, when and why), or None.
    Pages ask it to offer no write action on locked data; for a new record of a subject pass
    an unsaved one (`LabPanel(subject=subject)`): it answers for the site and subject locks."""
    try:
        write_guards_check(record)
    except ValidationError as refused:
        return " ".join(refused.messages)
    return None
